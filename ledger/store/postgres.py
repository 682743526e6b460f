"""What the event store needs to know about PostgreSQL through psycopg 3.

The only module that names psycopg: it recognises the driver's errors (which
SQLAlchemy wraps, keeping the original in `exc.orig`), holds the connection settings
and the append's statements as plain SQL (the lock, the state read, the one-statement
write), run with `exec_driver_sql` to skip compiling Core statements. Imported by ledger.store only when the
engine is PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

# Sent with every connection so that pg_stat_activity shows who holds the append lock.
CONNECT_ARGS: Mapping[str, object] = {
    "application_name": "qms-ledger",
    "connect_timeout": 10,
}

# Every write of an append in one statement: data-modifying CTEs over arrays (one
# array per column, unnest() turns them back into rows). PostgreSQL runs all parts
# against one snapshot and fires the append-only triggers as usual; a unique
# violation names its constraint as it would for a plain INSERT.
_APPEND_WRITE = """
WITH new_events AS (
    INSERT INTO ledger_events (seq, stream, version, type, schema, actor, command_id,
                               occurred_at, recorded_at, key_id, hash, envelope)
    SELECT seq, stream, version, type, schema, actor, command_id,
           occurred_at, %(recorded_at)s, key_id, hash, envelope
    FROM unnest(%(seq)s::bigint[], %(stream)s::text[], %(version)s::integer[],
                %(type)s::text[], %(schema)s::integer[], %(actor)s::text[],
                %(command_id)s::text[], %(occurred_at)s::text[], %(key_id)s::text[],
                %(hash)s::bytea[], %(envelope)s::text[])
         AS e(seq, stream, version, type, schema, actor, command_id, occurred_at,
              key_id, hash, envelope)
), new_nodes AS (
    INSERT INTO merkle_nodes (level, idx, hash)
    SELECT * FROM unnest(%(level)s::smallint[], %(idx)s::bigint[], %(node)s::bytea[])
), stream_versions AS (
    INSERT INTO ledger_streams (stream, version)
    SELECT * FROM unnest(%(streams)s::text[], %(versions)s::integer[])
    ON CONFLICT (stream) DO UPDATE SET version = excluded.version
), new_command AS (
    INSERT INTO ledger_commands (command_id, first_seq, last_seq)
    SELECT * FROM unnest(%(commands)s::text[], %(first_seqs)s::bigint[],
                         %(last_seqs)s::bigint[])
)
UPDATE ledger_head SET size = %(new_size)s, hash = %(new_hash)s,
       recorded_at = %(recorded_at)s
