"""The database under the ledger: durable commits, read-only copies, no ledger, server settings."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from ledger.clock import FixedClock
from ledger.errors import ConfigError
from ledger.integrity.envelope import NewEvent, RecordedEvent
from ledger.integrity.signing import SigningKey, write_private_key_file
from ledger.settings import LedgerSettings
from ledger.store import SNAPSHOT_READ, EventStore, create_engine_for, migrate
from ledger.store.engine import (
    NO_LEDGER,
    durability_warnings,
    is_read_only,
    require_ledger,
    sqlite_read_only_url,
)
from projections.runner import rebuild
from web.cli import open_service

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


class _SyncProbe:
    """A projector that reads PRAGMA synchronous inside the append's transaction."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        self.seen.append(
            int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())
        )


def _synchronous(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())


def _initialized(
    url: str, signer: SigningKey, clock: FixedClock, origin: str
) -> EventStore:
    engine = create_engine_for(url)
    migrate(engine)
    store = EventStore(engine, signer, origin, clock=clock)
    store.initialize()
    return store


def test_every_sqlite_connection_syncs_each_commit(
    tmp_path: Path,
    sqlite_url: str,
    signer: SigningKey,
    clock: FixedClock,
    origin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = _initialized(sqlite_url, signer, clock, origin)
    try:
        # The store's write connection, inside an append.
        probe = _SyncProbe()
        store.append(
            [
                NewEvent(
                    stream="document/QP-01",
                    type="document.drafted",
                    data={"title": "t"},
                    actor="u-alice",
                )
            ],
            projectors=[probe],
        )
        assert probe.seen == [FULL]
        # The store's snapshot reads and the service's (and the read side's) engine.
        assert (
            _synchronous(store.engine.execution_options(**{SNAPSHOT_READ: True}))
            == FULL
        )
        service = open_service(store)
        assert _synchronous(service.store.engine) == FULL
        assert rebuild(store.engine, store) == store.size()
        assert _synchronous(store.engine) == FULL
    finally:
        store.engine.dispose()
    # The command line's store, and a read-only copy's.
    key_file = tmp_path / "key.pem"
    write_private_key_file(key_file, signer)
    monkeypatch.setenv("QMS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("QMS_SIGNING_KEY_FILE", str(key_file))
    monkeypatch.setenv("QMS_ORIGIN", origin)
    from ledger.cli import LedgerContext

    ctx = LedgerContext(LedgerSettings.from_env())
    try:
        assert _synchronous(ctx.store().engine) == FULL
    finally:
        ctx.close()
    path = make_url(sqlite_url).database
    read_only = create_engine_for(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        assert is_read_only(read_only)
        assert _synchronous(read_only) == FULL
    finally:
        read_only.dispose()


def test_a_read_only_url_reads_the_ledger_and_refuses_to_write(
    sqlite_url: str, signer: SigningKey, clock: FixedClock, origin: str
) -> None:
    store = _initialized(sqlite_url, signer, clock, origin)
    size, root = store.size(), store.root()
    store.engine.dispose()
    path = make_url(sqlite_url).database
    for query in ("mode=ro", "immutable=1"):
        engine = create_engine_for(f"sqlite:///file:{path}?{query}&uri=true")
        try:
            copy = EventStore(engine, signer, origin, clock=clock)
            assert (copy.size(), copy.root()) == (size, root)
            with pytest.raises(ConfigError, match="read-only"):
                copy.checkpoint()
            assert copy.checkpoints() == []
        finally:
            engine.dispose()


def test_a_folder_nobody_may_write_is_read_immutable(
    tmp_path: Path,
    signer: SigningKey,
    clock: FixedClock,
    origin: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    path = folder / "qms.sqlite3"
    store = _initialized(f"sqlite:///{path}", signer, clock, origin)
    size = store.size()
    store.engine.dispose()
    assert sorted(p.name for p in folder.iterdir()) == ["qms.sqlite3"]
    folder.chmod(0o555)
    path.chmod(0o444)
    # The tests run as root, who may write anywhere: ask as any other user would.
    real_access = os.access

    def access(target: str | os.PathLike[str], mode: int) -> bool:
        if mode & os.W_OK and Path(target) in (folder, path):
            return False
        return real_access(target, mode)

    monkeypatch.setattr("ledger.store.engine.os.access", access)
    try:
        url = sqlite_read_only_url(f"sqlite:///{path}")
        assert "immutable=1" in url
        engine = create_engine_for(f"sqlite:///{path}")
        try:
            assert is_read_only(engine)
            assert EventStore(engine, signer, origin).size() == size
        finally:
            engine.dispose()
        # A reader on read-only media leaves nothing beside the database.
        assert sorted(p.name for p in folder.iterdir()) == ["qms.sqlite3"]
        # Commits still in a -wal file would be skipped: refused, not hidden.
        folder.chmod(0o755)
        (folder / "qms.sqlite3-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(28))
        with pytest.raises(ConfigError, match="-wal holds commits"):
            create_engine_for(f"sqlite:///{path}")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_a_database_without_a_ledger_is_named_as_such(
    dialect: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url: str = request.getfixturevalue(
        "sqlite_url" if dialect == "sqlite" else "pg_url"
    )
    engine = create_engine_for(url)
    try:
        with pytest.raises(ConfigError, match=NO_LEDGER):
            require_ledger(engine)  # nothing at all: not even a file
        if dialect == "sqlite":
            assert not Path(str(make_url(url).database)).exists()
        migrate(engine)
        with pytest.raises(ConfigError, match=NO_LEDGER):
            require_ledger(engine)  # the schema, but no genesis event
    finally:
        engine.dispose()


def test_an_empty_sqlite_file_holds_no_ledger(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        with pytest.raises(ConfigError, match=NO_LEDGER):
            require_ledger(engine)
    finally:
        engine.dispose()
    assert path.stat().st_size == 0


@pytest.mark.postgresql
def test_a_server_that_may_lose_commits_is_named(pg_url: str) -> None:
    engine = create_engine_for(pg_url)
    try:
        assert durability_warnings(engine) == []
        name = make_url(pg_url).database
        admin = sa.create_engine(
            pg_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" SET synchronous_commit = off'
            )
        admin.dispose()
        engine.dispose()  # new sessions read the database's setting
        (warning,) = durability_warnings(engine)
        assert "synchronous_commit = off" in warning
    finally:
        engine.dispose()
