"""The event store on SQLAlchemy, for SQLite and PostgreSQL.

`EventStore` is the front door; the parts behind it live in the modules of this package
(see docs/architecture.md). Other packages import from here, not from the parts.
"""

from __future__ import annotations

from ledger.store.blobs import BlobWriter
from ledger.store.engine import SNAPSHOT_READ
from ledger.store.event_store import (
    EventStore,
    KeyRecord,
    Projector,
    StoredRow,
    create_engine_for,
    migrate,
)
from ledger.store.reads import envelope_rows

__all__ = [
    "SNAPSHOT_READ",
    "BlobWriter",
    "EventStore",
    "KeyRecord",
    "Projector",
    "StoredRow",
    "create_engine_for",
    "envelope_rows",
    "migrate",
]
