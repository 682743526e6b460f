"""Units (headquarters, bureaus, departments) forming one tree. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ledger.domain import (
    Command,
    Context,
    Data,
    Decision,
    reject,
    require_reason,
    require_text,
    unknown_command,
)
from ledger.integrity.envelope import RecordedEvent

UNIT_CODE_RE = re.compile(r"[A-Z0-9-]{2,20}")
HQ_CODE = "HQ"  # the unit code of the headquarters a new ledger is set up with
KINDS = ("headquarters", "bureau", "department")


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitCommand(Command):
    """A command on one unit."""

    code: str

    @property
    def stream(self) -> str:
        """The unit's stream."""
        return f"unit/{self.code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUnit(UnitCommand):
    """Create a unit under its parent (only a headquarters has none)."""

    name_zh: str
    name_en: str
    kind: str
    parent: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameUnit(UnitCommand):
    """Rename a unit, with a reason."""

    name_zh: str
    name_en: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseUnit(UnitCommand):
    """Close a unit, with a reason."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitState:
    """A unit folded from its stream."""

    version: int = 0
    kind: str | None = None
    parent: str | None = None
    name_zh: str = ""
    name_en: str = ""
    closed: bool = False


def fold(state: UnitState, event: RecordedEvent) -> UnitState:
    """Return the state after `event`."""
    data = event.data
    state = replace(state, version=event.version)
    if event.type == "unit.created":
        parent = data.get("parent")
        return replace(
            state,
            kind=str(data["kind"]),
            parent=str(parent) if parent else None,
            name_zh=str(data["name_zh"]),
            name_en=str(data["name_en"]),
        )
    if event.type == "unit.renamed":
        new = data["new"]
        if isinstance(new, dict):
            return replace(
                state, name_zh=str(new["name_zh"]), name_en=str(new["name_en"])
            )
    if event.type == "unit.closed":
        return replace(state, closed=True)
    return state


def decide(state: UnitState, command: UnitCommand, context: Context) -> Decision:
    """Return the events `command` produces on `state`.

    Raises:
        EventRejectedError: the code, kind or parent is wrong, or the unit is closed.
    """
    if isinstance(command, CreateUnit):
        if state.version:
            reject("code", f"unit {command.code} exists already")
        if not UNIT_CODE_RE.fullmatch(command.code):
            reject("code", "a unit code is 2-20 of A-Z, 0-9 and -")
        if command.kind not in KINDS:
            reject("kind", f"kind must be one of {', '.join(KINDS)}")
        if command.kind == "headquarters":
            if command.parent is not None:
                reject("parent", "a headquarters has no parent")
            if "headquarters" in context.units.values():
                reject("kind", "there is one headquarters")
        elif command.parent is None:
            reject("parent", "only a headquarters has no parent")
        elif command.parent not in context.units:
            reject(
                "parent", f"parent unit {command.parent} does not exist or is closed"
            )
        data: Data = {
            "code": command.code,
            "name_zh": require_text("name_zh", command.name_zh),
            "name_en": require_text("name_en", command.name_en),
            "kind": command.kind,
            "parent": command.parent,
        }
        return [("unit.created", data)]
    if not state.version:
        reject("code", f"unit {command.code} does not exist")
    if state.closed:
        reject("status", f"unit {command.code} is closed")
    if isinstance(command, RenameUnit):
        reason = require_reason(command.reason)
        new = {
            "name_zh": require_text("name_zh", command.name_zh),
            "name_en": require_text("name_en", command.name_en),
        }
        old = {"name_zh": state.name_zh, "name_en": state.name_en}
        if new == old:
            reject("name_en", "the names are unchanged")
        return [
            ("unit.renamed", {"old": dict(old), "new": dict(new), "reason": reason})
        ]
    if isinstance(command, CloseUnit):
        return [("unit.closed", {"reason": require_reason(command.reason)})]
    raise unknown_command(command)
