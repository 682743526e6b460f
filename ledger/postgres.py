"""What the event store needs to know about PostgreSQL through psycopg 3.

The only module that names psycopg: it recognises the driver's errors (which
SQLAlchemy wraps, keeping the original in `exc.orig`) and holds the connection
settings. Imported by ledger.store only when the engine is PostgreSQL.
"""

from __future__ import annotations

import psycopg
import psycopg.errors

# Sent with every connection so that pg_stat_activity shows who holds the append lock.
CONNECT_ARGS: dict[str, object] = {"application_name": "qms-ledger", "connect_timeout": 10}


def unique_violation(orig: BaseException | None) -> tuple[str, str] | None:
    """Return (table, constraint) of a unique violation, or None for any other error."""
    if not isinstance(orig, psycopg.errors.UniqueViolation):
        return None
    diag = orig.diag
    return (diag.table_name or "", diag.constraint_name or "")


def is_driver_error(orig: BaseException | None) -> bool:
    """Return whether `orig` is an error raised by psycopg."""
    return isinstance(orig, psycopg.Error)
