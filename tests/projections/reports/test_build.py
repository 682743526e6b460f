"""The QMS status report as known at T: contents, stability, prefix replay, renderings."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from ledger.clock import FixedClock
from ledger.store import EventStore
from projections.reports import build_report
from projections.runner import InlineProjector, rebuild
from tests.support import scenario
from tests.support.projections import EngineFactory, feed
from tests.support.simulation import choices


def test_report_counts_what_the_unit_subtree_holds_at_t(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    as_of = moments["end"] + timedelta(days=30)
    data = json.loads(build_report(store.engine, store, as_of=as_of).to_json())
    assert data["ledger"]["size"] == store.size()
    assert data["ledger"]["root"] == store.root(store.size()).hex()
    assert data["units"] == ["B01", "B02", "D01", "HQ"]
    assert data["documents"]["by_status"] == {"drafted": 1, "effective": 2}
    assert [d["doc_id"] for d in data["documents"]["overdue_reviews"]] == ["QP-10"]
    findings = data["findings"]
    assert findings["open_by_classification"] == {
        "major": 0,
        "minor": 1,
        "observation": 1,
        "opportunity": 0,
    }
    assert [f["finding_id"] for f in findings["overdue"]] == ["2026-0002"]
    assert (findings["median_days_to_close"], findings["on_time_closure_percent"]) == (
        "10.0",
        "100.0",
    )
    assert data["audits"]["by_programme"] == {
        "2026": {"cancelled": 1, "done": 1, "planned": 2}
    }
    (kpi,) = data["indicators"]
    assert [(p["period"], p["met"]) for p in kpi["periods"]] == [
        ("2026-01", False),
        ("2026-02", True),
        ("2026-03", False),
    ]
    assert (kpi["met"], kpi["missed"]) == (1, 2)

    b01 = json.loads(
        build_report(store.engine, store, as_of=as_of, unit="B01").to_json()
    )
    assert b01["units"] == ["B01", "D01"]
    assert b01["findings"]["total"] == 2
    assert b01["audits"]["planned"] == 2


@pytest.mark.usefixtures("moments")  # the scenario's units and history
def test_closing_on_the_due_day_is_in_time_and_due_today_is_not_overdue(
    store: EventStore, clock: FixedClock
) -> None:
    """The boundaries a certifier checks: a finding closed on its due day closed in
    time, one closed a day after it did not; one due today is not overdue yet, one
    due yesterday is."""
    clock.advance(days=1)
    today = clock.now().date()

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    cases = {  # finding: (due on, closed on)
        "2026-0101": (day(0), day(0)),
        "2026-0102": (day(-1), day(0)),
        "2026-0103": (day(2), day(0)),
        "2026-0104": (day(0), None),
        "2026-0105": (day(-1), None),
    }
    events = []
    for fid, (due, closed) in cases.items():
        stream = f"finding/{fid}"
        events.append(
            scenario.ev(
                stream,
                "finding.raised",
                "bob",
                unit="B02",
                source="internal_audit",
                classification="minor",
                criterion={"clause": "8.7"},
                description="records kept late",
                evidence=[],
                due_on=due,
                audit=None,
            )
        )
        if closed is not None:
            events.append(
                scenario.ev(stream, "finding.closed", "bob", closed_on=closed)
            )
    store.append(events, projectors=[InlineProjector()])
    as_of = clock.now() + timedelta(seconds=1)
    assert as_of.date() == today
    data = json.loads(
        build_report(store.engine, store, as_of=as_of, unit="B02").to_json()
    )
    findings = data["findings"]
    assert findings["closed"] == 3
    assert findings["on_time_closure_percent"] == "66.7"  # 0101 and 0103 of three
    assert [f["finding_id"] for f in findings["overdue"]] == ["2026-0105"]


def test_report_as_of_t_is_byte_identical_after_more_events_and_equals_a_prefix_replay(
    store: EventStore,
    clock: FixedClock,
    moments: dict[str, datetime],
    engines: EngineFactory,
) -> None:
    as_of = moments["f1_half"]
    first = build_report(store.engine, store, as_of=as_of, unit="B01")
    rendered = (first.to_json(), first.to_csv(), first.to_html())

    feed(store, clock, choices(40))  # more history after T
    again = build_report(store.engine, store, as_of=as_of, unit="B01")
    assert (again.to_json(), again.to_csv(), again.to_html()) == rendered

    replay = engines()
    rebuild(replay, store, upto=store.size_at(as_of))
    replayed = build_report(replay, store, as_of=as_of, unit="B01")
    assert (replayed.to_json(), replayed.to_csv(), replayed.to_html()) == rendered


def test_report_renders_csv_and_printable_html(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    report = build_report(store.engine, store, as_of=moments["end"])
    rows = list(csv.reader(io.StringIO(report.to_csv())))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["ledger", "", "size", str(store.size())] in rows
    assert ["findings", "open_by_classification", "minor", "1"] in rows
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "Open findings by classification" in page
    assert report.sha256() in page
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
