"""What the event store needs to know about PostgreSQL through psycopg 3.

The only module that names psycopg: it recognises the driver's errors (which
SQLAlchemy wraps, keeping the original in `exc.orig`), holds the connection settings
and the one-statement write of an append. Imported by ledger.store only when the
engine is PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import psycopg.errors
from sqlalchemy.engine import Connection

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
    SELECT seq, stream, version, type, schema, actor, %(command_id)s,
           occurred_at, %(recorded_at)s, key_id, hash, envelope
    FROM unnest(%(seq)s::bigint[], %(stream)s::text[], %(version)s::integer[],
                %(type)s::text[], %(schema)s::integer[], %(actor)s::text[],
                %(occurred_at)s::text[], %(key_id)s::text[], %(hash)s::bytea[],
                %(envelope)s::text[])
         AS e(seq, stream, version, type, schema, actor, occurred_at, key_id, hash,
              envelope)
), new_nodes AS (
    INSERT INTO merkle_nodes (level, idx, hash)
    SELECT * FROM unnest(%(level)s::smallint[], %(idx)s::bigint[], %(node)s::bytea[])
), stream_versions AS (
    INSERT INTO ledger_streams (stream, version)
    SELECT * FROM unnest(%(streams)s::text[], %(versions)s::integer[])
    ON CONFLICT (stream) DO UPDATE SET version = excluded.version
), new_command AS (
    INSERT INTO ledger_commands (command_id, first_seq, last_seq)
    VALUES (%(command_id)s, %(first_seq)s, %(last_seq)s)
)
UPDATE ledger_head SET size = %(new_size)s, hash = %(new_hash)s,
       recorded_at = %(recorded_at)s
WHERE id = 1
"""

_EVENT_COLUMNS = (
    "seq",
    "stream",
    "version",
    "type",
    "schema",
    "actor",
    "occurred_at",
    "key_id",
    "hash",
    "envelope",
)


def write_append(
    connection: Connection,
    event_rows: Sequence[Mapping[str, object]],
    node_rows: Sequence[Mapping[str, object]],
    stream_rows: Sequence[Mapping[str, object]],
    command_row: Mapping[str, object],
    head_row: Mapping[str, object],
) -> None:
    """Insert the events, nodes, stream versions and command, and move the head."""
    params: dict[str, object] = {
        name: [row[name] for row in event_rows] for name in _EVENT_COLUMNS
    }
    params.update(
        command_id=command_row["command_id"],
        first_seq=command_row["first_seq"],
        last_seq=command_row["last_seq"],
        recorded_at=head_row["new_recorded_at"],
        new_size=head_row["new_size"],
        new_hash=head_row["new_hash"],
        level=[row["level"] for row in node_rows],
        idx=[row["idx"] for row in node_rows],
        node=[row["hash"] for row in node_rows],
        streams=[row["stream"] for row in stream_rows],
        versions=[row["version"] for row in stream_rows],
    )
    connection.exec_driver_sql(_APPEND_WRITE, params)


def unique_violation(orig: BaseException | None) -> tuple[str, str] | None:
    """Return (table, constraint) of a unique violation, or None for any other error."""
    if not isinstance(orig, psycopg.errors.UniqueViolation):
        return None
    diag = orig.diag
    return (diag.table_name or "", diag.constraint_name or "")
