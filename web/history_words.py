"""A record's history in plain words: the names of fields, states and events.

Every history a page shows (a record page, the conflict page) reads its changes
through here: per record kind (document, audit, finding, action, indicator,
measurement, review, unit, user) the name of each field and the word of each coded
value, and one function that turns a change list (projections.queries.FieldChange)
into rows a clerk reads: "Revision A · Status: Submitted for review → Endorsed".
A field or a code not named here reads as its own name made readable, never as a
crash and never as a path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from projections import queries as q
from web.forms_documents import KIND_LABELS as DOCUMENT_KINDS
from web.i18n import ROLE_NAMES
from web.views.findings_forms import classification_names, source_names

DOCUMENT_STATUS: Mapping[str, Any] = {
    "drafted": _l("Draft"),
    "changes_requested": _l("Changes requested"),
    "submitted": _l("Submitted for review"),
    "endorsed": _l("Endorsed"),
    "approved": _l("Approved"),
    "effective": _l("Effective"),
    "superseded": _l("Superseded"),
    "withdrawn": _l("Withdrawn"),
}
# The states of findings, their actions and audits (one table: the pages share it).
FINDING_STATUS: Mapping[str, Any] = {
    "raised": _l("Raised"),
    "contained": _l("Contained"),
    "cause_analysed": _l("Cause analysed"),
    "actions_planned": _l("Actions planned"),
    "actions_done": _l("Actions done"),
    "verified": _l("Verified effective"),
    "closed": _l("Closed"),
    "planned": _l("Planned"),
    "in_progress": _l("In progress"),
    "reported": _l("Reported"),
    "cancelled": _l("Cancelled"),
    "open": _l("Open"),
    "done": _l("Done"),
}
UNIT_KINDS: Mapping[str, Any] = {
    "headquarters": _l("Headquarters"),
    "bureau": _l("Bureau"),
    "department": _l("Department"),
}
DIRECTIONS: Mapping[str, Any] = {
    "higher_is_better": _l("Higher is better"),
    "lower_is_better": _l("Lower is better"),
}
FREQUENCIES: Mapping[str, Any] = {
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "yearly": _l("Yearly"),
}

# Every event type the domain writes, in words.
EVENT_WORDS: Mapping[str, Any] = {
    "unit.created": _l("Unit created"),
    "unit.renamed": _l("Unit renamed"),
    "unit.closed": _l("Unit closed"),
    "user.registered": _l("Person registered"),
    "user.role_granted": _l("Role granted"),
    "user.role_revoked": _l("Role revoked"),
    "user.moved": _l("Moved to another unit"),
    "user.deactivated": _l("Deactivated"),
    "user.esign_key_issued": _l("New signature key issued"),
    "document.drafted": _l("Revision drafted"),
    "document.draft_updated": _l("Draft changed"),
    "document.submitted": _l("Submitted for review"),
    "document.reviewed": _l("Reviewed"),
    "document.approved": _l("Approved and signed"),
    "document.became_effective": _l("Made effective"),
    "document.superseded": _l("Superseded"),
    "document.withdrawn": _l("Withdrawn"),
    "document.distributed": _l("Distributed"),
    "document.review_completed": _l("Periodic review completed"),
    "document.retention_changed": _l("Retention changed"),
    "audit.planned": _l("Audit planned"),
    "audit.started": _l("Audit started"),
    "audit.reported": _l("Audit report signed"),
    "audit.closed": _l("Audit closed"),
    "audit.cancelled": _l("Audit cancelled"),
    "finding.raised": _l("Finding raised"),
    "finding.contained": _l("Containment recorded"),
    "finding.cause_analysed": _l("Root cause recorded"),
    "finding.actions_planned": _l("Actions planned"),
    "finding.action_completed": _l("Action done"),
    "finding.due_date_changed": _l("Due date changed"),
    "finding.verified": _l("Effectiveness verified (signed)"),
    "finding.closed": _l("Finding closed"),
    "finding.reopened": _l("Finding reopened"),
    "indicator.defined": _l("Indicator defined"),
    "indicator.target_changed": _l("Target changed"),
    "indicator.measured": _l("Measurement recorded"),
    "indicator.measurement_corrected": _l("Measurement corrected"),
    "indicator.retired": _l("Indicator retired"),
    "review.held": _l("Management review recorded"),
}

# Per record kind, the name of each field its events and its fold write.
FIELD_LABELS: Mapping[str, Mapping[str, Any]] = {
    "document": {
        "title": _l("Title"),
        "kind": _l("Kind of document"),
        "unit": _l("Unit"),
        "status": _l("Status"),
        "content": _l("Document file"),
        "author": _l("Author"),
        "approved_by": _l("Approved by"),
        "revision": _l("Revision"),
        "retention_years": _l("Retention (years)"),
        "review_interval_months": _l("Periodic review every (months)"),
        "next_review_due": _l("Next periodic review"),
        "distributed_to": _l("Distributed to units"),
        "units": _l("Distributed to units"),
        "effective": _l("Effective revision"),
        "effective_on": _l("Effective from"),
        "supersedes": _l("Supersedes revision"),
        "by_revision": _l("Superseded by revision"),
        "outcome": _l("Outcome of the review"),
        "content_sha256": _l("SHA-256 of the file"),
    },
    "audit": {
        "programme": _l("Programme year"),
        "unit": _l("Unit"),
        "scope": _l("Scope"),
        "criteria": _l("Criteria"),
        "lead_auditor": _l("Lead auditor"),
        "team": _l("Audit team"),
        "planned_start": _l("Planned start"),
        "planned_end": _l("Planned end"),
        "started_on": _l("Started on"),
        "summary": _l("Summary"),
        "findings": _l("Findings"),
        "closed_on": _l("Closed on"),
        "status": _l("Status"),
    },
    "finding": {
        "unit": _l("Unit"),
        "source": _l("Source"),
        "classification": _l("Classification"),
        "criterion": _l("Criterion"),
        "clause": _l("Clause"),
        "document": _l("Document"),
        "revision": _l("Revision"),
        "description": _l("Description"),
        "evidence": _l("Evidence"),
        "due_on": _l("Due date"),
        "audit": _l("Audit"),
        "action": _l("Containment"),
        "cause": _l("Root cause"),
        "method": _l("Method of analysis"),
        "actions": _l("Corrective actions"),
        "action_id": _l("Action"),
        "owner": _l("Owner"),
        "note": _l("Note"),
        "effective": _l("Effective"),
        "closed_on": _l("Closed on"),
        "status": _l("Status"),
        "raised_by": _l("Raised by"),
        "verified_effective": _l("Verified effective"),
    },
    "action": {
        "action_id": _l("Action"),
        "description": _l("Description"),
        "owner": _l("Owner"),
        "due_on": _l("Due date"),
        "done": _l("Done"),
        "evidence": _l("Evidence"),
        "note": _l("Note"),
    },
    "indicator": {
        "unit": _l("Unit"),
        "owner": _l("Owner"),
        "name": _l("Name"),
        "measure": _l("Unit of measure"),
        "direction": _l("Better when"),
        "target": _l("Target"),
        "frequency": _l("Measured"),
        "method": _l("Method of measurement"),
        "effective_from": _l("Effective from"),
        "retired": _l("Retired"),
        "values": _l("Measurements"),
        "period": _l("Period"),
        "value": _l("Value"),
        "note": _l("Note"),
    },
    "measurement": {
        "period": _l("Period"),
        "value": _l("Value"),
        "note": _l("Note"),
    },
    "review": {
        "unit": _l("Unit"),
        "held_on": _l("Held on"),
        "attendees": _l("Attendees"),
        "inputs": _l("Reports reviewed"),
        "report": _l("Report"),
        "as_of": _l("As of"),
        "size": _l("Ledger size"),
        "sha256": _l("SHA-256"),
        "decisions": _l("Decisions"),
        "actions": _l("Actions"),
        "description": _l("Description"),
        "owner": _l("Owner"),
        "due_on": _l("Due date"),
    },
    "unit": {
        "code": _l("Unit code"),
        "name_zh": _l("Name in Chinese"),
        "name_en": _l("Name in English"),
        "kind": _l("Kind of unit"),
        "parent": _l("Parent unit"),
        "closed": _l("Closed down"),
    },
    "user": {
        "user_id": _l("User ID"),
        "name": _l("Full name"),
        "unit": _l("Unit"),
        "email": _l("Email address"),
        "roles": _l("Roles"),
        "role": _l("Role"),
        "scope": _l("Scope"),
        "active": _l("Active"),
        "key_id": _l("Signature key"),
    },
}

# Per record kind, the words of the coded values of a field.
VALUE_WORDS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "document": {
        "status": DOCUMENT_STATUS,
        "outcome": DOCUMENT_STATUS,
        "kind": DOCUMENT_KINDS,
    },
    "audit": {"status": FINDING_STATUS},
    "finding": {
        "status": FINDING_STATUS,
        "source": source_names(),
        "classification": classification_names(),
    },
    "indicator": {"direction": DIRECTIONS, "frequency": FREQUENCIES},
    "unit": {"kind": UNIT_KINDS},
    "user": {"role": ROLE_NAMES},
}


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One change in words: which field, from what, to what."""

    field: str
    old: str
    new: str


