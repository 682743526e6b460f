"""The catalogue of QMS event types: schema, schema version and upcasters per type.

The single place in the ledger package that imports marshmallow. `validate` checks
a payload against the current schema of its type before it is appended; `upcast`
lifts data written under an older schema version to the current one when it is
read (the stored bytes never change). The contract is docs/events.md.

It is long because it is declarative: one schema per event type, beside its upcasters,
so that the whole catalogue reads as one table.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as checks
from marshmallow.fields import Field

from ledger.domain.users import ROLES
from ledger.errors import EventRejectedError
from ledger.integrity.blobs import DIGEST_RE
from ledger.integrity.canonical import JSONValue
from ledger.integrity.envelope import TIME_RE

Data = dict[str, JSONValue]
Upcaster = Callable[[Data], Data]

_DATE = r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_PERIOD = r"[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?"
_DECIMAL = r"-?[0-9]{1,12}(\.[0-9]{1,6})?"
_HEX64 = DIGEST_RE.pattern
_TIME = TIME_RE.pattern
_UNIT = r"[A-Z0-9-]{2,20}"
_USER = r"[a-z0-9._-]{2,40}"


def _text(**kwargs: Any) -> Field[Any]:
    """A required non-empty string."""
    return fields.String(required=True, validate=checks.Length(min=1), **kwargs)


def _free(**kwargs: Any) -> Field[Any]:
    """A required string that may be empty."""
    return fields.String(required=True, **kwargs)


def _match(pattern: str, message: str, *, allow_none: bool = False) -> Field[Any]:
    return fields.String(
        required=True,
        allow_none=allow_none,
        validate=checks.Regexp(f"^(?:{pattern})$", error=message),
    )


def _date(*, allow_none: bool = False) -> Field[Any]:
    return _match(_DATE, "not a date YYYY-MM-DD", allow_none=allow_none)


def _one_of(*choices: str) -> Field[Any]:
    return fields.String(required=True, validate=checks.OneOf(choices))


def _int(minimum: int, maximum: int) -> Field[Any]:
    return fields.Integer(
        required=True, strict=True, validate=checks.Range(min=minimum, max=maximum)
    )


def _list(inner: Field[Any], *, min_length: int = 0) -> Field[Any]:
    return fields.List(inner, required=True, validate=checks.Length(min=min_length))


def _nested(schema: type[Schema], **kwargs: Any) -> Field[Any]:
    return fields.Nested(schema, required=True, **kwargs)


class BlobRefSchema(Schema):
    """An attachment reference."""

    blob = _match(_HEX64, "not a sha256 hex digest")
    size = _int(0, 2**53 - 1)
    name = _text()
    media_type = _text()


class EsigSchema(Schema):
    """A person's e-signature (docs/ledger-format.md section 5)."""

    signer = _match(_USER, "not a user id")
    name = _text()
    meaning = _one_of("authored", "reviewed", "approved", "responsible")
    signed_at = _match(_TIME, "not in the ledger time format")
    subject = _text()
    subject_sha256 = _match(_HEX64, "not a sha256 hex digest")
    key = _match(r"[0-9a-f]{16}", "not a key id")
    sig = _match(r"[A-Za-z0-9+/]{86}==", "not base64 of 64 bytes")


# --- units ---------------------------------------------------------------------------


class UnitNamesSchema(Schema):
    """Both names of a unit."""

    name_zh = _text()
    name_en = _text()


class UnitCreatedSchema(Schema):
    """unit.created"""

    code = _match(_UNIT, "not a unit code")
    name_zh = _text()
    name_en = _text()
    kind = _one_of("headquarters", "bureau", "department")
    parent = _match(_UNIT, "not a unit code", allow_none=True)


class UnitRenamedSchema(Schema):
    """unit.renamed"""

    old = _nested(UnitNamesSchema)
    new = _nested(UnitNamesSchema)
    reason = _text()


class ReasonSchema(Schema):
    """Any event whose only member is a mandatory reason."""

    reason = _text()


# --- users ---------------------------------------------------------------------------


class UserRegisteredSchema(Schema):
    """user.registered"""

    user_id = _match(_USER, "not a user id")
    name = _text()
    unit = _match(_UNIT, "not a unit code")
    email = fields.Email(required=True)


class RoleGrantedSchema(Schema):
    """user.role_granted"""

    role = _one_of(*ROLES)
    scope = _match(_UNIT, "not a unit code")


class RoleRevokedSchema(RoleGrantedSchema):
    """user.role_revoked"""

    reason = _text()


class UserUnitSchema(Schema):
    """The unit of a user."""

    unit = _match(_UNIT, "not a unit code", allow_none=True)


