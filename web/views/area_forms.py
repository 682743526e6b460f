"""The forms of the indicators and management reviews (each records one command).

The common mistakes (a missing field, a number or a period in the wrong format, a
text too long) are caught here with messages in the reader's language, before the
service's own rules.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from web.commands import CommandForm
from web.forms import DayField

DECIMAL = r"-?[0-9]+(\.[0-9]+)?"
PERIOD = r"[0-9]{4}(-(0[1-9]|1[0-2]|Q[1-4]))?"
RECORD_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
MOMENT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z"

_PERIOD_HINT = _l("Month 2026-03, quarter 2026-Q1 or year 2026, as the frequency says")


def _decimal(message: str) -> list[object]:
    return [
        DataRequired(message=message),
        Regexp(DECIMAL, message=_l("Enter a number such as 98.5")),
    ]


def _period(message: str) -> list[object]:
    return [
        DataRequired(message=message),
        Regexp(PERIOD, message=_l("Enter the period as 2026-03, 2026-Q1 or 2026")),
    ]


def _reason(message: str) -> list[object]:
    return [
        DataRequired(message=message),
        Length(max=2000, message=_l("Keep it under 2000 characters")),
    ]


class DefineIndicatorForm(CommandForm):
    """Define an indicator (a quality objective) of a unit."""

    indicator_id = StringField(
        _l("Indicator number"),
        validators=[
            DataRequired(message=_l("Enter the indicator number")),
            Regexp(
                RECORD_ID,
                message=_l("Use letters, digits, '-', '_' or '.', such as KPI-07"),
            ),
        ],
        description=_l("Such as KPI-07"),
    )
    unit = SelectField(
        _l("Unit"),
        validators=[DataRequired(message=_l("Choose the unit"))],
        invalid_choice_message=_l("Choose one of the units offered"),
        description=_l("The unit the objective belongs to"),
    )
    owner = SelectField(
        _l("Owner"),
        validators=[DataRequired(message=_l("Choose the owner"))],
        invalid_choice_message=_l("Choose one of the people offered"),
        description=_l(
            "The person who records the measurements: the owners of your units"
        ),
    )
    name = StringField(
        _l("Indicator name"),
        validators=[
            DataRequired(message=_l("Enter the name of the indicator")),
            Length(max=200, message=_l("Keep the name under 200 characters")),
        ],
    )
    measure = StringField(
        _l("Unit of measure"),
        validators=[
            DataRequired(message=_l("Enter the unit of measure, such as %")),
            Length(max=40, message=_l("Keep it under 40 characters")),
        ],
        description=_l("Such as %, days or cases"),
    )
    direction = SelectField(
        _l("Better when"),
        choices=[
            SelectChoice("higher_is_better", _l("Higher is better")),
            SelectChoice("lower_is_better", _l("Lower is better")),
        ],
    )
    target = StringField(_l("Target"), validators=_decimal(_l("Enter the target")))
    frequency = SelectField(
        _l("Measured"),
        choices=[
            SelectChoice("monthly", _l("Monthly")),
            SelectChoice("quarterly", _l("Quarterly")),
            SelectChoice("yearly", _l("Yearly")),
        ],
    )
    method = TextAreaField(
        _l("Method of measurement"),
        validators=[
            DataRequired(message=_l("Describe how the indicator is measured")),
            Length(max=2000, message=_l("Keep it under 2000 characters")),
        ],
    )
    effective_from = StringField(
        _l("Applies from period"),
        validators=_period(_l("Enter the first period the indicator applies to")),
        description=_PERIOD_HINT,
    )
    # the owners each unit offered has (set by the view with the choices)
    owners_of: dict[str, set[str]] | None = None

    def validate_owner(self, field: SelectField) -> None:
        """The owner must be an owner of the unit chosen."""
        owners = (self.owners_of or {}).get(str(self.unit.data), set())
        if self.owners_of is not None and field.data not in owners:
            raise ValidationError(
                _l(
                    "Choose a person who is an owner in unit %(unit)s",
                    unit=self.unit.data,
                )
            )


class ChangeTargetForm(CommandForm):
    """Change the target from a period on."""

    target = StringField(
        _l("New target"), validators=_decimal(_l("Enter the new target"))
    )
    effective_from = StringField(
        _l("From period"),
        validators=_period(_l("Enter the first period the new target applies to")),
        description=_PERIOD_HINT,
    )
    reason = TextAreaField(
        _l("Reason"), validators=_reason(_l("Enter the reason for changing the target"))
    )


class MeasurementForm(CommandForm):
    """Record the value of one period."""

    period = StringField(
        _l("Period"),
        validators=_period(_l("Enter the period measured")),
        description=_PERIOD_HINT,
    )
    value = StringField(_l("Value"), validators=_decimal(_l("Enter the value")))
    note = TextAreaField(
        _l("Note"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("Keep it under 2000 characters")),
        ],
    )


class CorrectionForm(CommandForm):
    """Correct a recorded value; the original stays on record."""

    period = SelectField(
        _l("Period"),
        validators=[DataRequired(message=_l("Choose the period to correct"))],
        description=_l("The periods with a recorded value"),
    )
    value = StringField(
        _l("Corrected value"), validators=_decimal(_l("Enter the corrected value"))
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=_reason(_l("Enter the reason for the correction")),
    )


class RetireForm(CommandForm):
    """Retire the indicator."""

    reason = TextAreaField(
        _l("Reason"),
        validators=_reason(_l("Enter the reason for retiring the indicator")),
    )


class ReviewForm(CommandForm):
    """Record a management review held: who attended, what was decided, the actions."""

    review_id = StringField(
        _l("Review number"),
        validators=[
            DataRequired(message=_l("Enter the review number")),
            Regexp(
                RECORD_ID,
                message=_l("Use letters, digits, '-', '_' or '.', such as MR-2026"),
            ),
        ],
        description=_l("Such as MR-2026"),
    )
    unit = SelectField(
        _l("Unit"),
        validators=[DataRequired(message=_l("Choose the unit"))],
        invalid_choice_message=_l("Choose one of the units offered"),
    )
    held_on = DayField(
        _l("Held on"),
        validators=[InputRequired(message=_l("Enter the date the review was held"))],
    )
    attendees = TextAreaField(
        _l("Attendees"),
        validators=[DataRequired(message=_l("Name the attendees"))],
        description=_l(
            "User IDs, one a line or separated by commas or spaces (mia, bob)"
        ),
    )
    decisions = TextAreaField(
        _l("Decisions"),
        validators=[Optional(), Length(max=20000)],
        description=_l("One decision a line"),
    )
    actions = TextAreaField(
        _l("Actions"),
        validators=[Optional(), Length(max=20000)],
        description=_l(
            "One action a line: description | owner's user ID | due date (2026-09-30)"
        ),
    )
    report_as_of = StringField(
        _l("Status report reviewed (as of)"),
        validators=[
            Optional(),
            Regexp(
                MOMENT,
                message=_l(
                    "Copy the moment from the status report, such as 2026-06-30T06:00:00Z"
                ),
            ),
        ],
        description=_l(
            "The moment of the status report of this unit that the review looked at,"
            " as its page shows it; its SHA-256 is pinned with the review"
        ),
    )
