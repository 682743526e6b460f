"""Indicators and quality objectives [ISO 9001 6.2, 9.1]. Pure.

A measurement for a period is recorded once; a later change is a correction event
carrying the old and the new value and a reason, so the original stays on record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ledger.domain import (
    Command,
    Context,
    Data,
    Decision,
    reject,
    require_decimal,
    require_reason,
    require_text,
    unknown_command,
)
from ledger.errors import NotAuthorizedError
from ledger.integrity.envelope import RecordedEvent

DIRECTIONS = ("higher_is_better", "lower_is_better")
PERIOD_RE = {
    "monthly": re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])"),
    "quarterly": re.compile(r"[0-9]{4}-Q[1-4]"),
    "yearly": re.compile(r"[0-9]{4}"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorCommand(Command):
    """A command on one indicator."""

    indicator_id: str

    @property
    def stream(self) -> str:
        """The indicator's stream."""
        return f"indicator/{self.indicator_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DefineIndicator(IndicatorCommand):
    """Define an indicator (a quality objective) of a unit."""

    unit: str
    owner: str
    name: str
    measure: str
    direction: str
    target: str
    frequency: str
    method: str
    effective_from: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeTarget(IndicatorCommand):
    """Change the target from a period on, with a reason."""

    target: str
    effective_from: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordMeasurement(IndicatorCommand):
    """Record the value of one period (once)."""

    period: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectMeasurement(IndicatorCommand):
    """Correct a recorded value, keeping the original on record."""

    period: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RetireIndicator(IndicatorCommand):
    """Retire the indicator."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorState:
    """An indicator folded from its stream."""

    indicator_id: str = ""
    version: int = 0
    unit: str | None = None
    owner: str | None = None
    frequency: str | None = None
    target: str | None = None
    effective_from: str | None = None
    retired: bool = False
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        """Whether the indicator has been defined."""
        return self.version > 0


def fold(state: IndicatorState, event: RecordedEvent) -> IndicatorState:
    """Return the state after `event`."""
    data = event.data
    state = replace(
        state, version=event.version, indicator_id=event.stream.split("/", 1)[1]
    )
    kind = event.type.split(".", 1)[1]
    if kind == "defined":
        return replace(
            state,
            unit=str(data["unit"]),
            owner=str(data["owner"]),
            frequency=str(data["frequency"]),
            target=str(data["target"]),
            effective_from=str(data["effective_from"]),
        )
    if kind == "target_changed":
        new = data["new"]
        return replace(
            state, target=str(new["target"]) if isinstance(new, Mapping) else None
        )
    if kind == "measured":
        return replace(
            state, values={**state.values, str(data["period"]): str(data["value"])}
        )
    if kind == "measurement_corrected":
        new = data["new"]
        value = str(new["value"]) if isinstance(new, Mapping) else ""
        return replace(state, values={**state.values, str(data["period"]): value})
    if kind == "retired":
        return replace(state, retired=True)
    return state


def _period(field_name: str, frequency: str, period: str) -> str:
    pattern = PERIOD_RE.get(frequency)
    if pattern is None or not pattern.fullmatch(period):
        reject(
            field_name,
            f"{period!r} is not a {frequency} period (YYYY-MM, YYYY-Qn or YYYY)",
        )
    return period


def _active(state: IndicatorState) -> str:
    if not state.exists:
        reject("indicator_id", f"indicator {state.indicator_id or '?'} does not exist")
    if state.retired:
        reject("status", "the indicator is retired")
    assert state.frequency is not None  # noqa: S101  # set by indicator.defined
    return state.frequency


def _define(
    state: IndicatorState, command: DefineIndicator, context: Context
) -> Decision:
    if state.exists:
        reject("indicator_id", f"indicator {command.indicator_id} exists already")
    if context.units and command.unit not in context.units:
        reject("unit", f"unit {command.unit} does not exist or is closed")
    if context.user_units and command.owner not in context.user_units:
        reject("owner", f"{command.owner} is not a registered user")
    if command.direction not in DIRECTIONS:
        reject("direction", "direction must be higher_is_better or lower_is_better")
    if command.frequency not in PERIOD_RE:
        reject("frequency", "frequency must be monthly, quarterly or yearly")
    data: Data = {
        "unit": command.unit,
        "owner": command.owner,
        "name": require_text("name", command.name),
        "measure": require_text("measure", command.measure),
        "direction": command.direction,
        "target": require_decimal("target", command.target),
        "frequency": command.frequency,
        "method": require_text("method", command.method),
        "effective_from": _period(
            "effective_from", command.frequency, command.effective_from
        ),
    }
    return [("indicator.defined", data)]


def decide(
    state: IndicatorState, command: IndicatorCommand, context: Context
) -> Decision:
    """Return the events `command` produces on `state`.

    Raises:
        EventRejectedError: a rule is broken (period format, duplicate measurement, ...).
        NotAuthorizedError: only the indicator's owner records its measurements.
    """
    if isinstance(command, DefineIndicator):
        return _define(state, command, context)
    frequency = _active(state)
    if isinstance(command, ChangeTarget):
        reason = require_reason(command.reason)
        target = require_decimal("target", command.target)
        if target == state.target:
            reject("target", "the target is unchanged")
        data: Data = {
            "old": {"target": state.target},
            "new": {"target": target},
            "effective_from": _period(
                "effective_from", frequency, command.effective_from
            ),
            "reason": reason,
        }
        return [("indicator.target_changed", data)]
    if isinstance(command, RecordMeasurement):
        if context.actor != state.owner:
            raise NotAuthorizedError(
                f"measurements of {state.indicator_id} are recorded by its owner {state.owner}"
            )
        period = _period("period", frequency, command.period)
        if state.effective_from is not None and period < state.effective_from:
            reject("period", f"the indicator applies from {state.effective_from}")
        if period in state.values:
            reject("period", f"{period} is recorded already; correct it instead")
        data = {
            "period": period,
            "value": require_decimal("value", command.value),
            "note": command.note.strip(),
        }
        return [("indicator.measured", data)]
    if isinstance(command, CorrectMeasurement):
        reason = require_reason(command.reason)
        period = _period("period", frequency, command.period)
        old = state.values.get(period)
        if old is None:
            reject("period", f"no value is recorded for {period}")
        value = require_decimal("value", command.value)
        if value == old:
            reject("value", "the value is unchanged")
        data = {
            "period": period,
            "old": {"value": old},
            "new": {"value": value},
            "reason": reason,
        }
        return [("indicator.measurement_corrected", data)]
    if isinstance(command, RetireIndicator):
        return [("indicator.retired", {"reason": require_reason(command.reason)})]
    raise unknown_command(command)
