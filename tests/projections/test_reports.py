"""The QMS status report as known at T: contents, stability, prefix replay."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.clock import FixedClock
from ledger.integrity import merkle
from ledger.integrity.checkpoint import verify_checkpoint
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore
from projections import queries as q
from projections.reports import build_report
from projections.reports.facts import median
from projections.runner import InlineProjector, rebuild
from tests.projections import scenario
from tests.projections.conftest import ORIGIN, START, EngineFactory
from tests.projections.helpers import feed
from tests.projections.simulation import Simulation, choices


@pytest.fixture
def moments(store: EventStore, clock: FixedClock) -> dict[str, datetime]:
    return scenario.build(store, clock)


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


def test_report_carries_a_checkpoint_that_verifies(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    report = build_report(store.engine, store, as_of=moments["raised"])
    stamp = report.data["ledger"]
    assert isinstance(stamp, dict)
    n = store.size_at(moments["raised"])
    assert stamp["size"] == n < store.size()
    checkpoint = verify_checkpoint(
        str(stamp["checkpoint"]), store.origin, [store.signer.public_raw]
    )
    assert (checkpoint.size, checkpoint.root) == (n, store.root(n))
    assert report.sha256() == hashlib.sha256(report.to_json()).hexdigest()


def test_report_of_a_size_a_rotated_key_alone_could_sign_carries_its_epoch_checkpoint(
    store: EventStore, clock: FixedClock, moments: dict[str, datetime]
) -> None:
    """After a key rotation a size of the old key's epoch gets no checkpoint of its
    own; the report carries the one the rotation stored, with a consistency proof
    from its own root, chosen the same way whenever it is regenerated."""
    signed_before = build_report(store.engine, store, as_of=moments["qp07_b"])
    as_of = moments["raised"]
    n = store.size_at(as_of)
    assert store.checkpoint_for(n) is None
    store.checkpoint(n + 1)  # an earlier checkpoint inside the epoch, not chosen
    old = store.signer
    sealed = store.size()
    store.rotate_ledger_key(SigningKey.generate())
    feed(store, clock, choices(20))
    store.checkpoint(sealed + 1)  # the new key signs from here: outside the epoch
    store.checkpoint()

    report = build_report(store.engine, store, as_of=as_of)
    stamp = report.data["ledger"]
    assert isinstance(stamp, dict)
    assert (stamp["size"], stamp["checkpoint"]) == (n, None)
    covering = stamp["checkpoint_covering"]
    assert isinstance(covering, dict)
    assert sorted(covering) == ["consistency_proof", "note"]
    checkpoint = verify_checkpoint(str(covering["note"]), ORIGIN, [old.public_raw])
    assert (checkpoint.size, checkpoint.root) == (sealed, store.root(sealed))
    proof = covering["consistency_proof"]
    assert isinstance(proof, list)
    root = bytes.fromhex(str(stamp["root"]))
    hashes = [bytes.fromhex(str(h)) for h in proof]
    assert merkle.verify_consistency(n, sealed, hashes, root, checkpoint.root)
    assert not merkle.verify_consistency(
        n, sealed, hashes, store.root(n + 1), checkpoint.root
    )
    assert str(covering["note"]) in html.unescape(report.to_html())
    assert "ledger,checkpoint_covering,note," in report.to_csv()

    rendered = (report.to_json(), report.to_csv(), report.to_html())
    feed(store, clock, choices(20))
    store.checkpoint()
    again = build_report(store.engine, store, as_of=as_of)
    assert (again.to_json(), again.to_csv(), again.to_html()) == rendered
    # A report whose size had a checkpoint before the rotation keeps its bytes.
    kept = build_report(store.engine, store, as_of=moments["qp07_b"])
    assert kept.to_json() == signed_before.to_json()
    assert "checkpoint_covering" not in kept.to_json().decode()


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


def _fresh_store(engines: EngineFactory) -> tuple[EventStore, FixedClock]:
    """A new initialized ledger in a database of its own, with its clock at START."""
    clock = FixedClock(START)
    store = EventStore(engines(), SigningKey.generate(), ORIGIN, clock=clock)
    store.initialize()
    return store, clock


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picks=st.lists(st.integers(0, 10**6), min_size=2, max_size=40),
    cut=st.integers(0, 10**6),
)
def test_views_as_of_random_t_equal_a_replay_of_the_prefix(
    engines: EngineFactory, picks: list[int], cut: int
) -> None:
    store, clock = _fresh_store(engines)
    feed(store, clock, picks, sim=Simulation(), hours=2)
    as_of = START + timedelta(hours=2 * (cut % (len(picks) + 1)), minutes=30)
    n = store.size_at(as_of)
    replay = engines()
    rebuild(replay, store, upto=n)

    def views(engine: object, at: datetime | None) -> tuple[object, ...]:
        e = engine  # the read-model database
        return (
            q.unit_tree(e, store, as_of=at),  # type: ignore[arg-type]
            q.user_list(e, store, as_of=at),  # type: ignore[arg-type]
            q.document_register(e, store, as_of=at),  # type: ignore[arg-type]
            q.audit_list(e, store, as_of=at),  # type: ignore[arg-type]
            q.finding_register(e, store, as_of=at),  # type: ignore[arg-type]
            q.indicator_list(e, store, as_of=at),  # type: ignore[arg-type]
            q.review_list(e, store, as_of=at),  # type: ignore[arg-type]
        )

    assert views(store.engine, as_of) == views(replay, None)
    assert (
        build_report(store.engine, store, as_of=as_of).to_json()
        == build_report(replay, store, as_of=as_of).to_json()
    )


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
    store, clock = _fresh_store(engines)
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