class UserMovedSchema(Schema):
    """user.moved"""

    old = _nested(UserUnitSchema)
    new = _nested(UserUnitSchema)
    reason = _text()


class EsignKeyIssuedSchema(Schema):
    """user.esign_key_issued"""

    key_id = _match(r"[0-9a-f]{16}", "not a key id")
    reason = _text()


# --- documents -----------------------------------------------------------------------


class DocumentDraftedSchema(Schema):
    """document.drafted"""

    revision = _match(r"[A-Z]{1,3}", "not a revision letter")
    unit = _match(_UNIT, "not a unit code")
    title = _text()
    kind = _one_of("manual", "procedure", "instruction", "form", "record")
    content = _nested(BlobRefSchema)
    review_interval_months = _int(1, 120)
    retention_years = _int(1, 100)


class DraftFieldsSchema(Schema):
    """The changeable fields of a draft (title and/or content)."""

    title = fields.String(validate=checks.Length(min=1))
    content = fields.Nested(BlobRefSchema)


class DraftUpdatedSchema(Schema):
    """document.draft_updated"""

    revision = _match(r"[A-Z]{1,3}", "not a revision letter")
    old = _nested(DraftFieldsSchema)
    new = _nested(DraftFieldsSchema, validate=checks.Length(min=1))


class RevisionSchema(Schema):
    """document.submitted"""

    revision = _match(r"[A-Z]{1,3}", "not a revision letter")


class DocumentReviewedSchema(RevisionSchema):
    """document.reviewed"""

    outcome = _one_of("changes_requested", "endorsed")
    comment = _free()


class DocumentApprovedSchema(RevisionSchema):
    """document.approved"""

    content_sha256 = _match(_HEX64, "not a sha256 hex digest")
    esig = _nested(EsigSchema)


class BecameEffectiveSchema(RevisionSchema):
    """document.became_effective"""

    effective_on = _date()
    next_review_due = _date()
    supersedes = _match(r"[A-Z]{1,3}", "not a revision letter", allow_none=True)


class SupersededSchema(RevisionSchema):
    """document.superseded"""

    by_revision = _match(r"[A-Z]{1,3}", "not a revision letter")


class WithdrawnSchema(RevisionSchema):
    """document.withdrawn"""

    reason = _text()


class DistributedSchema(RevisionSchema):
    """document.distributed"""

    units = _list(_match(_UNIT, "not a unit code"), min_length=1)


class NextReviewSchema(Schema):
    """The next periodic review date."""

    next_review_due = _date(allow_none=True)


class ReviewCompletedSchema(RevisionSchema):
    """document.review_completed"""

    old = _nested(NextReviewSchema)
    new = _nested(NextReviewSchema)
    comment = _free()


class RetentionSchema(Schema):
    """A retention period."""

    retention_years = _int(1, 100)


class RetentionChangedSchema(Schema):
    """document.retention_changed"""

    old = _nested(RetentionSchema)
    new = _nested(RetentionSchema)
    reason = _text()


# --- audits --------------------------------------------------------------------------


class AuditPlannedSchema(Schema):
    """audit.planned"""

    programme = _match(r"[0-9]{4}", "not a year")
    unit = _match(_UNIT, "not a unit code")
    scope = _text()
    criteria = _list(_text(), min_length=1)
    lead_auditor = _match(_USER, "not a user id")
    team = _list(_match(_USER, "not a user id"))
    planned_start = _date()
    planned_end = _date()


class AuditStartedSchema(Schema):
    """audit.started"""

    started_on = _date()


class AuditReportedSchema(Schema):
    """audit.reported"""

    summary = _text()
    findings = _list(_text())
    esig = _nested(EsigSchema)


class AuditClosedSchema(Schema):
    """audit.closed, finding.closed"""

    closed_on = _date()


# --- findings ------------------------------------------------------------------------


class CriterionSchema(Schema):
    """A clause, or a document and revision."""

    clause = fields.String(validate=checks.Length(min=1))
    document = fields.String(validate=checks.Length(min=1))
    revision = fields.String(validate=checks.Length(min=1))


def _criterion_ok(value: Mapping[str, object]) -> bool:
    return set(value) in ({"clause"}, {"document", "revision"})


class FindingRaisedSchema(Schema):
    """finding.raised"""

    unit = _match(_UNIT, "not a unit code")
    source = _one_of(
        "internal_audit",
        "external_audit",
        "complaint",
        "supervision",
        "management_review",
    )
    classification = _one_of("major", "minor", "observation", "opportunity")
    criterion = _nested(CriterionSchema)
    description = _text()
    evidence = _list(fields.Nested(BlobRefSchema), min_length=1)
    due_on = _date()
    audit = fields.String(required=True, allow_none=True, validate=checks.Length(min=1))