def readable(name: str) -> str:
    """A name no table knows, made readable: "review_interval" -> "Review interval"."""
    text = name.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:] if text else "\u2013"


def field_label(kind: str, name: str) -> str:
    """The name of field `name` of a record of `kind`, readable when unknown."""
    found = FIELD_LABELS.get(kind, {}).get(name)
    return str(found) if found is not None else readable(name)


def event_words(event_type: str) -> str:
    """An event type in words ("finding.raised" -> "Finding raised")."""
    found = EVENT_WORDS.get(event_type)
    if found is not None:
        return str(found)
    return readable(event_type.split(".", 1)[-1])


def kind_of(stream: str) -> str:
    """The record kind of a stream ("document/QP-07" -> "document")."""
    return stream.split("/", 1)[0]


def value_words(kind: str, name: str, value: object) -> str:
    """A value of field `name` of a record of `kind` as a clerk reads it."""
    if value is None or value == "":
        return "\u2013"
    if value is True:
        return str(_("yes"))
    if value is False:
        return str(_("no"))
    if isinstance(value, str):
        found = VALUE_WORDS.get(kind, {}).get(name, {}).get(value)
        return str(found) if found is not None else value
    if isinstance(value, Mapping):
        if "blob" in value:
            return f"{value.get('name', '')} ({str(value['blob'])[:12]}\u2026)"
        inner = "action" if kind == "finding" and name == "actions" else kind
        return "; ".join(
            f"{field_label(inner, str(k))}: {value_words(inner, str(k), v)}"
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        if name == "roles":
            return "; ".join(_role(item) for item in value)
        return ", ".join(value_words(kind, name, item) for item in value)
    return str(value)


def _role(item: object) -> str:
    """A role held, as the users register keeps it: [role, scope]."""
    if isinstance(item, list | tuple) and len(item) == 2:
        role, scope = str(item[0]), str(item[1])
        return f"{ROLE_NAMES.get(role, role)} \u00b7 {scope}"
    return str(item)


def _path_label(kind: str, path: Sequence[str]) -> tuple[str, str, str]:
    """The label of a change's path, the kind and name its value is read with."""
    if not path:
        return "\u2013", kind, ""
    if kind == "document" and len(path) == 3 and path[0] == "revisions":
        rev = _("Revision %(rev)s", rev=path[1])
        return f"{rev} \u00b7 {field_label(kind, path[2])}", kind, path[2]
    if kind == "finding" and len(path) == 3 and path[0] == "actions":
        action = _("Action %(id)s", id=path[1])
        return f"{action} \u00b7 {field_label('action', path[2])}", "action", path[2]
    if kind == "indicator" and len(path) == 2 and path[0] == "values":
        label = _("Value for %(period)s", period=path[1])
        return label, "measurement", "value"
    if len(path) == 1:
        return field_label(kind, path[0]), kind, path[0]
    return " \u00b7 ".join(field_label(kind, p) for p in path), kind, path[-1]


def change_rows(changes: Iterable[q.FieldChange], stream: str) -> list[ChangeRow]:
    """The changes of one history entry of `stream` (or a record kind) as rows."""
    kind = kind_of(stream)
    rows = []
    for change in changes:
        label, value_kind, name = _path_label(kind, change.path)
        rows.append(
            ChangeRow(
                field=label,
                old=value_words(value_kind, name, change.old),
                new=value_words(value_kind, name, change.new),
            )
        )
    return rows


def init_app(app: Flask) -> None:
    """Make the rows and the event words available to every template."""
    app.add_template_filter(change_rows, "change_rows")
    app.add_template_global(event_words, "event_words")
