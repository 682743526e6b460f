"""The forms of administration: units, users, roles, passwords.

The common mistakes (a missing reason, a wrong code or user id, a short password)
are caught here, in the reader's language, before the service; the record rules
(`ledger.domain.units`, `ledger.domain.users`) decide the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ledger.service.vault import MIN_PASSWORD_LENGTH
from web.commands import CommandForm

REASON_MAX = 2000


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Options of a select field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _reason(label: str, message: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            DataRequired(message=message),
            Length(
                max=REASON_MAX,
                message=_l("Keep the reason under %(n)d characters", n=REASON_MAX),
            ),
        ],
        render_kw={"rows": 3},
    )


def _temporary_password() -> PasswordField:
    return PasswordField(
        _l("Temporary password"),
        description=_l(
            "Leave it empty to have one made for you. At least %(n)d characters. "
            "It is shown once; give it to the person in private.",
            n=MIN_PASSWORD_LENGTH,
        ),
        validators=[
            Optional(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l(
                    "Enter a temporary password of at least %(n)d characters, or leave it empty",
                    n=MIN_PASSWORD_LENGTH,
                ),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class CreateUnitForm(CommandForm):
    """Create a unit under a parent unit."""

    code = StringField(
        _l("Unit code"),
        description=_l("2 to 20 capital letters, digits or -, for example B3 or B1-QA"),
        validators=[
            DataRequired(message=_l("Enter the unit code")),
            Regexp(
                r"^[A-Z0-9-]{2,20}$",
                message=_l("Enter 2 to 20 capital letters, digits or -"),
            ),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    name_zh = StringField(
        _l("Name in Chinese"),
        validators=[
            DataRequired(message=_l("Enter the name in Chinese")),
            Length(max=200, message=_l("Keep the name under 200 characters")),
        ],
    )
    name_en = StringField(
        _l("Name in English"),
        validators=[
            DataRequired(message=_l("Enter the name in English")),
            Length(max=200, message=_l("Keep the name under 200 characters")),
        ],
    )
    kind = SelectField(
        _l("Kind of unit"),
        choices=[
            SelectChoice("bureau", _l("Bureau")),
            SelectChoice("department", _l("Department")),
        ],
        validators=[DataRequired(message=_l("Choose the kind of unit"))],
    )
    parent = SelectField(
        _l("Parent unit"),
        choices=[],
        validators=[DataRequired(message=_l("Choose the parent unit"))],
    )


class RenameUnitForm(CommandForm):
    """Rename a unit, with a reason."""

    name_zh = CreateUnitForm.name_zh
    name_en = CreateUnitForm.name_en
    reason = _reason(
        _l("Reason for the new name"), _l("Enter the reason for the new name")
    )


class CloseUnitForm(CommandForm):
    """Close a unit, with a reason."""

    reason = _reason(
        _l("Reason for closing"), _l("Enter the reason for closing the unit")
    )


class RegisterUserForm(CommandForm):
    """Register a person; they choose their own password before they sign."""

    user_id = StringField(
        _l("User ID"),
        description=_l(
            "2 to 40 small letters, digits, '.', '_' or '-'; never given to anyone else"
        ),
        validators=[
            DataRequired(message=_l("Enter the user ID")),
            Regexp(
                r"^[a-z0-9._-]{2,40}$",
                message=_l("Enter 2 to 40 small letters, digits, '.', '_' or '-'"),
            ),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    name = StringField(
        _l("Full name"),
        description=_l("As it is printed beside the person's signatures"),
        validators=[
            DataRequired(message=_l("Enter the person's full name")),
            Length(max=200, message=_l("Keep the name under 200 characters")),
        ],
        render_kw={"autocomplete": "off"},
    )
    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Enter the email address")),
            Regexp(
                r"^[^@\s]+@[^@\s]+$",
                message=_l("Enter an email address like name@example.org"),
            ),
            Length(max=200, message=_l("Keep the email address under 200 characters")),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off", "type": "email"},
    )
    unit = SelectField(
        _l("Unit"), choices=[], validators=[DataRequired(message=_l("Choose a unit"))]
    )
    temporary_password = _temporary_password()


class GrantRoleForm(CommandForm):
    """Grant a role for a scope unit."""

    role = SelectField(
        _l("Role"), choices=[], validators=[DataRequired(message=_l("Choose a role"))]
    )
    scope = SelectField(
        _l("For unit"),
        description=_l(
            "Administrators, managers and auditors act in the units below it too"
        ),
        choices=[],
        validators=[DataRequired(message=_l("Choose the unit the role is for"))],
    )


class RevokeRoleForm(CommandForm):
    """Revoke one role the person holds, with a reason."""

    held = SelectField(
        _l("Role to revoke"),
        choices=[],
        validators=[DataRequired(message=_l("Choose the role to revoke"))],
    )
    reason = _reason(
        _l("Reason for revoking"), _l("Enter the reason for revoking the role")
    )


class MoveUserForm(CommandForm):
    """Move a person to another unit, with a reason."""

    unit = SelectField(
        _l("New unit"),
        choices=[],
        validators=[DataRequired(message=_l("Choose the new unit"))],
    )
    reason = _reason(_l("Reason for the move"), _l("Enter the reason for the move"))


class DeactivateUserForm(CommandForm):
    """Deactivate a person, with a reason."""

    reason = _reason(
        _l("Reason for deactivating"), _l("Enter the reason for deactivating")
    )


class ResetPasswordForm(CommandForm):
    """Reset a person's password to a temporary one."""

    temporary_password = _temporary_password()
