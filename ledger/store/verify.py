"""Verify the ledger held in the database: the same checks as an export, plus the store's own copies.

Reads the stored envelope texts in `seq` order through the pure verifier, with the
columns stored beside each (compared with its envelope in the same pass), then checks
that the stored Merkle nodes give the events' root and that every stored checkpoint
verifies against the events.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy.engine import Engine

from ledger.errors import VerificationError
from ledger.integrity.verify import (
    VerifiedHead,
    Verifier,
    check_blob,
    check_blob_references,
    check_checkpoint,
)
from ledger.store import EventStore
from ledger.store.engine import SNAPSHOT_READ, create_engine_for
from ledger.store.reads import row_chunk


def verify_store(
    store: EventStore,
    *,
    trusted_key_id: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[VerifiedHead, list[int]]:
    """Verify every stored event, the stored tree and the stored checkpoints.

    Returns the verified head and the sizes of the checkpoints checked.

    Raises:
        VerificationError: at the first failure (seq 0 for tree and checkpoints).
    """
    size = store.size()
    stored = store.checkpoints()
    verifier = Verifier(
        trusted_key=trusted_key_id,
        roots_at=frozenset(n for n, _ in stored if n <= size),
        workers=os.cpu_count() or 1 if workers is None else workers,
        progress=progress,
    )
    source = StoredChunks.of(store)
    if source is not None:
        verifier.feed_ranges(source, size)
    else:
        verifier.feed_rows(_rows(store, size))
    head = verifier.finish()
    count, top = store.extent()
    if (count, top) != (size, size):
        raise VerificationError(
            size + 1,
            f"the head says {size} events, but {count} are stored up to seq {top}: "
            "events are hidden behind the head or missing",
        )
    _check_caches(store, head)
    if head.size != size:
        raise VerificationError(
            min(head.size, size) + 1,
            f"the head says {size} events, {head.size} are stored",
        )
    # The stored Merkle nodes serve every proof: they must give the events' root.
    if store.root(size) != head.root:
        raise VerificationError(0, "stored Merkle nodes do not give the events' root")
    for _size, note in stored:
        check_checkpoint(note, head)
    _check_blobs(store, head)
    return head, [n for n, _ in stored]


def _rows(store: EventStore, size: int) -> Iterator[tuple[bytes, Sequence[object]]]:
    for row in store.read_rows(1, size):
        yield (
            row.envelope.encode(),
            (
                row.seq,
                row.stream,
                row.version,
                row.type,
                row.schema,
                row.actor,
                row.command_id,
                row.occurred_at,
                row.recorded_at,
                row.key_id,
                row.hash,
            ),
        )


class StoredChunks:
    """The verifier's `RowSource` on a stored ledger, in this process or a worker.

    Pickled (to a worker) it is the database's URL: each worker opens its own engine
    once and reads the chunks it checks, so the envelopes never pass through the
    process that walks the chain.
    """

    __slots__ = ("_engine", "_url")

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self._url = url
        self._engine = engine

    @classmethod
    def of(cls, store: EventStore) -> StoredChunks | None:
        """Return the source for `store`, or None when another process cannot open
        its database (SQLite in memory)."""
        url = store.engine.url
        if url.get_backend_name() == "sqlite" and url.database in (
            None,
            "",
            ":memory:",
        ):
            return None
        reader = store.engine.execution_options(**{SNAPSHOT_READ: True})
        return cls(url.render_as_string(hide_password=False), reader)

    def __getstate__(self) -> str:
        return self._url

    def __setstate__(self, url: str) -> None:
        self._url = url
        self._engine = None

    def __call__(
        self, first: int, last: int
    ) -> tuple[list[bytes], list[Sequence[object]]]:
        engine = self._engine
        if engine is None:
            engine = _worker_engines.get(self._url)
            if engine is None:
                engine = create_engine_for(self._url).execution_options(
                    **{SNAPSHOT_READ: True}
                )
                _worker_engines[self._url] = engine
            self._engine = engine
        return row_chunk(engine, first, last)


_worker_engines: dict[str, Engine] = {}


def _check_caches(store: EventStore, head: VerifiedHead) -> None:
    """The key and stream tables steer appends: they must be what the chain says."""
    stored = {
        k.key_id: (k.holder, k.purpose, k.registered_seq, k.revoked_seq)
        for k in store.key_records()
    }
    chained = {
        k.key_id: (k.holder, k.purpose, k.registered_seq, k.revoked_seq)
        for k in head.keys.values()
    }
    if stored != chained:
        wrong = min(
            k for k in stored.keys() | chained.keys() if stored.get(k) != chained.get(k)
        )
        raise VerificationError(
            0, f"the stored key table disagrees with the chain on key {wrong}"
        )
    versions = store.stream_versions()
    if versions != head.versions:
        wrong_stream = min(
            k
            for k in versions.keys() | head.versions.keys()
            if versions.get(k) != head.versions.get(k)
        )
        raise VerificationError(
            0,
            f"the stored stream table disagrees with the chain on stream {wrong_stream}",
        )


def _check_blobs(store: EventStore, head: VerifiedHead) -> None:
    present = {d: check_blob(d, content) for d, content in store.stored_blobs()}
    check_blob_references(head, present, missing="missing and was never disposed")
