"""Read-side test support: the test ledger's origin and start, fresh stores, feeding a
simulation through the inline projector, and dumping the read-model tables."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from ledger.clock import FixedClock
from ledger.integrity.envelope import NewEvent
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore
from projections.runner import InlineProjector
from projections.tables import ALL_TABLES
from tests.support.simulation import Simulation

SERVER_URL = os.environ.get(
    "QMS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ORIGIN = "qms.test.example/ledger"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

EngineFactory = Callable[[], Engine]


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every read-model table as its rows ordered by primary key."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in ALL_TABLES:
            stmt = select(table).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(stmt)]
    return out


def feed(
    store: EventStore,
    clock: FixedClock,
    picks: Sequence[int],
    *,
    batch_every: Sequence[bool] = (),
    sim: Simulation | None = None,
    hours: float = 7,
) -> Simulation:
    """Append the simulation's events with the inline projector, advancing the clock.

    Each step's events are one append unless `batch_every[i]` is True, which keeps
    them pending and appends them together with the next step's.
    """
    sim = sim or Simulation()
    projector = InlineProjector()
    pending: list[NewEvent] = []
    for i, pick in enumerate(picks):
        pending.extend(sim.step(pick))
        if i < len(batch_every) and batch_every[i]:
            continue
        clock.advance(hours=hours)
        store.append(pending, projectors=[projector])
        pending = []
    if pending:
        clock.advance(hours=hours)
        store.append(pending, projectors=[projector])
    return sim


def fresh_store(engines: EngineFactory) -> tuple[EventStore, FixedClock]:
    """A new initialized ledger in a database of its own, with its clock at START."""
    clock = FixedClock(START)
    store = EventStore(engines(), SigningKey.generate(), ORIGIN, clock=clock)
    store.initialize()
    return store, clock
