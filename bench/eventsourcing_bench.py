"""The baseline: eventsourcing 9.x's application recorders on SQLite and PostgreSQL.

Its recorders are used directly (no application or aggregate layer), one
`insert_events` call per transaction, with the same payload bytes and the same stream
rotation as the ledger side, so the difference measured is the persistence path.
Durability is the same on both sides: SQLite in WAL mode with synchronous=FULL (an
fsync at every commit), and on PostgreSQL the server's own settings (the bench
prints fsync and synchronous_commit), every COMMIT waited for.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
)
from sqlalchemy.engine import URL

from bench.harness import payload_bytes

TOPIC = "qms.findings:FindingRaised"


class _NormalSyncPool(SQLiteConnectionPool):
    """eventsourcing's SQLite pool with `PRAGMA synchronous=NORMAL` on each connection.

    eventsourcing ships SQLite in WAL mode with the default `synchronous=FULL` (an
    fsync of the WAL per commit), as the ledger does: that pool ("es") is the
    like-for-like comparison. This one ("es_normal") shows what eventsourcing
    gains by giving up that fsync, which the ledger does not do.
    """

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")  # no public hook
        return connection


class RecorderAppender:
    """Appends through an eventsourcing recorder, tracking each stream's version.

    An application knows its aggregate's version before it saves, so the next
    `originator_version` is what optimistic concurrency control checks (through the
    primary key); the ledger side passes the same versions as `expected_versions`.
    """

    def __init__(
        self,
        name: str,
        recorder: SQLiteApplicationRecorder | PostgresApplicationRecorder,
        datastore: SQLiteDatastore | PostgresDatastore,
        streams: int,
    ) -> None:
        self.name = name
        self._recorder = recorder
        self._datastore = datastore
        run = uuid.uuid4().hex[:8]
        self._streams = [f"finding/{run}-{k}" for k in range(streams)]
        self._versions = dict.fromkeys(self._streams, 0)
        self._count = 0

    def _next(self, stream: str) -> StoredEvent:
        self._versions[stream] += 1
        self._count += 1
        return StoredEvent(
            originator_id=stream,
            originator_version=self._versions[stream],
            topic=TOPIC,
            state=payload_bytes(self._count),
        )

    def single(self, count: int) -> None:
        """Append `count` events, one `insert_events` call (transaction) each."""
        streams = self._streams
        for i in range(count):
            self._recorder.insert_events([self._next(streams[i % len(streams)])])

    def batches(self, count: int, size: int) -> None:
        """Append `count` transactions of `size` events spread over the streams."""
        streams = self._streams
        for _ in range(count):
            events = [self._next(streams[i % len(streams)]) for i in range(size)]
            self._recorder.insert_events(events)

    def close(self) -> None:
        """Close the datastore's connections."""
        self._datastore.close()


def sqlite_appender(
    path: Path, streams: int, *, synchronous_normal: bool = False
) -> RecorderAppender:
    """Return an appender on a fresh SQLite file with eventsourcing's own settings."""
    datastore = SQLiteDatastore(db_name=str(path), originator_id_type="text")
    name = "eventsourcing sqlite"
    if synchronous_normal:
        datastore.pool.close()
        datastore.pool = _NormalSyncPool(db_name=str(path))
        name += " (synchronous=NORMAL)"
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    return RecorderAppender(name, recorder, datastore, streams)


def postgres_appender(url: URL, streams: int) -> RecorderAppender:
    """Return an appender on an empty PostgreSQL database named by `url`."""
    datastore = PostgresDatastore(
        dbname=url.database or "postgres",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        originator_id_type="text",
    )
    recorder = PostgresApplicationRecorder(datastore)
    recorder.create_table()
    return RecorderAppender("eventsourcing postgresql", recorder, datastore, streams)
