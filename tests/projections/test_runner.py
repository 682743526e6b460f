"""Inline updates, catch-up and rebuild give the same tables, on both dialects."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from ledger.clock import FixedClock
from ledger.errors import ConcurrencyError
from ledger.store import EventStore
from projections.models import VERSIONED_TABLES, projection_positions
from projections.runner import ALL_PROJECTIONS, InlineProjector, catch_up, rebuild
from tests.projections.conftest import EngineFactory
from tests.projections.helpers import dump, feed
from tests.projections.simulation import Simulation, choices


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

    from ledger.signing import SigningKey
    from tests.projections.conftest import ORIGIN

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
    from projections.errors import ProjectionError
    from projections.runner import apply_events

    feed(store, clock, choices(20))
    other = engines()
    rebuild(other, store, upto=5)
    later = list(store.read(10, 12))
    with other.begin() as conn, pytest.raises(ProjectionError, match="behind seq 9"):
        apply_events(conn, later)
