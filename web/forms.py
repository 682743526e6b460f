"""The forms of the application's core (Flask-WTF: every form carries a CSRF token).

Messages say what to do, in the reader's language. The password rules are the
service's (`ledger.service.vault`); the form checks them too, to answer before the
slow key derivation.

WTForms' own messages come from its catalogue in the reader's language
(`WTF_I18N_ENABLED`, web.i18n); a date or a number typed wrongly is said in our
words by `DayField` and `WholeNumberField`, and a blank one is left to the field's
required validator, which names what is missing.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
)

from ledger.service.vault import MIN_PASSWORD_LENGTH

DAY_TYPED_WRONGLY = _l("Enter the date as year-month-day, for example 2026-03-31")
NUMBER_TYPED_WRONGLY = _l("Enter a whole number, for example 12")


def _blank(valuelist: list[Any]) -> bool:
    return bool(valuelist) and not "".join(str(v) for v in valuelist).strip()


class DayField(DateField):  # type: ignore[misc]  # wtforms fields are untyped here
    """A date (YYYY-MM-DD); one typed wrongly is answered in the reader's language."""

    data: Any  # a date, or None when blank or wrong (read after validation)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_value_message", DAY_TYPED_WRONGLY)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if _blank(valuelist):
            self.data = None
            return
        super().process_formdata(valuelist)


class WholeNumberField(IntegerField):  # type: ignore[misc]  # untyped as DayField
    """A whole number; one typed wrongly is answered in the reader's language."""

    data: Any  # an int, or None when blank or wrong (read after validation)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_value_message", NUMBER_TYPED_WRONGLY)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if _blank(valuelist):
            self.data = None
            return
        super().process_formdata(valuelist)


class LoginForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """Sign in with the user id and the password."""

    user_id = StringField(
        _l("User ID"),
        validators=[DataRequired(message=_l("Enter your user ID"))],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password"))],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordChangeForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """Change one's own password: the current one, the new one twice."""

    old_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=_l("Enter your current password"))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        description=_l(
            "At least %(n)d characters, different from the current one",
            n=MIN_PASSWORD_LENGTH,
        ),
        validators=[
            DataRequired(message=_l("Enter a new password")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=_l(
                    "Enter a new password of at least %(n)d characters",
                    n=MIN_PASSWORD_LENGTH,
                ),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(message=_l("Enter the new password again")),
            EqualTo("new_password", message=_l("Enter the same new password twice")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class TokenForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """A new API token of one's own: its name and how many days it lasts."""

    name = StringField(
        _l("Token name"),
        description=_l("What the token is for, e.g. the complaints desk"),
        validators=[
            DataRequired(message=_l("Give the token a name")),
            Length(max=100, message=_l("A token name is at most 100 characters")),
        ],
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=90,
        validators=[
            InputRequired(message=_l("Enter a number of days from 1 to 366")),
            NumberRange(
                min=1, max=366, message=_l("Enter a number of days from 1 to 366")
            ),
        ],
    )


class RevokeTokenForm(FlaskForm):  # type: ignore[misc]  # flask_wtf has no type hints
    """Revoke an API token (the CSRF token only)."""
