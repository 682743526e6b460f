"""Fixtures for the read-side tests: a migrated, initialized store per dialect, the scenario.

PostgreSQL databases are created fresh per test and dropped after; without a
reachable server those tests skip with the reason, except in CI where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from ledger.clock import FixedClock
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore, create_engine_for, migrate
from projections.tables import create_all
from tests.support import scenario
from tests.support.projections import ORIGIN, SERVER_URL, START, EngineFactory


def _pg_server() -> Engine:
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        server.dispose()
        reason = f"PostgreSQL unreachable at {SERVER_URL}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return server


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """A factory of fresh, migrated databases of one dialect (dropped after)."""
    made: list[tuple[Engine, str | None]] = []
    server = _pg_server() if request.param == "postgresql" else None

    def make() -> Engine:
        if server is None:
            engine = create_engine_for(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
            made.append((engine, None))
        else:
            name = f"qms_test_{uuid.uuid4().hex}"
            with server.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
            engine = create_engine_for(url)
            made.append((engine, name))
        migrate(engine)
        create_all(engine)
        return engine

    yield make
    for engine, name in made:
        engine.dispose()
        if server is not None and name is not None:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if server is not None:
        server.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def store(engines: EngineFactory, clock: FixedClock) -> EventStore:
    """An initialized store whose database also holds the read-model tables."""
    result = EventStore(engines(), SigningKey.generate(), ORIGIN, clock=clock)
    result.initialize()
    return result


@pytest.fixture
def moments(store: EventStore, clock: FixedClock) -> dict[str, datetime]:
    """The hand-written history recorded in `store`: its named moments."""
    return scenario.build(store, clock)
