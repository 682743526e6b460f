"""A person's own page lists what waits for them: revisions to review, actions, measurements."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.domain import findings as f
from ledger.domain import indicators as i
from ledger.service import Service
from ledger.store import EventStore
from projections import queries as q
from projections.errors import RecordNotFoundError
from projections.runner import InlineProjector
from tests.support.service import blob, build_service, draft


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    return build_service(store, clock, projectors=[InlineProjector()])


def _tasks(service: Service, user_id: str, today: date = date(2026, 6, 10)) -> q.Tasks:
    return q.open_tasks(service.store.engine, service.store, user_id, today=today)


def test_a_submitted_revision_waits_for_the_approver_not_its_author(
    service: Service, clock: FixedClock
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    assert _tasks(service, "bob").documents == ()
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    submitted = clock.now()
    clock.advance(hours=1)
    assert [(t.doc_id, t.step) for t in _tasks(service, "bob").documents] == [
        ("QP-07", "review")
    ]
    assert _tasks(service, "alice").documents == ()
    assert _tasks(service, "zoe").documents == ()  # an author of another bureau
    service.handle(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    assert [t.step for t in _tasks(service, "bob").documents] == ["approve"]
    # As known when it was only submitted, the task was to review it.
    then = q.open_tasks(
        service.store.engine,
        service.store,
        "bob",
        today=date(2026, 6, 10),
        as_of=submitted,
    )
    assert [t.step for t in then.documents] == ["review"]


def test_actions_the_person_owns_until_done(service: Service) -> None:
    service.handle(
        f.RaiseFinding(
            finding_id="2026-0042",
            unit="B1",
            source="complaint",
            classification="minor",
            criterion={"clause": "7.5.3"},
            description="Unindexed",
            evidence=[blob(service.store, "photo")],
            due_on=date(2026, 9, 1),
        ),
        "carol",
    )
    service.handle(
        f.ContainFinding(finding_id="2026-0042", action="Quarantine"), "dave"
    )
    service.handle(
        f.AnalyseCause(finding_id="2026-0042", cause="No index", method="5 whys"),
        "dave",
    )
    service.handle(
        f.PlanActions(
            finding_id="2026-0042",
            actions=[
                f.ActionPlan(
                    action_id="A2",
                    description="Train",
                    owner="dave",
                    due_on=date(2026, 7, 1),
                ),
                f.ActionPlan(
                    action_id="A1",
                    description="Index",
                    owner="dave",
                    due_on=date(2026, 6, 1),
                ),
            ],
        ),
        "mia",
    )
    actions = _tasks(service, "dave").actions
    assert [(a.action_id, a.due_on, a.overdue) for a in actions] == [
        ("A1", "2026-06-01", True),
        ("A2", "2026-07-01", False),
    ]
    assert _tasks(service, "mia").actions == ()
    service.handle(f.CompleteAction(finding_id="2026-0042", action_id="A1"), "dave")
    assert [a.action_id for a in _tasks(service, "dave").actions] == ["A2"]


def test_the_last_ended_period_of_an_owned_indicator_until_measured(
    service: Service,
) -> None:
    service.handle(
        i.DefineIndicator(
            indicator_id="B1-OTR",
            unit="B1",
            owner="dave",
            name="On-time reports",
            measure="%",
            direction="higher_is_better",
            target="95.00",
            frequency="monthly",
            method="count",
            effective_from="2026-01",
        ),
        "mia",
    )
    assert [
        (m.indicator_id, m.period) for m in _tasks(service, "dave").measurements
    ] == [("B1-OTR", "2026-05")]
    assert (
        _tasks(service, "dave", date(2026, 1, 15)).measurements == ()
    )  # 2025-12: before
    assert _tasks(service, "mia").measurements == ()
    service.handle(
        i.RecordMeasurement(indicator_id="B1-OTR", period="2026-05", value="96.00"),
        "dave",
    )
    assert _tasks(service, "dave").measurements == ()
    assert _tasks(service, "dave").count == 0


@pytest.mark.parametrize(
    ("frequency", "today", "period"),
    [
        ("monthly", date(2026, 1, 1), "2025-12"),
        ("monthly", date(2026, 3, 31), "2026-02"),
        ("quarterly", date(2026, 3, 31), "2025-Q4"),
        ("quarterly", date(2026, 4, 1), "2026-Q1"),
        ("quarterly", date(2026, 12, 31), "2026-Q3"),
        ("yearly", date(2026, 6, 1), "2025"),
    ],
)
def test_last_ended_period(frequency: str, today: date, period: str) -> None:
    assert q.last_ended_period(frequency, today) == period


def test_an_unknown_person_is_not_found(service: Service) -> None:
    with pytest.raises(RecordNotFoundError):
        _tasks(service, "nobody")
