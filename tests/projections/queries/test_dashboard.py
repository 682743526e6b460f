"""A unit's dashboard agrees with its registers, now and as known at an earlier moment."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from ledger.clock import FixedClock
from ledger.domain.findings import CLASSIFICATIONS
from ledger.store import EventStore
from projections import queries as q
from projections.queries.dashboard import HORIZON_DAYS, TREND_PERIODS
from tests.support.projections import feed
from tests.support.simulation import choices


@pytest.fixture
def history(store: EventStore, clock: FixedClock) -> datetime:
    feed(store, clock, choices(200, seed=21))
    middle = clock.now()
    feed(store, clock, choices(200, seed=22))
    return middle


def _check(
    store: EventStore, today: date, as_of: datetime | None, unit: str | None
) -> q.Dashboard:
    board = q.dashboard(store.engine, store, today=today, unit=unit, as_of=as_of)
    day = today.isoformat()
    horizon = (today + timedelta(days=HORIZON_DAYS)).isoformat()
    found = q.finding_register(
        store.engine, store, unit=unit, open_only=True, as_of=as_of
    )
    assert [c.classification for c in board.findings][: len(CLASSIFICATIONS)] == list(
        CLASSIFICATIONS
    )
    for count in board.findings:
        mine = [f for f in found if f.classification == count.classification]
        assert count.open == len(mine)
        assert count.overdue == sum(1 for f in mine if f.due_on < day)
    expected_actions = sorted(
        (a.due_on, f.finding_id, a.action_id)
        for f in found
        for a in q.finding(store.engine, store, f.finding_id, as_of=as_of).actions
        if a.status != "done" and a.due_on <= horizon
    )
    assert [
        (a.due_on, a.finding_id, a.action_id) for a in board.actions_due
    ] == expected_actions
    assert all(a.overdue == (a.due_on < day) for a in board.actions_due)
    expected_docs = sorted(
        (d.next_review_due, d.doc_id)
        for d in q.document_register(store.engine, store, unit=unit, as_of=as_of)
        if d.status == "effective"
        and d.next_review_due
        and d.next_review_due <= horizon
    )
    assert [(d.next_review_due, d.doc_id) for d in board.documents_due] == expected_docs
    audits = q.audit_list(store.engine, store, unit=unit, as_of=as_of)
    assert sum(p.planned for p in board.audits) == len(audits)
    for p in board.audits:
        year = [x for x in audits if x.planned_start.startswith(p.year)]
        assert p.planned == len(year)
        assert p.done == sum(1 for x in year if x.status in ("reported", "closed"))
        assert p.cancelled == sum(1 for x in year if x.status == "cancelled")
    indicators = q.indicator_list(store.engine, store, unit=unit, as_of=as_of)
    assert [t.indicator.indicator_id for t in board.indicators] == [
        i.indicator_id for i in indicators if i.status != "retired"
    ]
    for trend in board.indicators:
        periods = [m.period for m in trend.periods]
        assert periods == sorted(periods)
        assert len(periods) <= TREND_PERIODS
        assert trend.missed == sum(1 for m in trend.periods if m.met is False)
    return board


def test_the_dashboard_agrees_with_the_registers(
    store: EventStore, history: datetime
) -> None:
    now = _check(store, date(2026, 6, 1), None, None)
    assert sum(c.open for c in now.findings) > 0
    assert now.audits
    assert now.indicators
    _check(store, history.date(), history, None)
    for unit in {u.code for u in q.unit_tree(store.engine, store)}:
        _check(store, date(2026, 6, 1), None, unit)


def test_a_later_day_makes_more_overdue(store: EventStore, history: datetime) -> None:
    early = q.dashboard(store.engine, store, today=date(2000, 1, 1))
    late = q.dashboard(store.engine, store, today=date(2100, 1, 1))
    assert sum(c.overdue for c in early.findings) == 0
    assert sum(c.overdue for c in late.findings) == sum(c.open for c in late.findings)
    assert all(not a.overdue for a in early.actions_due)
    assert all(a.overdue for a in late.actions_due)


def test_the_history_fills_every_part(store: EventStore, history: datetime) -> None:
    late = q.dashboard(store.engine, store, today=date(2100, 1, 1))
    assert late.actions_due
    assert late.documents_due
    assert any(t.periods for t in late.indicators)
