"""The database itself: making the engine, migrating it, and what the commands ask of it.

How an engine for SQLite or PostgreSQL is made and the schema migrated, which SQLite
file a URL names and whether it must be opened read-only (an archived copy on
read-only media), whether the database holds a ledger at all, whether a PostgreSQL
server keeps what it committed across a crash, and how a database error reads. It
imports no psycopg: the PostgreSQL settings come from ledger.store.postgres, imported
only for a PostgreSQL URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ledger.errors import ConfigError, StorageError
from ledger.store.tables import head

# Execution option for read-only work. On SQLite such a transaction starts with a
# plain (deferred) BEGIN, so readers never wait for the write lock and never hold it;
# every other transaction starts with BEGIN IMMEDIATE. Use it as
# `engine.execution_options(ledger_snapshot_read=True)`.
SNAPSHOT_READ: Final = "ledger_snapshot_read"

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"

BUSY_TIMEOUT_S: Final = 30
_MIGRATION_LOCK: Final = 0x716D_735F_6C65_6467  # pg advisory lock id ("qms_ledg")

NO_LEDGER: Final = "no ledger here: run qms init"

# The PostgreSQL settings without which a commit may be lost, or the database
# corrupted, by a crash of the server or its machine.
DURABILITY_SETTINGS: Final = ("fsync", "synchronous_commit", "full_page_writes")


def create_engine_for(url: str) -> Engine:
    """Return an engine for a `sqlite:///` or `postgresql+psycopg://` URL.

    SQLite connections get WAL, synchronous=FULL, foreign keys and a 30 s busy
    timeout, and every transaction starts with BEGIN IMMEDIATE (read-only ones with
    the SNAPSHOT_READ execution option use a deferred BEGIN). A SQLite file this
    process cannot write, or one in a folder it cannot write, is opened read-only
    (`sqlite_read_only_url`). PostgreSQL runs READ COMMITTED, which the append lock
    relies on (see ledger.store.append). Errors never show bound parameters (they
    carry salts, password hashes and sealed keys).

    Raises:
        ConfigError: the URL names another database, or a read-only copy whose
            `-wal` file holds commits it cannot apply.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        from ledger.store import sqlite  # the SQLite connection settings

        url = sqlite_read_only_url(url)
        memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        engine = sa.create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            # One shared connection for an in-memory database, which exists only
            # inside the connection that made it.
            poolclass=StaticPool if memory else None,
        )
        event.listen(
            engine,
            "connect",
            partial(sqlite.on_connect, read_only=is_read_only_url(url)),
        )
        event.listen(engine, "begin", sqlite.on_begin)
        return engine
    if url.startswith("postgresql+psycopg://"):
        from ledger.store import postgres  # psycopg only for PostgreSQL

        return sa.create_engine(
            url,
            hide_parameters=True,
            isolation_level="READ COMMITTED",
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            pool_recycle=3600,
            connect_args=dict(postgres.CONNECT_ARGS),
        )
    raise ConfigError(
        "database URL must start with sqlite:/// or postgresql+psycopg://"
    )


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (`alembic upgrade head`).

    The migrations ship inside the package; no alembic.ini is read. Running it
    again, or from several processes at once, is harmless.

    Raises:
        StorageError: the database failed.
    """
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    with storage_errors("migrating the database"), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, "head")


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn any database error into StorageError, keeping the driver error as cause.

    A write refused because the SQLite database is opened read-only (an archived
    copy) becomes a ConfigError that says so.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        if is_read_only_error(exc):
            raise ConfigError(
                f"{action} failed: the database is read-only (an archived copy?); "
                "this needs a writable copy"
            ) from exc
        raise StorageError(f"{action} failed: {driver_message(exc)}") from exc


def sqlite_file(url: str | URL) -> Path | None:
    """Return the file a `sqlite:` URL names (plain path or `file:` URI), or None.

    None for PostgreSQL and for an in-memory database.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database:
        return None
    if database == ":memory:" or parsed.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):
        rest = database.removeprefix("file:")
        if rest.startswith("//"):  # file://host/path: only an empty host or localhost
            rest = "/" + rest[2:].partition("/")[2]
        return Path(unquote(rest))
    return Path(database)


def _flag(parsed: URL, name: str, value: str) -> bool:
    given = parsed.query.get(name)
    return (given if isinstance(given, str) else (given or ("",))[-1]) == value


