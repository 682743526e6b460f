"""Inline updates, catch-up and rebuild give the same tables, on both dialects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from ledger import catalog
from ledger.clock import FixedClock
from ledger.errors import ConcurrencyError, StorageError
from ledger.integrity.envelope import RecordedEvent
from ledger.store import EventStore
from projections.batch import Batch
from projections.errors import ProjectionError
from projections.runner import ALL_PROJECTIONS, InlineProjector, catch_up, rebuild
from projections.tables import (
    VERSIONED_TABLES,
    create_all,
    findings,
    indicator_measurements,
    projection_positions,
)
from tests.support.projections import EngineFactory, dump, feed
from tests.support.simulation import Simulation, choices


def _positions(store: EventStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(projection_positions)).all()
    return {str(name): int(pos) for name, pos in rows}


def test_rebuild_gives_the_tables_incremental_updates_gave(
    store: EventStore, clock: FixedClock, engines: EngineFactory
) -> None:
    batches = [i % 5 == 3 for i in range(300)]
    feed(store, clock, choices(300), batch_every=batches)
    incremental = dump(store.engine)
    assert all(incremental[t.name] for t in VERSIONED_TABLES), (
        "scenario covers every table"
    )

    other = engines()
    rebuild(other, store)
    assert dump(other) == incremental

    rebuild(store.engine, store)
    rebuilt = dump(store.engine)
    for table in incremental:
        assert rebuilt[table] == incremental[table], table


def test_catch_up_applies_only_events_after_the_stored_position(
    store: EventStore, clock: FixedClock, engines: EngineFactory
) -> None:
    feed(store, clock, choices(120))
    other = engines()
    rebuild(other, store, upto=60)
    assert set(_positions_of(other).values()) == {60}
    assert catch_up(other, store) == store.size()
    assert dump(other) == dump(store.engine)
    assert catch_up(other, store) == store.size()  # nothing left: no change
    assert dump(other) == dump(store.engine)


def _positions_of(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {str(n): int(p) for n, p in conn.execute(select(projection_positions))}


def test_positions_advance_with_every_append(
    store: EventStore, clock: FixedClock
) -> None:
    feed(store, clock, choices(10))
    assert _positions(store) == {p.name: store.size() for p in ALL_PROJECTIONS}


def test_inline_projector_fills_a_gap_left_by_appends_without_it(
    store: EventStore, clock: FixedClock, engines: EngineFactory
) -> None:
    sim = Simulation()
    for pick in choices(30):
        store.append(sim.step(pick))  # no projector: the read models fall behind
    feed(store, clock, choices(30, seed=11), sim=sim)
    other = engines()
    rebuild(other, store)
    assert dump(store.engine) == dump(other)


def test_a_rejected_append_leaves_the_read_models_unchanged(
    store: EventStore, clock: FixedClock
) -> None:
    sim = feed(store, clock, choices(20))
    before = dump(store.engine)
    events = sim.step(5)
    with pytest.raises(ConcurrencyError):
        store.append(
            events,
            {events[0].stream: 999},
            projectors=[InlineProjector()],
        )
    assert dump(store.engine) == before


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picks=st.lists(st.integers(0, 10**6), min_size=1, max_size=50),
    batching=st.lists(st.booleans(), max_size=50),
    hours=st.sampled_from([0.0, 1.0, 30.0]),
)
def test_rebuild_equals_incremental_for_random_histories(
    engines: EngineFactory,
    picks: list[int],
    batching: list[bool],
    hours: float,
) -> None:
    from datetime import UTC, datetime

    from ledger.integrity.signing import SigningKey
    from tests.support.projections import ORIGIN

    clock = FixedClock(datetime(2026, 1, 5, 8, tzinfo=UTC))
    store = EventStore(engines(), SigningKey.generate(), ORIGIN, clock=clock)
    store.initialize()
    feed(store, clock, picks, batch_every=batching, hours=hours)
    other = engines()
    rebuild(other, store)
    assert dump(other) == dump(store.engine)


def test_applying_events_past_a_gap_is_refused(
    store: EventStore, clock: FixedClock, engines: EngineFactory
) -> None:
    from projections.runner import apply_events

    feed(store, clock, choices(20))
    other = engines()
    rebuild(other, store, upto=5)
    later = list(store.read(10, 12))
    with other.begin() as conn, pytest.raises(ProjectionError, match="behind seq 9"):
        apply_events(conn, later)


class _FailingSource:
    """The store's events, then a failure after `after` of them (a lost connection)."""

    def __init__(self, store: EventStore, after: int) -> None:
        self.store, self.after = store, after

    def size(self) -> int:
        return self.store.size()

    def read(
        self, from_seq: int = 1, to_seq: int | None = None, *, batch: int = 2000
    ) -> Iterator[RecordedEvent]:
        return self._failing(self.store.read(from_seq, to_seq, batch=batch))

    def read_by_stream(
        self, to_seq: int | None = None, *, batch: int = 5000
    ) -> Iterator[RecordedEvent]:
        return self._failing(self.store.read_by_stream(to_seq, batch=batch))

    def _failing(self, events: Iterator[RecordedEvent]) -> Iterator[RecordedEvent]:
        for done, event in enumerate(events):
            if done >= self.after:
                raise StorageError("reading events failed: connection lost")
            yield event


