"""The forms of the controlled documents pages: what a clerk fills in, checked before the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from web.commands import CommandForm
from web.forms import DayField, WholeNumberField

MAX_FILE_BYTES = 10 * 1024 * 1024  # 10 MB: the largest document file accepted

KIND_LABELS = {
    "manual": _l("Quality manual"),
    "procedure": _l("Procedure"),
    "instruction": _l("Work instruction"),
    "form": _l("Form"),
    "record": _l("Record"),
}


class DraftForm(CommandForm):
    """A new controlled document, or a new revision of one."""

    doc_id = StringField(
        _l("Document number"),
        description=_l("2 to 30 capital letters, digits and hyphens, e.g. QP-07"),
        validators=[
            DataRequired(message=_l("Enter the document number")),
            Regexp(
                r"^[A-Z0-9-]{2,30}$",
                message=_l(
                    "Use 2 to 30 capital letters, digits and hyphens for the number"
                ),
            ),
        ],
    )
    unit = SelectField(_l("Unit"), choices=[])
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Enter the title")),
            Length(max=200, message=_l("Keep the title to 200 characters")),
        ],
    )
    kind = SelectField(
        _l("Kind of document"),
        choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
        default="procedure",
    )
    review_interval_months = WholeNumberField(
        _l("Periodic review every (months)"),
        default=12,
        validators=[
            InputRequired(message=_l("Enter the review interval in months")),
            NumberRange(1, 120, message=_l("Enter a number of months from 1 to 120")),
        ],
    )
    retention_years = WholeNumberField(
        _l("Keep records for (years)"),
        default=10,
        validators=[
            InputRequired(message=_l("Enter the retention period in years")),
            NumberRange(1, 100, message=_l("Enter a number of years from 1 to 100")),
        ],
    )
    file = FileField(_l("Document file"))


class UpdateForm(CommandForm):
    """Change the title or the file of the revision being drafted."""

    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Enter the title")),
            Length(max=200, message=_l("Keep the title to 200 characters")),
        ],
    )
    file = FileField(
        _l("New document file"),
        description=_l("Leave empty to keep the current file"),
    )


class SubmitForm(CommandForm):
    """Submit the drafted revision for review."""


class ReviewForm(CommandForm):
    """The review outcome of a submitted revision."""

    outcome = RadioField(
        _l("Outcome of the review"),
        choices=[
            SelectChoice("endorsed", _l("Endorse: ready for approval")),
            SelectChoice(
                "changes_requested", _l("Request changes: back to the author")
            ),
        ],
        validators=[DataRequired(message=_l("Choose the outcome of the review"))],
    )
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required when you request changes: say which changes"),
        validators=[
            Length(max=2000, message=_l("Keep the comment to 2000 characters"))
        ],
    )


class ApproveForm(CommandForm):
    """Approve the endorsed revision with one's electronic signature."""

    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Enter your password to sign"))],
    )


class EffectiveForm(CommandForm):
    """Make the approved revision effective from a day."""

    effective_on = DayField(
        _l("Effective from"),
        description=_l("For example 2026-03-01"),
        validators=[InputRequired(message=_l("Enter the day it takes effect"))],
    )


class DistributeForm(CommandForm):
    """Record the distribution of the effective revision to units."""

    units = StringField(
        _l("Distributed to units"),
        description=_l("Unit codes separated by spaces or commas, e.g. B1 B2"),
        validators=[
            DataRequired(message=_l("Enter at least one unit code")),
            Regexp(
                r"^[A-Za-z0-9_\-, ]+$",
                message=_l("Use unit codes separated by spaces or commas"),
            ),
        ],
    )


class PeriodicReviewForm(CommandForm):
    """Record a periodic review of the effective revision."""

    reviewed_on = DayField(
        _l("Reviewed on"),
        description=_l("For example 2026-03-01"),
        validators=[InputRequired(message=_l("Enter the day of the review"))],
    )
    comment = TextAreaField(
        _l("Comment"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("Keep the comment to 2000 characters")),
        ],
    )


class RetentionForm(CommandForm):
    """Change how long the document's records are kept."""

    retention_years = WholeNumberField(
        _l("Keep records for (years)"),
        validators=[
            InputRequired(message=_l("Enter the retention period in years")),
            NumberRange(1, 100, message=_l("Enter a number of years from 1 to 100")),
        ],
    )
    reason = TextAreaField(
        _l("Reason for the change"),
        validators=[
            DataRequired(message=_l("Enter the reason for the change")),
            Length(max=2000, message=_l("Keep the reason to 2000 characters")),
        ],
    )


class WithdrawForm(CommandForm):
    """Withdraw a revision, with the reason."""

    reason = TextAreaField(
        _l("Reason for withdrawing"),
        validators=[
            DataRequired(message=_l("Enter the reason for withdrawing")),
            Length(max=2000, message=_l("Keep the reason to 2000 characters")),
        ],
    )
