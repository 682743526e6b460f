"""The indicators fold keeps each measurement's verdict as it was known at each position."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import RowMapping, select

from ledger.clock import FixedClock
from ledger.store import EventStore
from projections.folds.verdicts import is_met, target_in_force
from projections.tables import indicator_measurements, indicator_targets, indicators
from tests.support.projections import feed
from tests.support.simulation import choices


def _valid_at(rows: Sequence[RowMapping], n: int) -> list[RowMapping]:
    return [
        r
        for r in rows
        if r["valid_from"] <= n and (r["valid_to"] is None or r["valid_to"] > n)
    ]


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), max_size=150))
def test_each_measurement_keeps_its_verdict_as_known_at_each_position(
    store: EventStore, clock: FixedClock, picks: list[int]
) -> None:
    """The stored target and verdict of every measurement valid at n are those the
    targets and direction valid at n give, whatever target changes came later."""
    start = store.size()
    feed(store, clock, [*choices(40), *picks])
    with store.engine.connect() as conn:
        measured = conn.execute(select(indicator_measurements)).mappings().all()
        targets = conn.execute(select(indicator_targets)).mappings().all()
        defined = conn.execute(select(indicators)).mappings().all()
    for n in range(max(1, start), store.size() + 1):
        laws = {
            str(r["indicator_id"]): str(r["direction"]) for r in _valid_at(defined, n)
        }
        for m in _valid_at(measured, n):
            iid, period = str(m["indicator_id"]), str(m["period"])
            target = target_in_force(
                (
                    (str(t["effective_from"]), str(t["target"]))
                    for t in _valid_at(targets, n)
                    if t["indicator_id"] == iid
                ),
                period,
            )
            assert (m["target"], m["met"], m["begins"]) == (
                target,
                is_met(laws[iid], str(m["value"]), target),
                int(period[:4]) * 100 + int(period[5:7]),
            ), (iid, period, n)


def test_a_target_change_rejudges_the_periods_it_reaches_from_its_event_on(
    store: EventStore, clock: FixedClock
) -> None:
    feed(store, clock, choices(300))
    changes = {
        e.seq: e
        for e in store.read(1, store.size())
        if e.type == "indicator.target_changed"
    }
    with store.engine.connect() as conn:
        measured = conn.execute(select(indicator_measurements)).mappings().all()
    by_key: dict[tuple[str, str, int], RowMapping] = {
        (str(m["indicator_id"]), str(m["period"]), int(m["valid_from"])): m
        for m in measured
    }
    rejudged = [
        (m, by_key[(str(m["indicator_id"]), str(m["period"]), int(m["valid_to"]))])
        for m in measured
        if m["valid_to"] in changes
    ]
    assert rejudged, "scenario changes a target after periods were measured"
    for before, after in rejudged:
        change = changes[int(before["valid_to"])]
        assert change.stream == f"indicator/{before['indicator_id']}"
        assert after["target"] == change.data["new"]["target"]  # type: ignore[index]
        assert before["target"] != after["target"]
        assert before["value"] == after["value"]
