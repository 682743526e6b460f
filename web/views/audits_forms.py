"""The forms of internal audits; dates are typed by hand (YYYY-MM-DD)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from web.commands import CommandForm
from web.views.findings_forms import DAY_HINT, RECORD_ID, TEXT_MAX, DayText

DAY_MESSAGE = _l("Enter the date as year-month-day, for example 2026-03-31")


class PlanAuditForm(CommandForm):
    audit_id = StringField(
        _l("Audit number"),
        description=_l("Letters, digits, dots and dashes, for example IA-2026-03"),
        validators=[
            DataRequired(message=_l("Enter the audit number")),
            Regexp(
                RECORD_ID,
                message=_l("Use only letters, digits, dots and dashes (at most 40)"),
            ),
        ],
    )
    programme = StringField(
        _l("Programme year"),
        description=_l("For example 2026"),
        validators=[
            DataRequired(message=_l("Enter the programme year")),
            Regexp(r"^[0-9]{4}$", message=_l("Enter the year as four digits")),
        ],
    )
    unit = SelectField(
        _l("Audited unit"),
        validators=[DataRequired(message=_l("Choose the unit"))],
        invalid_choice_message=_l("Choose one of the units offered"),
    )
    scope = TextAreaField(
        _l("Scope"),
        validators=[
            DataRequired(message=_l("Describe the scope of the audit")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
    criteria = StringField(
        _l("Criteria"),
        description=_l(
            "Clauses or documents, separated by commas, for example 7.5, 8.4"
        ),
        validators=[DataRequired(message=_l("Name at least one criterion"))],
    )
    lead_auditor = SelectField(
        _l("Lead auditor"),
        validators=[DataRequired(message=_l("Choose the lead auditor"))],
        invalid_choice_message=_l("Choose one of the people offered"),
        description=_l("The auditors of the units you plan audits for"),
    )
    team = StringField(
        _l("Audit team (user IDs)"),
        description=_l("Separated by commas"),
        validators=[Optional()],
    )
    planned_start = StringField(
        _l("Planned start"),
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the planned start")),
            DayText(DAY_MESSAGE),
        ],
    )
    planned_end = StringField(
        _l("Planned end"),
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the planned end")),
            DayText(DAY_MESSAGE),
        ],
    )


class StartAuditForm(CommandForm):
    started_on = StringField(
        _l("Started on"),
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the start date")),
            DayText(DAY_MESSAGE),
        ],
    )


class ReportAuditForm(CommandForm):
    summary = TextAreaField(
        _l("Audit report"),
        validators=[
            DataRequired(message=_l("Write the summary of the report")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
    findings = StringField(
        _l("Findings raised (numbers)"),
        description=_l("Separated by commas; leave blank when there are none"),
        validators=[Optional()],
    )
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Enter your password to sign"))],
        render_kw={"autocomplete": "current-password"},
    )


class CloseAuditForm(CommandForm):
    pass


class CancelAuditForm(CommandForm):
    reason = TextAreaField(
        _l("Reason for cancelling"),
        validators=[
            DataRequired(message=_l("Give the reason for cancelling")),
            Length(max=TEXT_MAX, message=_l("Keep it under 4000 characters")),
        ],
    )