def test_a_rebuild_that_fails_leaves_the_read_models_as_they_were(
    store: EventStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed(store, clock, choices(150))
    before = dump(store.engine)
    monkeypatch.setattr("projections.runner.BATCH_SIZE", 40)  # fail after some flushes
    with pytest.raises(StorageError, match="connection lost"):
        rebuild(store.engine, _FailingSource(store, after=store.size() - 30))
    assert dump(store.engine) == before
    assert set(_positions(store).values()) == {store.size()}


def test_read_models_of_an_older_shape_are_refused_until_rebuilt(
    store: EventStore, clock: FixedClock
) -> None:
    feed(store, clock, choices(40))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE proj_findings DROP COLUMN reopened_count")
    with pytest.raises(ProjectionError, match=r"proj_findings .*run `qms rebuild`"):
        create_all(store.engine)
    rebuild(store.engine, store)
    create_all(store.engine)  # the current shape again: accepted
    assert "reopened_count" in {c.name for c in findings.columns}


@pytest.mark.parametrize("batch_size", [1, 7, 25])
def test_a_rebuild_in_small_pages_and_writes_gives_the_same_tables(
    store: EventStore,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    batch_size: int,
) -> None:
    """Streams span pages of the stream-ordered read; versions are written often."""
    feed(store, clock, choices(300))
    incremental = dump(store.engine)
    monkeypatch.setattr("projections.runner.BATCH_SIZE", batch_size)
    rebuild(store.engine, store, upto=store.size() - 3)
    rebuild(store.engine, store)
    assert dump(store.engine) == incremental


class _Meddling:
    """A findings projection that also writes another finding's row."""

    name, kind = "findings", "finding"
    tables = (findings,)

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        batch.put(findings, ("F-0",), event.seq, {"status": event.type})


def test_a_rebuild_refuses_a_projection_that_writes_another_record(
    store: EventStore, clock: FixedClock
) -> None:
    """Folding record by record is right only while each event writes its own."""
    feed(store, clock, choices(80))
    with pytest.raises(ProjectionError, match="touched record 'F-0'"):
        rebuild(store.engine, store, projections=[_Meddling()])


def test_events_of_an_older_schema_reach_the_read_models_upcast(
    store: EventStore,
    clock: FixedClock,
    engines: EngineFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a type's schema moves on, stored events keep their bytes and schema 1;
    a rebuild and a catch-up apply them as the upcaster lifts them."""
    feed(store, clock, choices(200))
    stored = [e for e in store.read(1, store.size()) if e.type == "indicator.measured"]
    assert stored, "scenario records measurements"

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        data["note"] = f"v1: {data.get('note') or 'none'}"
        return data

    old = catalog.CATALOG["indicator.measured"]
    spec = catalog.EventSpec(old.schema, 2, {1: v1_to_v2})
    monkeypatch.setitem(catalog.CATALOG, "indicator.measured", spec)  # type: ignore[arg-type]

    other = engines()
    rebuild(other, store, upto=store.size() // 2)
    catch_up(other, store)
    with other.connect() as conn:
        notes = {
            str(note) for (note,) in conn.execute(select(indicator_measurements.c.note))
        }
    assert notes == {"v1: none"}
    again = [e for e in store.read(1, store.size()) if e.type == "indicator.measured"]
    assert [(e.schema, e.data) for e in again] == [(e.schema, e.data) for e in stored]
    assert {e.schema for e in again} == {1}