class ContainedSchema(Schema):
    """finding.contained"""

    action = _text()


class CauseAnalysedSchema(Schema):
    """finding.cause_analysed"""

    cause = _text()
    method = _text()


class PlannedActionSchema(Schema):
    """One planned corrective action."""

    action_id = _match(r"[A-Za-z0-9._-]{1,40}", "not an action id")
    description = _text()
    owner = _match(_USER, "not a user id")
    due_on = _date()


class ActionsPlannedSchema(Schema):
    """finding.actions_planned"""

    actions = _list(fields.Nested(PlannedActionSchema), min_length=1)


class ActionCompletedSchema(Schema):
    """finding.action_completed"""

    action_id = _match(r"[A-Za-z0-9._-]{1,40}", "not an action id")
    evidence = _list(fields.Nested(BlobRefSchema))
    note = _free()


class DueOnSchema(Schema):
    """A due date."""

    due_on = _date(allow_none=True)


class DueDateChangedSchema(Schema):
    """finding.due_date_changed"""

    old = _nested(DueOnSchema)
    new = _nested(DueOnSchema)
    reason = _text()


class VerifiedSchema(Schema):
    """finding.verified"""

    effective = fields.Boolean(required=True, truthy={True}, falsy={False})
    comment = _text()
    esig = _nested(EsigSchema)


# --- indicators ----------------------------------------------------------------------


class IndicatorDefinedSchema(Schema):
    """indicator.defined"""

    unit = _match(_UNIT, "not a unit code")
    owner = _match(_USER, "not a user id")
    name = _text()
    measure = _text()
    direction = _one_of("higher_is_better", "lower_is_better")
    target = _match(_DECIMAL, "not a decimal string")
    frequency = _one_of("monthly", "quarterly", "yearly")
    method = _text()
    effective_from = _match(_PERIOD, "not a period")


class TargetSchema(Schema):
    """A target."""

    target = _match(_DECIMAL, "not a decimal string", allow_none=True)


class TargetChangedSchema(Schema):
    """indicator.target_changed"""

    old = _nested(TargetSchema)
    new = _nested(TargetSchema)
    effective_from = _match(_PERIOD, "not a period")
    reason = _text()


class MeasuredSchema(Schema):
    """indicator.measured"""

    period = _match(_PERIOD, "not a period")
    value = _match(_DECIMAL, "not a decimal string")
    note = _free()


class ValueSchema(Schema):
    """A measured value."""

    value = _match(_DECIMAL, "not a decimal string")


class MeasurementCorrectedSchema(Schema):
    """indicator.measurement_corrected"""

    period = _match(_PERIOD, "not a period")
    old = _nested(ValueSchema)
    new = _nested(ValueSchema)
    reason = _text()


# --- management reviews --------------------------------------------------------------


class ReviewInputSchema(Schema):
    """A report a review looked at, pinned by its digest."""

    report = _text()
    unit = _match(_UNIT, "not a unit code")
    as_of = _text()
    size = _int(0, 2**53 - 1)
    sha256 = _match(_HEX64, "not a sha256 hex digest")


class ReviewActionSchema(Schema):
    """An action decided by a review."""

    description = _text()
    owner = _match(_USER, "not a user id")
    due_on = _date()


class ReviewHeldSchema(Schema):
    """review.held"""

    unit = _match(_UNIT, "not a unit code")
    held_on = _date()
    attendees = _list(_match(_USER, "not a user id"), min_length=1)
    inputs = _list(fields.Nested(ReviewInputSchema))
    decisions = _list(_text())
    actions = _list(fields.Nested(ReviewActionSchema))


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A type's current schema, its version, and upcasters keyed by the version they lift."""

    schema: Schema
    version: int = 1
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)


def _spec(schema: type[Schema], version: int = 1, **upcasters: Upcaster) -> EventSpec:
    lifts = {int(k.removeprefix("v")): fn for k, fn in upcasters.items()}
    return EventSpec(schema(), version, lifts)


