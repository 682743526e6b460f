"""Verify the ledger held in the database: the same checks as an export, plus the store's own copies.

Reads the stored envelope texts in `seq` order through the pure verifier, with the
columns stored beside each (compared with its envelope in the same pass), then checks
that the stored Merkle nodes give the events' root and that every stored checkpoint
verifies against the events.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ledger.errors import VerificationError
from ledger.integrity.verify import (
    VerifiedHead,
    Verifier,
    check_blob,
    check_blob_references,
    check_checkpoint,
)
from ledger.store import EventStore


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
    verifier.feed_rows(
        (
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
        for row in store.read_rows(1, size)
    )
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
    present = {d: check_blob(d, store.get_blob(d)) for d in store.blob_digests()}
    check_blob_references(head, present, missing="missing and was never disposed")