def is_read_only_url(url: str | URL) -> bool:
    """Return whether a `sqlite:` URL opens the database read-only (mode=ro, immutable=1)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.drivername.startswith("sqlite") and (
        _flag(parsed, "mode", "ro") or _flag(parsed, "immutable", "1")
    )


def is_read_only(engine: Engine) -> bool:
    """Return whether `engine` opens its SQLite database read-only."""
    return is_read_only_url(engine.url)


def sqlite_read_only_url(url: str) -> str:
    """Return the URL to open a SQLite ledger with, read-only where it must be.

    A database file this process cannot write, or one in a folder it cannot write
    (an archived copy on read-only media), is opened read-only through a `file:` URI
    with mode=ro. A reader of a WAL database writes the `-shm` file beside it, so in a
    folder it cannot write the database is opened `immutable=1` as well (also when the
    URL asked for mode=ro itself). Any other URL is returned as it is.

    Raises:
        ConfigError: the database would be opened immutable while a `-wal` file beside
            it still holds commits that are not in the database file.
    """
    parsed = make_url(url)
    path = sqlite_file(parsed)
    if path is None or not path.exists():
        return url
    folder_writable = os.access(path.parent, os.W_OK)
    if not is_read_only_url(parsed):
        if folder_writable and os.access(path, os.W_OK):
            return url
        query = dict(parsed.query)
        query.update({"mode": "ro", "uri": "true"})
        parsed = parsed.set(database="file:" + quote(str(path.resolve())), query=query)
    if not folder_writable and not _flag(parsed, "immutable", "1"):
        parsed = parsed.update_query_dict({"immutable": "1", "uri": "true"})
    if _flag(parsed, "immutable", "1"):
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise ConfigError(
                f"{wal} holds commits that are not in {path.name} yet, and this "
                "read-only copy cannot apply them: open it once where it can be "
                "written, or archive it with `sqlite3 FILE .backup COPY`"
            )
    return parsed.render_as_string(hide_password=False)


def require_ledger(engine: Engine) -> None:
    """Refuse a database that holds no initialized ledger, without creating one.

    A SQLite path that does not exist, or an empty file, is not opened (which would
    create or write the file); an empty file, a database without the ledger's tables
    or one without its genesis event holds no ledger.

    On failure the engine's connections are closed (`Engine.dispose`).

    Raises:
        ConfigError: there is no ledger here ("no ledger here: run qms init").
        StorageError: the database failed.
    """
    path = sqlite_file(engine.url)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        raise ConfigError(NO_LEDGER)  # not opened: that would write the file
    try:
        with engine.execution_options(**{SNAPSHOT_READ: True}).connect() as connection:
            size = (
                connection.execute(sa.select(head.c.size)).scalar_one_or_none()
                if sa.inspect(connection).has_table(head.name)
                else None
            )
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"opening the ledger failed: {driver_message(exc)}") from exc
    if not size:
        engine.dispose()
        raise ConfigError(NO_LEDGER)


def durability_warnings(engine: Engine) -> list[str]:
    """Return one warning per PostgreSQL durability setting that is off.

    `fsync`, `synchronous_commit` and `full_page_writes` must be on (or, for
    synchronous_commit, any value but off) for a commit, and so every event a signed
    checkpoint covers, to survive a crash of the server or its machine. SQLite and a
    server with all three on give no warning.

    Raises:
        StorageError: the database failed.
    """
    if engine.dialect.name != "postgresql":
        return []
    try:
        with engine.connect() as connection:
            values = {
                name: str(connection.exec_driver_sql(f"SHOW {name}").scalar_one())
                for name in DURABILITY_SETTINGS
            }
    except SQLAlchemyError as exc:
        raise StorageError(
            f"reading the server settings failed: {driver_message(exc)}"
        ) from exc
    return [
        f"PostgreSQL runs with {name} = off: a crash of the server or its machine "
        "can lose commits the ledger has signed checkpoints of (docs/deployment.md)"
        for name, value in values.items()
        if value == "off"
    ]


def driver_message(exc: SQLAlchemyError) -> str:
    """Return the driver's own one-line message of a database error."""
    # str(DBAPIError) repeats the SQL and its parameters (whole envelopes); the
    # driver's own message is what a reader needs.
    text = (
        str(exc.orig)
        if isinstance(exc, DBAPIError) and exc.orig is not None
        else str(exc)
    )
    # PostgreSQL adds DETAIL and HINT lines: kept, on the same line.
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def is_read_only_error(exc: SQLAlchemyError) -> bool:
    """Return whether SQLite refused a write because the database is read-only."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == 8  # SQLITE_READONLY (and its kinds)
