"""The demo recorded in bulk (as `large` is): the same story, rules and read models."""

from __future__ import annotations

from pathlib import Path

from ledger.clock import FixedClock
from ledger.integrity.signing import SigningKey
from ledger.service import Service
from ledger.store import EventStore, create_engine_for, migrate
from ledger.store.verify import verify_store
from projections import queries as q
from projections.runner import InlineProjector
from projections.tables import create_all
from web.demo import DemoSummary, demo_password, demo_start, fill_demo

ORIGIN = "demo.test.example/ledger"


def _fill(url: str, *, bulk: bool) -> tuple[EventStore, Service, DemoSummary]:
    engine = create_engine_for(url)
    migrate(engine)
    create_all(engine)
    clock = FixedClock(demo_start("tiny"))
    store = EventStore(engine, SigningKey.generate(), ORIGIN, clock=clock)
    service = Service(
        store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    return store, service, fill_demo(service, store, size="tiny", bulk=bulk)


def test_bulk_records_the_same_story_with_read_models(tmp_path: Path) -> None:
    one_by_one, _, expected = _fill(f"sqlite:///{tmp_path / 'a.sqlite3'}", bulk=False)
    store, service, summary = _fill(f"sqlite:///{tmp_path / 'b.sqlite3'}", bulk=True)
    try:
        assert summary == expected
        head, _ = verify_store(store)
        assert head.size == store.size() == one_by_one.size()
        mine = [(e.stream, e.version, e.type) for e in store.read()]
        theirs = [(e.stream, e.version, e.type) for e in one_by_one.read()]
        assert sorted(mine) == sorted(theirs)
        e, s = store.engine, store
        assert len(q.document_register(e, s)) == summary.documents
        assert len(q.finding_register(e, s)) == summary.findings
        assert service.check_password("bj.approver", demo_password("bj.approver"))
        # Every command keeps its own id, as when recorded one by one ...
        assert len({x.meta["command_id"] for x in store.read()}) == len(
            {x.meta["command_id"] for x in one_by_one.read()}
        )
        # ... in fewer transactions: a day's commands share one and its recorded_at.
        assert len({x.recorded_at for x in store.read()}) * 3 < 2 * len(
            {x.recorded_at for x in one_by_one.read()}
        )
    finally:
        store.engine.dispose()
        one_by_one.engine.dispose()
