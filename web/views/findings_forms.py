"""The forms of findings and corrective actions; dates are typed by hand (YYYY-MM-DD)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    FieldList,
    Form,
    FormField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from ledger.domain.findings import CLASSIFICATIONS, SOURCES
from web.commands import CommandForm

RECORD_ID = r"^[A-Za-z0-9._-]{1,40}$"
RECORD_ID_RE = re.compile(RECORD_ID)
TEXT_MAX = 4000


def parse_day(text: object) -> date | None:
    """Return the date typed as YYYY-MM-DD, or None."""
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        return None


class DayText:
    """A date typed by hand as YYYY-MM-DD (a blank one is left to DataRequired)."""

    def __init__(self, message: Any) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        text = str(field.data or "").strip()
        if text and (len(text) != 10 or parse_day(text) is None):
            raise ValidationError(str(self.message))


def source_names() -> dict[str, Any]:
    return {
        "internal_audit": _l("Internal audit"),
        "external_audit": _l("External audit"),
        "complaint": _l("Complaint"),
        "supervision": _l("Supervision"),
        "management_review": _l("Management review"),
    }


def source_choices() -> list[SelectChoice]:
    names = source_names()
    return [SelectChoice(s, names[s]) for s in SOURCES]


def classification_names() -> dict[str, Any]:
    return {
        "major": _l("Major nonconformity"),
        "minor": _l("Minor nonconformity"),
        "observation": _l("Observation"),
        "opportunity": _l("Opportunity for improvement"),
    }


def classification_choices() -> list[SelectChoice]:
    names = classification_names()
    return [SelectChoice(c, names[c]) for c in CLASSIFICATIONS]


DAY_HINT = _l("For example 2026-03-31")


class RaiseFindingForm(CommandForm):
    """Raise a finding: where, against what, with evidence and a due date."""

    finding_id = StringField(
        _l("Finding number"),
        description=_l("Letters, digits, dots and dashes, for example F-2026-014"),
        validators=[
            DataRequired(message=_l("Enter the finding number")),
            Regexp(
                RECORD_ID,
                message=_l("Use only letters, digits, dots and dashes (at most 40)"),
            ),
        ],
    )
    unit = SelectField(
        _l("Unit"),
        validators=[DataRequired(message=_l("Choose the unit"))],
        invalid_choice_message=_l("Choose one of the units offered"),
    )
    source = SelectField(_l("Source"), choices=source_choices)
    classification = SelectField(_l("Classification"), choices=classification_choices)
    audit = SelectField(
        _l("Audit"),
        description=_l("Needed when the finding comes from an internal audit"),
        validators=[Optional()],
        invalid_choice_message=_l("Choose one of the audits offered"),
    )
    clause = StringField(
        _l("ISO 9001 clause"),
        description=_l("For example 7.5.3; or name a document and its revision"),
        validators=[Optional(), Length(max=40)],
    )
    document = StringField(
        _l("Document number"), validators=[Optional(), Length(max=40)]
    )
    revision = StringField(_l("Revision"), validators=[Optional(), Length(max=20)])
    description = TextAreaField(
        _l("What was found"),
        validators=[
            DataRequired(message=_l("Describe what was found")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
    evidence = FileField(
        _l("Evidence"),
        description=_l("A photo, a scan or a file that shows what was found"),
    )
    due_on = StringField(
        _l("Due date"),
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the due date")),
            DayText(_l("Enter the due date as year-month-day, for example 2026-03-31")),
        ],
    )


class ContainForm(CommandForm):
    action = TextAreaField(
        _l("Immediate containment"),
        validators=[
            DataRequired(message=_l("Describe what was done at once")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )


class CauseForm(CommandForm):
    cause = TextAreaField(
        _l("Root cause"),
        validators=[
            DataRequired(message=_l("Describe the root cause")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
    method = StringField(
        _l("Method used"),
        description=_l("For example 5 whys, fishbone diagram"),
        validators=[
            DataRequired(message=_l("Name the method used to find the cause")),
            Length(max=200, message=_l("Keep it under 200 characters")),
        ],
    )


class ActionRow(Form):  # type: ignore[misc]  # wtforms has no type hints
    """One planned action; a row left blank is not an action."""

    description = StringField(
        _l("Action"), validators=[Optional(), Length(max=TEXT_MAX)]
    )
    owner = SelectField(
        _l("Owner"),
        validators=[Optional()],
        choices=[SelectChoice("", "")],
        invalid_choice_message=_l("Choose one of the people offered"),
    )
    due_on = StringField(
        _l("Due date"),
        description=DAY_HINT,
        validators=[
            DayText(_l("Enter the due date as year-month-day, for example 2026-03-31"))
        ],
    )


class PlanForm(CommandForm):
    actions = FieldList(FormField(ActionRow), min_entries=3, max_entries=10)

    def filled(self) -> list[Any]:
        """The rows with anything typed in them."""
        return [
            row
            for row in self.actions
            if any(
                str(row[n].data or "").strip()
                for n in ("description", "owner", "due_on")
            )
        ]

    def validate_actions(self, field: Any) -> None:
        rows = self.filled()
        if not rows:
            raise ValidationError(str(_l("Plan at least one action")))
        for row in rows:
            for name, message in (
                ("description", _l("Describe the action")),
                ("owner", _l("Choose the owner")),
                ("due_on", _l("Enter the due date")),
            ):
                if not str(row[name].data or "").strip():
                    row[name].errors = [*row[name].errors, str(message)]
        if any(row.errors for row in rows):
            raise ValidationError(str(_l("Complete every action you started")))


class CompleteForm(CommandForm):
    action_id = StringField(validators=[DataRequired()])
    note = TextAreaField(
        _l("What was done"),
        validators=[
            Optional(),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
    evidence = FileField(
        _l("Evidence"), description=_l("A file that shows the action is done")
    )


class DueDateForm(CommandForm):
    due_on = StringField(
        _l("New due date"),
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the new due date")),
            DayText(_l("Enter the due date as year-month-day, for example 2026-03-31")),
        ],
    )
    reason = TextAreaField(
        _l("Reason for the change"),
        validators=[
            DataRequired(message=_l("Give the reason for the change")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )


class VerifyForm(CommandForm):
    effective = RadioField(
        _l("Were the actions effective?"),
        choices=[
            SelectChoice("yes", _l("Yes, effective")),
            SelectChoice("no", _l("No, not effective")),
        ],
        validators=[DataRequired(message=_l("Say whether the actions were effective"))],
    )
    comment = TextAreaField(
        _l("What you checked"),
        validators=[
            DataRequired(message=_l("Say what you checked")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Enter your password to sign"))],
        render_kw={"autocomplete": "current-password"},
    )


class CloseForm(CommandForm):
    pass


class ReopenForm(CommandForm):
    reason = TextAreaField(
        _l("Reason for reopening"),
        validators=[
            DataRequired(message=_l("Give the reason for reopening")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
