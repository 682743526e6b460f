"""Shared fixtures: keys, a fixed clock, database URLs and an initialized store per dialect.

PostgreSQL comes from QMS_TEST_DATABASE_URL (default: the server on 127.0.0.1:5432,
user postgres). Every test that needs it gets a database of its own, dropped
afterwards. Without a reachable server those tests skip with the reason, except when
the environment variable CI is set: then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from ledger.clock import FixedClock
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore, create_engine_for, migrate
from tests.support.origin import ORIGIN

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]

# Properties are checked for what they assert, never for how fast an example runs: a
# busy machine (two test workers beside a browser) must not turn a slow example into a
# failure. Each test's own example count still bounds the run.
settings.register_profile(
    "qms", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("qms")


def _server_url() -> str:
    url = os.environ.get("QMS_TEST_DATABASE_URL") or DEFAULT_SERVER_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _admin_engine(url: str) -> Engine:
    return sa.create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The URL of a reachable PostgreSQL server (skips, or fails in CI, without one)."""
    url = _server_url()
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = f"PostgreSQL is not reachable at {shown}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    name = f"qms_test_{uuid.uuid4().hex}"
    admin = _admin_engine(pg_server)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(pg_server).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a new SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=DIALECTS)
def engine_url(request: pytest.FixtureRequest) -> str:
    """An empty database's URL, once per dialect (for tests that start processes)."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """A migrated database's engine, once per dialect; disposed after the test."""
    engine = create_engine_for(engine_url)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def signer() -> SigningKey:
    """A fresh ledger signing key."""
    return SigningKey.generate()


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at 2026-01-05T08:00Z until a test moves it."""
    return FixedClock(START)


@pytest.fixture
def origin() -> str:
    """The ledger origin the test stores use."""
    return ORIGIN


@pytest.fixture
def store(
    engine: Engine, signer: SigningKey, clock: FixedClock, origin: str
) -> EventStore:
    """An initialized EventStore (event 1 signed by `signer`), once per dialect."""
    store = EventStore(engine, signer, origin, clock=clock)
    store.initialize()
    return store
