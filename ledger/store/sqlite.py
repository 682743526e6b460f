"""What the event store needs to know about SQLite: connection settings, the append's lock and SQL.

The connection hooks (WAL, synchronous=FULL, BEGIN IMMEDIATE), the append's state read
under the write lock and its writes as plain SQL on the driver's cursor (compiling and
executing Core statements costs several times what SQLite needs to run them), and
reading which constraint a failed insert broke.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Final

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ledger.errors import StorageError
from ledger.store.engine import BUSY_TIMEOUT_S, SNAPSHOT_READ

# The append's own statements run on the driver's cursor as plain SQL strings, inside
# the transaction SQLAlchemy began (BEGIN IMMEDIATE).
_HEAD_PART: Final = (
    "SELECT 2, NULL, size, hash, recorded_at FROM ledger_head WHERE id = 1"
)
_STREAMS_PART: Final = (
    "SELECT 0, stream, version, NULL, NULL FROM ledger_streams WHERE stream IN ({})"
)
_COMMAND_PART: Final = (
    "SELECT 1, command_id, first_seq, NULL, NULL FROM ledger_commands "
    "WHERE command_id = ?"
)
_INSERT_EVENTS: Final = (
    "INSERT INTO ledger_events (seq, stream, version, type, schema, actor, "
    "command_id, occurred_at, recorded_at, key_id, hash, envelope) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_NODES: Final = "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)"
_UPSERT_STREAMS: Final = (
    "INSERT INTO ledger_streams (stream, version) VALUES (?, ?) "
    "ON CONFLICT (stream) DO UPDATE SET version = excluded.version"
)
_INSERT_COMMAND: Final = (
    "INSERT INTO ledger_commands (command_id, first_seq, last_seq) VALUES (?, ?, ?)"
)
_UPDATE_HEAD: Final = (
    "UPDATE ledger_head SET size = ?, hash = ?, recorded_at = ? WHERE id = 1"
)
_UNIQUE_FAILED: Final = "UNIQUE constraint failed: "


def on_connect(
    dbapi_connection: Any, _record: object, *, read_only: bool = False
) -> None:
    """Set up a new sqlite3 connection (the engine's "connect" event)."""
    # `dbapi_connection` is the sqlite3.Connection, which SQLAlchemy passes untyped.
    # Switch off the sqlite3 module's own transaction handling (it would BEGIN only
    # before DML, so a SELECT outside it sees no stable snapshot); SQLAlchemy's
    # "begin" event below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL + synchronous=FULL: every commit is fsynced to the WAL file before
        # COMMIT returns, so neither a crash of the process nor one of the OS or a
        # power cut loses it. With NORMAL the last commits could vanish in an OS
        # crash, and the next events would take their seq with other content: the
        # log would have signed two different trees of one size. Readers and the
        # one writer do not block each other. A read-only connection (an archived
        # copy) keeps the journal mode the file has.
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def on_begin(connection: Connection) -> None:
    """Begin a transaction (the engine's "begin" event)."""
    # BEGIN IMMEDIATE takes SQLite's write lock at the start of the transaction, so
    # two appends never both read the same head (a deferred BEGIN would let both read
    # and then fail one of them with "database is locked" at its first write).
    # Sent on the driver connection: a statement through SQLAlchemy costs more than
    # SQLite needs to run it, and every append pays this one.
    sql = (
        "BEGIN"
        if connection.get_execution_options().get(SNAPSHOT_READ)
        else ("BEGIN IMMEDIATE")
    )
    with _sqlite_errors(sql):
        connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]  # a live connection has a driver connection


@contextmanager
def _sqlite_errors(statement: str) -> Iterator[None]:
    """Raise a driver error as SQLAlchemy would have wrapped it (IntegrityError, ...)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _cursor(connection: Connection) -> Any:
    # The sqlite3 cursor of the connection's current transaction (untyped driver API).
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]  # a live connection has a driver connection


@lru_cache(maxsize=64)
def _state_sql(streams: int, with_command: bool) -> str:
    parts = [_HEAD_PART]
    if streams:
        parts.append(_STREAMS_PART.format(", ".join("?" * streams)))
    if with_command:
        parts.append(_COMMAND_PART)
    return " UNION ALL ".join(parts)


def locked_state(
    connection: Connection, streams: Sequence[str], command_id: str | None
) -> tuple[tuple[int, bytes, str | None], dict[str, int], bool]:
    """Return the head (size, hash, recorded_at), the stored versions of `streams`
    and whether `command_id` was seen, read in one query.

    The transaction holds the write lock since BEGIN IMMEDIATE, so all three are read
    under the append lock.
    """
    sql = _state_sql(len(streams), command_id is not None)
    params = [*streams, command_id] if command_id is not None else list(streams)
    versions: dict[str, int] = {}
    seen = False
    head_row: tuple[int, bytes, str | None] | None = None
    with _sqlite_errors(sql):
        cursor = _cursor(connection)
        try:
            rows = cursor.execute(sql, params).fetchall()
        finally:
            cursor.close()
    for kind, name, number, hash_, recorded_at in rows:
        if kind == 2:
            head_row = (int(number), bytes(hash_), recorded_at)
        elif kind == 1:
            seen = True
        else:
            versions[name] = int(number)
    if head_row is None:
        raise StorageError("append failed: the ledger head row is missing")
    return head_row, versions, seen


def write_append(
    connection: Connection,
    event_rows: Sequence[Sequence[object]],
    node_rows: Sequence[tuple[int, int, bytes]],
    stream_rows: Sequence[tuple[str, int]],
    command_rows: Sequence[tuple[str, int, int]],
    head_row: tuple[int, bytes, str],
) -> None:
    """Insert the events, nodes, stream versions and commands, and move the head.

    The rows are shaped as for `ledger.store.postgres.write_append`.
    """
    cursor = _cursor(connection)
    sql = ""
    try:
        for sql, rows in (
            (_INSERT_EVENTS, event_rows),
            (_INSERT_NODES, node_rows),
            (_UPSERT_STREAMS, stream_rows),
            (_INSERT_COMMAND, command_rows),
            (_UPDATE_HEAD, (head_row,)),
        ):
            cursor.executemany(sql, rows)
    except sqlite3.Error as exc:
        # As SQLAlchemy would raise it: IntegrityError for a unique violation, ...
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


def unique_violation_table(orig: BaseException | None) -> str:
    """Return the table of the unique constraint a failed insert broke, or ""."""
    # The sqlite3 message names table.column of the constraint that failed.
    message = str(orig)
    if not message.startswith(_UNIQUE_FAILED):
        return ""
    return message[len(_UNIQUE_FAILED) :].split(".", 1)[0]
