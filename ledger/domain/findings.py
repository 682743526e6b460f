"""Findings and corrective actions [ISO 9001 9.2, 10.2; ISO 19011]. Pure.

Lifecycle: raised -> contained -> cause_analysed -> actions_planned -> actions_done
-> verified (e-signature) -> closed, and reopened (back to cause_analysed). An
ineffective verification also sends the finding back to cause_analysed. Nobody
verifies the effectiveness of actions they own or of a finding they raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from ledger.domain import (
    Command,
    Context,
    Data,
    Decision,
    reject,
    require_blobs,
    require_reason,
    require_text,
    signed,
    subject_sha256,
    unknown_command,
)
from ledger.errors import NotAuthorizedError
from ledger.integrity.canonical import JSONObject, JSONValue
from ledger.integrity.envelope import RecordedEvent

SOURCES = (
    "internal_audit",
    "external_audit",
    "complaint",
    "supervision",
    "management_review",
)
CLASSIFICATIONS = ("major", "minor", "observation", "opportunity")
ACTION_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,40}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingCommand(Command):
    """A command on one finding."""

    finding_id: str

    @property
    def stream(self) -> str:
        """The finding's stream."""
        return f"finding/{self.finding_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RaiseFinding(FindingCommand):
    """Raise a finding against a criterion, with evidence."""

    unit: str
    source: str
    classification: str
    criterion: Mapping[str, str]
    description: str
    evidence: Sequence[Mapping[str, JSONValue]]
    due_on: date
    audit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainFinding(FindingCommand):
    """Record the immediate containment."""

    action: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyseCause(FindingCommand):
    """Record the root cause and the method used to find it."""

    cause: str
    method: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionPlan:
    """One corrective action as planned."""

    action_id: str
    description: str
    owner: str
    due_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanActions(FindingCommand):
    """Plan corrective actions, each with an owner and a due date."""

    actions: Sequence[ActionPlan]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteAction(FindingCommand):
    """Record a planned action as done (by its owner), with evidence."""

    action_id: str
    evidence: Sequence[Mapping[str, JSONValue]] = ()
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeDueDate(FindingCommand):
    """Move the finding's due date, with a reason."""

    due_on: date
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyEffectiveness(FindingCommand):
    """Record (and sign) whether the actions were effective."""

    effective: bool
    comment: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseFinding(FindingCommand):
    """Close a finding whose actions were verified effective."""

    closed_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ReopenFinding(FindingCommand):
    """Reopen a closed finding, with a reason."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """A planned corrective action as folded."""

    action_id: str
    description: str
    owner: str
    due_on: str
    done: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingState:
    """A finding folded from its stream."""

    finding_id: str = ""
    version: int = 0
    status: str | None = None
    unit: str | None = None
    raised_by: str | None = None
    due_on: str | None = None
    actions: Mapping[str, Action] = field(default_factory=dict)
    verified_effective: bool = False


def fold(state: FindingState, event: RecordedEvent) -> FindingState:
    """Return the state after `event`."""
    data = event.data
    state = replace(
        state, version=event.version, finding_id=event.stream.split("/", 1)[1]
    )
    kind = event.type.split(".", 1)[1]
    if kind == "raised":
        return replace(
            state,
            status="raised",
            unit=str(data["unit"]),
            raised_by=event.actor,
            due_on=str(data["due_on"]),
        )
    if kind == "contained":
        return replace(state, status="contained")
    if kind == "cause_analysed":
        return replace(state, status="cause_analysed", verified_effective=False)
    if kind == "actions_planned":
        actions = dict(state.actions)
        planned = data["actions"]
        for item in planned if isinstance(planned, list) else []:
            if isinstance(item, Mapping):
                action = Action(
                    action_id=str(item["action_id"]),
                    description=str(item["description"]),
                    owner=str(item["owner"]),
                    due_on=str(item["due_on"]),
                )
                actions[action.action_id] = action
        return replace(state, status="actions_planned", actions=actions)
    if kind == "action_completed":
        action_id = str(data["action_id"])
        actions = {
            **state.actions,
            action_id: replace(state.actions[action_id], done=True),
        }
        status = (
            "actions_done" if all(a.done for a in actions.values()) else state.status
        )
        return replace(state, actions=actions, status=status)
    if kind == "due_date_changed":
        new = data["new"]
        return replace(
            state, due_on=str(new["due_on"]) if isinstance(new, Mapping) else None
        )
    if kind == "verified":
        if data["effective"] is True:
            return replace(state, status="verified", verified_effective=True)
        return replace(state, status="cause_analysed", verified_effective=False)
    if kind == "closed":
        return replace(state, status="closed")
    if kind == "reopened":
        return replace(state, status="cause_analysed", verified_effective=False)
    return state


def _expect(state: FindingState, *statuses: str) -> None:
    if state.status is None:
        reject("finding_id", f"finding {state.finding_id or '?'} does not exist")
    if state.status not in statuses:
        reject(
            "status", f"the finding is {state.status}; expected {' or '.join(statuses)}"
        )


def signed_content(state: FindingState, effective: bool, comment: str) -> JSONObject:
    """Return what an effectiveness verification signs."""
    actions: list[JSONValue] = [
        {
            "action_id": a.action_id,
            "description": a.description,
            "owner": a.owner,
            "due_on": a.due_on,
            "done": a.done,
        }
        for a in sorted(state.actions.values(), key=lambda a: a.action_id)
    ]
    return {"effective": effective, "comment": comment, "actions": actions}


def _raise(state: FindingState, command: RaiseFinding, context: Context) -> Decision:
    if state.status is not None:
        reject("finding_id", f"finding {command.finding_id} exists already")
    if context.units and command.unit not in context.units:
        reject("unit", f"unit {command.unit} does not exist or is closed")
    if command.source not in SOURCES:
        reject("source", f"source must be one of {', '.join(SOURCES)}")
    if command.classification not in CLASSIFICATIONS:
        reject(
            "classification",
            f"classification must be one of {', '.join(CLASSIFICATIONS)}",
        )
    criterion = {k: v.strip() for k, v in command.criterion.items() if v and v.strip()}
    if set(criterion) == {"clause"}:
        crit: Data = {"clause": criterion["clause"]}
    elif set(criterion) == {"document", "revision"}:
        crit = {"document": criterion["document"], "revision": criterion["revision"]}
    else:
        reject(
            "criterion",
            "a finding needs a criterion: a clause, or a document and revision",
        )
    if not command.evidence:
        reject("evidence", "a finding needs at least one piece of evidence")
    if command.source == "internal_audit" and not command.audit:
        reject("audit", "a finding from an internal audit names the audit")
    data: Data = {
        "unit": command.unit,
        "source": command.source,
        "classification": command.classification,
        "criterion": crit,
        "description": require_text("description", command.description),
        "evidence": require_blobs("evidence", command.evidence),
        "due_on": command.due_on.isoformat(),
        "audit": command.audit,
    }
    return [("finding.raised", data)]


def _plan(state: FindingState, command: PlanActions) -> Decision:
    _expect(state, "cause_analysed")
    if not command.actions:
        reject("actions", "plan at least one action")
    seen: set[str] = set(state.actions)
    planned: list[JSONValue] = []
    for action in command.actions:
        if not ACTION_ID_RE.fullmatch(action.action_id):
            reject("actions", f"action id {action.action_id!r} is not valid")
        if action.action_id in seen:
            reject("actions", f"action id {action.action_id} is used already")
        seen.add(action.action_id)
        planned.append(
            {
                "action_id": action.action_id,
                "description": require_text(
                    "actions", action.description, "every action needs a description"
                ),
                "owner": require_text(
                    "actions", action.owner, "every action needs an owner"
                ),
                "due_on": action.due_on.isoformat(),
            }
        )
    return [("finding.actions_planned", {"actions": planned})]


def decide(state: FindingState, command: FindingCommand, context: Context) -> Decision:
    """Return the events `command` produces on `state`.

    Raises:
        EventRejectedError: a lifecycle or content rule is broken.
        NotAuthorizedError: the actor does not own the action, or segregation of
            duties forbids them to verify.
    """
    if isinstance(command, RaiseFinding):
        return _raise(state, command, context)
    if isinstance(command, ContainFinding):
        _expect(state, "raised")
        return [
            ("finding.contained", {"action": require_text("action", command.action)})
        ]
    if isinstance(command, AnalyseCause):
        _expect(state, "contained", "cause_analysed")
        data: Data = {
            "cause": require_text("cause", command.cause),
            "method": require_text("method", command.method),
        }
        return [("finding.cause_analysed", data)]
    if isinstance(command, PlanActions):
        return _plan(state, command)
    if isinstance(command, CompleteAction):
        _expect(state, "actions_planned")
        action = state.actions.get(command.action_id)
        if action is None:
            reject("action_id", f"no action {command.action_id} is planned")
        if action.done:
            reject("action_id", f"action {command.action_id} is done already")
        if action.owner != context.actor:
            raise NotAuthorizedError(
                f"action {action.action_id} belongs to {action.owner}, not {context.actor}"
            )
        data = {
            "action_id": action.action_id,
            "evidence": require_blobs("evidence", command.evidence),
            "note": command.note.strip(),
        }
        return [("finding.action_completed", data)]
    if isinstance(command, ChangeDueDate):
        _expect(
            state,
            "raised",
            "contained",
            "cause_analysed",
            "actions_planned",
            "actions_done",
            "verified",
        )
        reason = require_reason(command.reason)
        new = command.due_on.isoformat()
        if new == state.due_on:
            reject("due_on", "the due date is unchanged")
        data = {
            "old": {"due_on": state.due_on},
            "new": {"due_on": new},
            "reason": reason,
        }
        return [("finding.due_date_changed", data)]
    if isinstance(command, VerifyEffectiveness):
        _expect(state, "actions_done")
        if context.actor == state.raised_by:
            raise NotAuthorizedError(
                f"{context.actor} raised this finding and may not verify its effectiveness"
            )
        if any(a.owner == context.actor for a in state.actions.values()):
            raise NotAuthorizedError(
                f"{context.actor} owns an action of this finding and may not verify it"
            )
        if (
            state.unit is not None
            and context.user_units.get(context.actor) == state.unit
        ):
            raise NotAuthorizedError(
                f"{context.actor} belongs to unit {state.unit} and may not verify its "
                "own finding's effectiveness (auditor independence, ISO 19011)"
            )
        comment = require_text("comment", command.comment)
        content = signed_content(state, command.effective, comment)
        esig = signed(context, "approved", content)
        data = {"effective": command.effective, "comment": comment, "esig": dict(esig)}
        return [("finding.verified", data)]
    if isinstance(command, CloseFinding):
        if state.status is not None and not state.verified_effective:
            reject("status", "a finding closes only after an effective verification")
        _expect(state, "verified")
        return [("finding.closed", {"closed_on": command.closed_on.isoformat()})]
    if isinstance(command, ReopenFinding):
        _expect(state, "closed")
        return [("finding.reopened", {"reason": require_reason(command.reason)})]
    raise unknown_command(command)


def esig_subject(
    state: FindingState, event: RecordedEvent
) -> tuple[JSONObject, str] | None:
    """Return (content, expected subject_sha256) for a sign-off event on `state`."""
    if event.type != "finding.verified":
        return None
    content = signed_content(
        state, event.data["effective"] is True, str(event.data["comment"])
    )
    return content, subject_sha256(event.stream, state.version, content)
