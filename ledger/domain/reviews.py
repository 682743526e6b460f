"""Management reviews [ISO 9001 9.3]: held once, inputs pinned by digests. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from ledger.domain import Command, Context, Data, Decision, reject, require_text
from ledger.integrity.blobs import is_digest
from ledger.integrity.canonical import JSONValue
from ledger.integrity.envelope import RecordedEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewAction:
    """An action decided by a management review."""

    description: str
    owner: str
    due_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldManagementReview(Command):
    """Record a management review with its pinned inputs, decisions and actions."""

    review_id: str
    unit: str
    held_on: date
    attendees: Sequence[str]
    inputs: Sequence[Mapping[str, JSONValue]] = ()
    decisions: Sequence[str] = ()
    actions: Sequence[ReviewAction] = ()

    @property
    def stream(self) -> str:
        """The review's stream."""
        return f"review/{self.review_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewState:
    """A management review folded from its stream."""

    version: int = 0
    unit: str | None = None


def fold(state: ReviewState, event: RecordedEvent) -> ReviewState:
    """Return the state after `event`."""
    unit = event.data.get("unit")
    return replace(state, version=event.version, unit=str(unit) if unit else state.unit)


def _inputs(inputs: Sequence[Mapping[str, JSONValue]]) -> list[JSONValue]:
    out: list[JSONValue] = []
    for item in inputs:
        size, digest = item.get("size"), item.get("sha256")
        if type(size) is not int or not (isinstance(digest, str) and is_digest(digest)):
            reject(
                "inputs",
                "every input names the report, unit, as_of, ledger size and sha256",
            )
        out.append(
            {
                "report": str(item.get("report", "")),
                "unit": str(item.get("unit", "")),
                "as_of": str(item.get("as_of", "")),
                "size": size,
                "sha256": digest,
            }
        )
    return out


def decide(
    state: ReviewState, command: HoldManagementReview, context: Context
) -> Decision:
    """Return the events of holding the review.

    Raises:
        EventRejectedError: the review exists already or its content is incomplete.
    """
    if state.version:
        reject("review_id", f"review {command.review_id} exists already")
    if context.units and command.unit not in context.units:
        reject("unit", f"unit {command.unit} does not exist or is closed")
    attendees = list(dict.fromkeys(a for a in command.attendees if a))
    if not attendees:
        reject("attendees", "name the attendees")
    decisions: list[JSONValue] = [d.strip() for d in command.decisions if d.strip()]
    actions: list[JSONValue] = [
        {
            "description": require_text(
                "actions", a.description, "every action needs a description"
            ),
            "owner": require_text("actions", a.owner, "every action needs an owner"),
            "due_on": a.due_on.isoformat(),
        }
        for a in command.actions
    ]
    data: Data = {
        "unit": command.unit,
        "held_on": command.held_on.isoformat(),
        "attendees": list(attendees),
        "inputs": _inputs(command.inputs),
        "decisions": decisions,
        "actions": actions,
    }
    return [("review.held", data)]
