"""Internal audits [ISO 9001 9.2]: commands, state, fold and decide. Pure.

Lifecycle: planned -> in_progress -> reported (e-signature of the lead auditor) ->
closed, or cancelled. Auditor independence: neither the lead nor a team member may
belong to the audited unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from ledger.domain import (
    Command,
    Context,
    Data,
    Decision,
    reject,
    require_reason,
    require_text,
    signed,
    subject_sha256,
    unknown_command,
)
from ledger.errors import NotAuthorizedError
from ledger.integrity.canonical import JSONObject
from ledger.integrity.envelope import RecordedEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditCommand(Command):
    """A command on one internal audit."""

    audit_id: str

    @property
    def stream(self) -> str:
        """The audit's stream."""
        return f"audit/{self.audit_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanAudit(AuditCommand):
    """Plan an audit of a unit within a yearly programme."""

    programme: str
    unit: str
    scope: str
    criteria: Sequence[str]
    lead_auditor: str
    team: Sequence[str] = ()
    planned_start: date
    planned_end: date


@dataclass(frozen=True, slots=True, kw_only=True)
class StartAudit(AuditCommand):
    """Start a planned audit."""

    started_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportAudit(AuditCommand):
    """Report the audit; the lead auditor signs the report."""

    summary: str
    findings: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseAudit(AuditCommand):
    """Close a reported audit."""

    closed_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelAudit(AuditCommand):
    """Cancel a planned or running audit."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditState:
    """An audit folded from its stream."""

    audit_id: str = ""
    version: int = 0
    status: str | None = None
    unit: str | None = None
    lead_auditor: str | None = None
    team: tuple[str, ...] = ()
    planned_start: str | None = None


def fold(state: AuditState, event: RecordedEvent) -> AuditState:
    """Return the state after `event`."""
    data = event.data
    state = replace(
        state, version=event.version, audit_id=event.stream.split("/", 1)[1]
    )
    kind = event.type.split(".", 1)[1]
    if kind == "planned":
        team = data["team"]
        return replace(
            state,
            status="planned",
            unit=str(data["unit"]),
            lead_auditor=str(data["lead_auditor"]),
            team=tuple(str(t) for t in team) if isinstance(team, list) else (),
            planned_start=str(data["planned_start"]),
        )
    status = {
        "started": "in_progress",
        "reported": "reported",
        "closed": "closed",
        "cancelled": "cancelled",
    }.get(kind, state.status)
    return replace(state, status=status)


def _expect(state: AuditState, *statuses: str) -> None:
    if state.status is None:
        reject("audit_id", f"audit {state.audit_id or '?'} does not exist")
    if state.status not in statuses:
        reject(
            "status", f"the audit is {state.status}; expected {' or '.join(statuses)}"
        )


def signed_content(summary: str, findings: Sequence[str]) -> JSONObject:
    """Return what an audit report signs."""
    return {"summary": summary, "findings": list(findings)}


def _plan(state: AuditState, command: PlanAudit, context: Context) -> Decision:
    if state.status is not None:
        reject("audit_id", f"audit {command.audit_id} exists already")
    if not (len(command.programme) == 4 and command.programme.isdigit()):
        reject("programme", "programme is a year such as 2026")
    if context.units and command.unit not in context.units:
        reject("unit", f"unit {command.unit} does not exist or is closed")
    criteria = [c.strip() for c in command.criteria if c.strip()]
    if not criteria:
        reject("criteria", "name at least one criterion (clause or document revision)")
    if command.planned_end < command.planned_start:
        reject("planned_end", "the audit cannot end before it starts")
    team = list(dict.fromkeys(t for t in command.team if t != command.lead_auditor))
    for person in [command.lead_auditor, *team]:
        home = context.user_units.get(person)
        if context.user_units and home is None:
            reject(
                "team" if person != command.lead_auditor else "lead_auditor",
                f"{person} is not a registered user",
            )
        if home == command.unit:
            field_name = "lead_auditor" if person == command.lead_auditor else "team"
            reject(
                field_name,
                f"{person} belongs to unit {command.unit} and may not audit it",
            )
    data: Data = {
        "programme": command.programme,
        "unit": command.unit,
        "scope": require_text("scope", command.scope),
        "criteria": list(criteria),
        "lead_auditor": command.lead_auditor,
        "team": list(team),
        "planned_start": command.planned_start.isoformat(),
        "planned_end": command.planned_end.isoformat(),
    }
    return [("audit.planned", data)]


def decide(state: AuditState, command: AuditCommand, context: Context) -> Decision:
    """Return the events `command` produces on `state`.

    Raises:
        EventRejectedError: a lifecycle or independence rule is broken.
        NotAuthorizedError: only the lead auditor may sign the report.
    """
    if isinstance(command, PlanAudit):
        return _plan(state, command, context)
    if isinstance(command, StartAudit):
        _expect(state, "planned")
        return [("audit.started", {"started_on": command.started_on.isoformat()})]
    if isinstance(command, ReportAudit):
        _expect(state, "in_progress")
        if context.actor != state.lead_auditor:
            raise NotAuthorizedError(
                f"only the lead auditor {state.lead_auditor} may sign the audit report"
            )
        summary = require_text("summary", command.summary)
        findings = list(dict.fromkeys(command.findings))
        content = signed_content(summary, findings)
        esig = signed(context, "approved", content)
        data: Data = {
            "summary": summary,
            "findings": list(findings),
            "esig": dict(esig),
        }
        return [("audit.reported", data)]
    if isinstance(command, CloseAudit):
        _expect(state, "reported")
        return [("audit.closed", {"closed_on": command.closed_on.isoformat()})]
    if isinstance(command, CancelAudit):
        _expect(state, "planned", "in_progress")
        return [("audit.cancelled", {"reason": require_reason(command.reason)})]
    raise unknown_command(command)


def esig_subject(
    state: AuditState, event: RecordedEvent
) -> tuple[JSONObject, str] | None:
    """Return (content, expected subject_sha256) for a sign-off event on `state`."""
    if event.type != "audit.reported":
        return None
    findings = event.data.get("findings")
    content = signed_content(
        str(event.data["summary"]),
        [str(f) for f in findings] if isinstance(findings, list) else [],
    )
    return content, subject_sha256(event.stream, state.version, content)