CATALOG: Mapping[str, EventSpec] = {
    "unit.created": _spec(UnitCreatedSchema),
    "unit.renamed": _spec(UnitRenamedSchema),
    "unit.closed": _spec(ReasonSchema),
    "user.registered": _spec(UserRegisteredSchema),
    "user.role_granted": _spec(RoleGrantedSchema),
    "user.role_revoked": _spec(RoleRevokedSchema),
    "user.moved": _spec(UserMovedSchema),
    "user.deactivated": _spec(ReasonSchema),
    "user.esign_key_issued": _spec(EsignKeyIssuedSchema),
    "document.drafted": _spec(DocumentDraftedSchema),
    "document.draft_updated": _spec(DraftUpdatedSchema),
    "document.submitted": _spec(RevisionSchema),
    "document.reviewed": _spec(DocumentReviewedSchema),
    "document.approved": _spec(DocumentApprovedSchema),
    "document.became_effective": _spec(BecameEffectiveSchema),
    "document.superseded": _spec(SupersededSchema),
    "document.withdrawn": _spec(WithdrawnSchema),
    "document.distributed": _spec(DistributedSchema),
    "document.review_completed": _spec(ReviewCompletedSchema),
    "document.retention_changed": _spec(RetentionChangedSchema),
    "audit.planned": _spec(AuditPlannedSchema),
    "audit.started": _spec(AuditStartedSchema),
    "audit.reported": _spec(AuditReportedSchema),
    "audit.closed": _spec(AuditClosedSchema),
    "audit.cancelled": _spec(ReasonSchema),
    "finding.raised": _spec(FindingRaisedSchema),
    "finding.contained": _spec(ContainedSchema),
    "finding.cause_analysed": _spec(CauseAnalysedSchema),
    "finding.actions_planned": _spec(ActionsPlannedSchema),
    "finding.action_completed": _spec(ActionCompletedSchema),
    "finding.due_date_changed": _spec(DueDateChangedSchema),
    "finding.verified": _spec(VerifiedSchema),
    "finding.closed": _spec(AuditClosedSchema),
    "finding.reopened": _spec(ReasonSchema),
    "indicator.defined": _spec(IndicatorDefinedSchema),
    "indicator.target_changed": _spec(TargetChangedSchema),
    "indicator.measured": _spec(MeasuredSchema),
    "indicator.measurement_corrected": _spec(MeasurementCorrectedSchema),
    "indicator.retired": _spec(ReasonSchema),
    "review.held": _spec(ReviewHeldSchema),
}
# Types the store itself writes and validates (docs/ledger-format.md sections 3 and 6).
LEDGER_TYPES = frozenset(
    {
        "ledger.initialized",
        "ledger.key_registered",
        "ledger.key_revoked",
        "ledger.blob_disposed",
    }
)


def event_types() -> list[str]:
    """Return every QMS event type of the catalogue, sorted."""
    return sorted(CATALOG)


def schema_version(event_type: str) -> int:
    """Return the current schema version of `event_type`.

    Raises:
        EventRejectedError: the type is not in the catalogue.
    """
    if event_type in LEDGER_TYPES:
        return 1
    return _spec_of(event_type).version


def _spec_of(event_type: str) -> EventSpec:
    spec = CATALOG.get(event_type)
    if spec is None:
        message = f"unknown event type {event_type!r}"
        raise EventRejectedError(message, {"type": [message]})
    return spec


def validate(event_type: str, data: Mapping[str, JSONValue]) -> Data:
    """Return `data` unchanged when it matches the current schema of `event_type`.

    Raises:
        EventRejectedError: the type is unknown or the data breaks its schema; the
            messages name each field.
    """
    spec = _spec_of(event_type)
    messages: dict[str, Any] = spec.schema.validate(dict(data))
    if event_type == "finding.raised" and not messages:
        criterion = data.get("criterion")
        if not (isinstance(criterion, Mapping) and _criterion_ok(criterion)):
            messages = {"criterion": ["a clause, or a document and revision"]}
    if messages:
        raise EventRejectedError(f"{event_type} data is not valid", messages)
    return dict(data)


def upcast(event_type: str, schema: int, data: Mapping[str, JSONValue]) -> Data:
    """Return `data` of schema version `schema` lifted to the current version.

    The input is not modified; the stored bytes never change.

    Raises:
        EventRejectedError: the type is unknown, the version is newer than this
            program knows, or an upcaster is missing.
    """
    if event_type in LEDGER_TYPES:
        return dict(data)
    spec = _spec_of(event_type)
    if schema > spec.version or schema < 1:
        message = f"{event_type} schema {schema} is not known (current {spec.version})"
        raise EventRejectedError(message, {"schema": [message]})
    out: Data = copy.deepcopy(dict(data))
    for version in range(schema, spec.version):
        lift = spec.upcasters.get(version)
        if lift is None:
            message = f"no upcaster lifts {event_type} from schema {version}"
            raise EventRejectedError(message, {"schema": [message]})
        out = lift(out)
    return out


__all__ = [
    "CATALOG",
    "EventSpec",
    "event_types",
    "schema_version",
    "upcast",
    "validate",
]