WHERE id = 1
"""

# The append lock (see ledger.store.append.lock_and_read): the single head row, locked
# until COMMIT or ROLLBACK. Nothing else is read in this statement, whose snapshot
# predates the wait.
_LOCK_HEAD = "SELECT size, hash, recorded_at FROM ledger_head WHERE id = 1 FOR UPDATE"
# Read after the lock is granted, so under READ COMMITTED it sees every append that
# committed before.
_STREAM_VERSIONS = (
    "SELECT 0, stream, version FROM ledger_streams WHERE stream = ANY(%(streams)s)"
)
_STREAM_VERSIONS_AND_COMMAND = (
    _STREAM_VERSIONS + " UNION ALL SELECT 1, command_id, first_seq "
    "FROM ledger_commands WHERE command_id = %(command_id)s"
)


@contextmanager
def _driver_errors(statement: str) -> Iterator[None]:
    """Raise a driver error as SQLAlchemy would have wrapped it (IntegrityError, ...)."""
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _driver(connection: Connection) -> Any:
    # The psycopg connection of the current transaction (untyped through SQLAlchemy).
    return connection.connection.driver_connection


def locked_state(
    connection: Connection, streams: Sequence[str], command_id: str | None
) -> tuple[tuple[int, bytes, str | None], dict[str, int], bool]:
    """Take the append lock; return the head (size, hash, recorded_at), the stored
    versions of `streams` and whether `command_id` was seen.

    One round trip: BEGIN, the lock and the state read are sent together in
    pipeline mode. The server runs them in order, so the state read starts only once
    the lock is granted, and under READ COMMITTED it takes its own snapshot then,
    which includes every append that committed before releasing the lock.
    """
    params: dict[str, object] = {"streams": list(streams)}
    sql = _STREAM_VERSIONS
    if command_id is not None:
        params["command_id"] = command_id
        sql = _STREAM_VERSIONS_AND_COMMAND
    driver = _driver(connection)
    with _driver_errors(_LOCK_HEAD + "; " + sql):
        with driver.pipeline():
            lock = driver.cursor()
            lock.execute(_LOCK_HEAD)
            state = driver.cursor()
            state.execute(sql, params)
        # Leaving the pipeline sent everything and read every result.
        size, hash_, recorded_at = lock.fetchone()
        rows = state.fetchall()
    versions: dict[str, int] = {}
    seen = False
    for kind, name, number in rows:
        if kind == 1:
            seen = True
        else:
            versions[name] = int(number)
    return (int(size), bytes(hash_), recorded_at), versions, seen


def write_append(
    connection: Connection,
    event_rows: Sequence[Sequence[object]],
    node_rows: Sequence[tuple[int, int, bytes]],
    stream_rows: Sequence[tuple[str, int]],
    command_rows: Sequence[tuple[str, int, int]],
    head_row: tuple[int, bytes, str],
    *,
    commit: bool = False,
) -> None:
    """Insert the events, nodes, stream versions and commands, and move the head.

    With `commit`, the write and COMMIT go to the server together (pipeline mode)
    and this returns once COMMIT has succeeded, that is once the server has made the
    transaction durable (synchronous_commit); the caller's commit then has nothing
    left to do.

    An event row is (seq, stream, version, type, schema, actor, command_id,
    occurred_at, recorded_at, key_id, hash, envelope); a command row is
    (command_id, first_seq, last_seq) and the head row (size, hash, recorded_at).
    """
    columns = list(zip(*event_rows, strict=True))
    commands, first_seqs, last_seqs = zip(*command_rows, strict=True)
    levels, idxs, nodes = zip(*node_rows, strict=True) if node_rows else ((), (), ())
    params: dict[str, object] = {
        "seq": list(columns[0]),
        "stream": list(columns[1]),
        "version": list(columns[2]),
        "type": list(columns[3]),
        "schema": list(columns[4]),
        "actor": list(columns[5]),
        "occurred_at": list(columns[7]),
        "key_id": list(columns[9]),
        "hash": list(columns[10]),
        "envelope": list(columns[11]),
        "command_id": list(columns[6]),
        "commands": list(commands),
        "first_seqs": list(first_seqs),
        "last_seqs": list(last_seqs),
        "new_size": head_row[0],
        "new_hash": head_row[1],
        "recorded_at": head_row[2],
        "level": list(levels),
        "idx": list(idxs),
        "node": list(nodes),
        "streams": [stream for stream, _ in stream_rows],
        "versions": [version for _, version in stream_rows],
    }
    if not commit:
        connection.exec_driver_sql(_APPEND_WRITE, params)
        return
    driver = _driver(connection)
    with _driver_errors(_APPEND_WRITE), driver.pipeline():
        driver.cursor().execute(_APPEND_WRITE, params)
        # Sent with the write; leaving the pipeline sends one Sync and waits for
        # both results. A failed write raises there, and the COMMIT, which the
        # server then skips, commits nothing.
        driver.execute("COMMIT")


def unique_violation(orig: BaseException | None) -> tuple[str, str] | None:
    """Return (table, constraint) of a unique violation, or None for any other error."""
    if not isinstance(orig, psycopg.errors.UniqueViolation):
        return None
    diag = orig.diag
    return (diag.table_name or "", diag.constraint_name or "")
