"""Registers and records as known now and as known at T, on both dialects."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.clock import FixedClock
from ledger.store import EventStore
from projections import queries as q
from projections.errors import RecordNotFoundError
from projections.folds.verdicts import is_met, target_in_force
from tests.projections import scenario


@pytest.fixture
def moments(store: EventStore, clock: FixedClock) -> dict[str, datetime]:
    return scenario.build(store, clock)


def test_document_register_covers_the_unit_subtree(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    e = store.engine
    assert [d.doc_id for d in q.document_register(e, store, unit="B01")] == [
        "QP-07",
        "QP-09",
    ]
    assert [
        d.doc_id for d in q.document_register(e, store, unit="B01", subtree=False)
    ] == ["QP-07"]
    assert [d.doc_id for d in q.document_register(e, store)] == [
        "QP-07",
        "QP-09",
        "QP-10",
    ]
    assert [d.doc_id for d in q.document_register(e, store, status="drafted")] == [
        "QP-09"
    ]


def test_document_keeps_every_revision_and_answers_as_of(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    now = q.document(store.engine, store, "QP-07")
    assert (now.status, now.effective_revision, now.latest_revision) == (
        "effective",
        "B",
        "B",
    )
    assert [(r.revision, r.status) for r in now.revisions] == [
        ("A", "superseded"),
        ("B", "effective"),
    ]
    assert now.revisions[0].superseded_by == "B"
    assert now.revisions[1].approved_by == "bob"
    assert now.revisions[1].author == "alice"

    then = q.document(store.engine, store, "QP-07", as_of=moments["qp07_a"])
    assert then.effective_revision == "A"
    assert [(r.revision, r.status) for r in then.revisions] == [("A", "effective")]

    with pytest.raises(RecordNotFoundError):
        q.document(store.engine, store, "QP-07", as_of=moments["setup"])


def test_finding_with_actions_as_of(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    half = q.finding(store.engine, store, "2026-0001", as_of=moments["f1_half"])
    assert half.status == "actions_planned"
    assert [(a.action_id, a.status) for a in half.actions] == [
        ("A1", "done"),
        ("A2", "planned"),
    ]
    now = q.finding(store.engine, store, "2026-0001")
    assert (now.status, now.closed_on, now.verified_effective) == (
        "closed",
        "2026-01-15",
        True,
    )
    assert [a.status for a in now.actions] == ["done", "done"]

    register = q.finding_register(store.engine, store, open_only=True)
    assert [f.finding_id for f in register] == ["2026-0002", "2026-0003"]
    assert [
        f.finding_id for f in q.finding_register(store.engine, store, unit="B02")
    ] == ["2026-0003"]


def test_indicator_value_as_best_known_now_and_as_known_then(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    e = store.engine
    best = q.indicator_value(e, store, "KPI-1", "2026-01")
    assert best is not None
    assert (best.value, best.first_value, best.corrections) == ("94.00", "96.00", 1)
    assert (best.target, best.met) == ("95.00", False)
    known = q.indicator_value(
        e, store, "KPI-1", "2026-01", as_of=moments["kpi_measured"]
    )
    assert known is not None
    assert (known.value, known.corrections, known.met) == ("96.00", 0, True)
    assert (
        q.indicator_value(e, store, "KPI-1", "2026-02", as_of=moments["kpi_measured"])
        is None
    )

    kpi = q.indicator(e, store, "KPI-1")
    assert [(t.effective_from, t.target) for t in kpi.targets] == [
        ("2026-01", "95.00"),
        ("2026-02", "97.00"),
    ]
    assert [(m.period, m.target, m.met) for m in kpi.measurements] == [
        ("2026-01", "95.00", False),
        ("2026-02", "97.00", True),
        ("2026-03", "97.00", False),
    ]


def test_units_users_audits_reviews(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    e = store.engine
    tree = {u.code: u for u in q.unit_tree(e, store)}
    assert tree["HQ"].children == ("B01", "B02")
    assert tree["B01"].children == ("D01",)
    assert q.unit_subtree(e, store, "B01") == ["B01", "D01"]
    assert q.unit_tree(e, store, as_of=moments["before"]) == []

    bob = q.user(e, store, "bob")
    assert [(r.role, r.scope) for r in bob.roles] == [
        ("approver", "HQ"),
        ("auditor", "HQ"),
    ]
    assert [u.user_id for u in q.user_list(e, store, unit="B01")] == ["alice"]

    statuses = {a.audit_id: a.status for a in q.audit_list(e, store)}
    assert statuses == {
        "2026-01": "closed",
        "2026-02": "planned",
        "2026-03": "cancelled",
    }
    assert q.audit(e, store, "2026-01", as_of=moments["raised"]).status == "reported"

    (review,) = q.review_list(e, store)
    assert (review.review_id, review.decisions) == ("MR-2026-1", ("keep KPI-1",))
    assert q.review_list(e, store, as_of=moments["kpi_corrected"]) == []


def test_period_targets_respect_quarters_and_years() -> None:
    targets = [("2025", "90"), ("2026-Q2", "95")]
    assert target_in_force(targets, "2026-03") == "90"
    assert target_in_force(targets, "2026-04") == "95"
    assert target_in_force(targets, "2024") is None
    assert is_met("lower_is_better", "3.5", "4") is True
    assert is_met("higher_is_better", "3.5", "4") is False


def test_the_histories_used_here_follow_the_event_catalogue(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    """Guards the tests themselves: scenario and simulation events are valid data."""
    from ledger import catalog
    from tests.projections.simulation import Simulation, choices

    recorded = [e for e in store.read() if not e.stream.startswith("ledger/")]
    sim = Simulation()
    simulated = [e for pick in choices(2000) for e in sim.step(pick)]
    for etype, data in [(e.type, e.data) for e in recorded] + [
        (e.type, e.data) for e in simulated
    ]:
        catalog.validate(etype, data)
    assert {e.type for e in simulated} == set(catalog.event_types()) - {
        t for t in catalog.event_types() if t.startswith("ledger.")
    }
