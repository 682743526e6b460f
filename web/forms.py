"""The forms of the application's core (Flask-WTF: every form carries a CSRF token).

Messages say what to do, in the reader's language. The password rules are the
service's (`ledger.service.vault`); the form checks them too, to answer before the
slow key derivation.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
)

from ledger.service.vault import MIN_PASSWORD_LENGTH


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
