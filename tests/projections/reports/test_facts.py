"""What the report counts: the median, and sections that agree with the registers at T."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import queries as q
from projections.reports import build_report
from projections.reports.facts import median
from tests.support.projections import START, EngineFactory, feed, fresh_store
from tests.support.simulation import Simulation, choices


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=60))
def test_median_days_from_counts_is_the_median_of_the_values(values: list[int]) -> None:
    """The report counts days to close in the database; its median is the list's."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if not ordered:
        expected = None
    elif len(ordered) % 2:
        expected = f"{Decimal(ordered[mid]):.1f}"
    else:
        expected = f"{(Decimal(ordered[mid - 1]) + Decimal(ordered[mid])) / 2:.1f}"
    assert median(Counter(values)) == expected


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picks=st.lists(st.integers(0, 10**6), min_size=5, max_size=120),
    cut=st.integers(0, 10**6),
    unit=st.sampled_from([None, "B01", "B02"]),
)
def test_report_sections_agree_with_the_registers_as_known_at_t(
    engines: EngineFactory, picks: list[int], cut: int, unit: str | None
) -> None:
    """What the report counts in the database equals what the registers list."""
    store, clock = fresh_store(engines)
    feed(store, clock, [*choices(60), *picks], sim=Simulation(), hours=2)
    hours = 2 * (cut % (len(picks) + 62))
    as_of = START + timedelta(hours=hours, minutes=30)
    today = as_of.date().isoformat()
    data = json.loads(
        build_report(store.engine, store, as_of=as_of, unit=unit).to_json()
    )
    register = q.finding_register(store.engine, store, unit=unit, as_of=as_of)
    still_open = [f for f in register if f.status != "closed"]
    closed = [f for f in register if f.status == "closed" and f.closed_on]
    days = [
        (
            datetime.fromisoformat(f.closed_on or "")
            - datetime.fromisoformat(f.raised_on)
        ).days
        for f in closed
    ]
    in_time = sum(1 for f in closed if (f.closed_on or "") <= f.due_on)
    expected_findings = {
        "total": len(register),
        "open": len(still_open),
        "open_by_classification": {
            **dict.fromkeys(("major", "minor", "observation", "opportunity"), 0),
            **Counter(f.classification for f in still_open),
        },
        "overdue": [
            {
                "finding_id": f.finding_id,
                "classification": f.classification,
                "unit": f.unit,
                "due_on": f.due_on,
            }
            for f in still_open
            if f.due_on and f.due_on < today
        ],
        "closed": len(closed),
        "median_days_to_close": median(Counter(days)),
        "on_time_closure_percent": (
            str(
                (Decimal(in_time) * 100 / len(closed)).quantize(
                    Decimal("0.1"), rounding=ROUND_HALF_UP
                )
            )
            if closed
            else None
        ),
    }
    assert data["findings"] == expected_findings
    views = q.indicator_list(store.engine, store, unit=unit, as_of=as_of)
    assert [
        (
            i["indicator_id"],
            [(p["period"], p["value"], p["target"], p["met"]) for p in i["periods"]],
        )
        for i in data["indicators"]
    ] == [
        (v.indicator_id, [(m.period, m.value, m.target, m.met) for m in v.measurements])
        for v in views
    ]
    assert [(i["met"], i["missed"]) for i in data["indicators"]] == [
        (
            sum(m.met is True for m in v.measurements),
            sum(m.met is False for m in v.measurements),
        )
        for v in views
    ]
