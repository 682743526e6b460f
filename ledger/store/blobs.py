"""Content-addressed blobs: storing, reading and disposing of bytes by their SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Final

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

from ledger.errors import EventRejectedError, NotFoundError, VerificationError
from ledger.integrity.blobs import is_digest
from ledger.integrity.envelope import NewEvent, RecordedEvent
from ledger.store.engine import storage_errors
from ledger.store.tables import blob_disposals, blobs

BLOBS_STREAM: Final = "ledger/blobs"
_IN_CHUNK: Final = 500  # digests per IN list (well under SQLite's variable limit)


@lru_cache(maxsize=2)
def _insert(dialect: str) -> Insert:
    """INSERT of a blob that does nothing when the digest is stored already."""
    insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
    return insert(blobs).on_conflict_do_nothing(index_elements=[blobs.c.digest])


def _disposed_at(connection: Connection, digest: str) -> int | None:
    query = select(blob_disposals.c.seq).where(blob_disposals.c.digest == digest)
    seq = connection.execute(query).scalar_one_or_none()
    return None if seq is None else int(seq)


def _store(connection: Connection, digest: str, content: bytes) -> None:
    """Insert one blob unless it is stored already; refuse a disposed-of digest."""
    disposed = _disposed_at(connection, digest)
    if disposed is not None:
        raise EventRejectedError(
            f"blob {digest} was disposed of at seq {disposed}",
            {"blob": "was disposed of"},
        )
    connection.execute(
        _insert(connection.dialect.name),
        {"digest": digest, "size": len(content), "data": content},
    )


def put_blob(engine: Engine, data: bytes) -> str:
    """Store `data` under its SHA-256 and return the hex digest (idempotent)."""
    content = bytes(data)
    digest = hashlib.sha256(content).hexdigest()
    with storage_errors("storing a blob"), engine.begin() as connection:
        _store(connection, digest, content)
    return digest


class BlobWriter:
    """Blobs stored inside an append transaction, with the events that name them.

    A projector of the append (`EventStore.append_commands(projectors=...)`): the
    blobs and the events commit together or not at all. `size_of` answers for the
    blobs it holds, so commands can be decided before the transaction.
    """

    def __init__(self) -> None:
        self.pending: dict[str, bytes] = {}

    def add(self, data: bytes) -> str:
        """Hold `data` for the next append; return its hex digest."""
        content = bytes(data)
        digest = hashlib.sha256(content).hexdigest()
        self.pending.setdefault(digest, content)
        return digest

    def size_of(self, digest: str) -> int | None:
        """The size of a held blob; None when it is not held."""
        content = self.pending.get(digest)
        return None if content is None else len(content)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Store every held blob (idempotent); a disposed-of digest rolls back.

        One query for the disposals of all held digests, one insert of them all.
        """
        del events  # the blobs are stored whatever the events
        if not self.pending:
            return
        digests = sorted(self.pending)
        for start in range(0, len(digests), _IN_CHUNK):
            query = select(blob_disposals.c.digest, blob_disposals.c.seq).where(
                blob_disposals.c.digest.in_(digests[start : start + _IN_CHUNK])
            )
            for digest, seq in connection.execute(query):
                raise EventRejectedError(
                    f"blob {digest} was disposed of at seq {seq}",
                    {"blob": "was disposed of"},
                )
        connection.execute(
            _insert(connection.dialect.name),
            [
                {"digest": digest, "size": len(content), "data": content}
                for digest, content in self.pending.items()
            ],
        )

    def write(self, engine: Engine) -> None:
        """Store the held blobs in a transaction of their own."""
        with storage_errors("storing blobs"), engine.begin() as connection:
            self.apply(connection, ())


def get_blob(reader: Engine, digest: str) -> bytes:
    """Return the bytes stored under `digest`, checked against it."""
    if not is_digest(digest):
        raise NotFoundError(f"no blob {digest!r}: not a lowercase hex SHA-256")
    with storage_errors("reading a blob"), reader.connect() as connection:
        content = connection.execute(
            select(blobs.c.data).where(blobs.c.digest == digest)
        ).scalar_one_or_none()
        disposed = None if content is not None else _disposed_at(connection, digest)
    if content is None:
        if disposed is not None:
            raise NotFoundError(f"blob {digest} was disposed of at seq {disposed}")
        raise NotFoundError(f"no blob {digest}")
    content = bytes(content)
    if hashlib.sha256(content).hexdigest() != digest:
        raise VerificationError(0, f"blob {digest} does not match its digest")
    return content


def blob_size(reader: Engine, digest: str) -> int | None:
    """Return the size of the blob stored under `digest`; None when absent."""
    if not is_digest(digest):
        return None
    query = select(blobs.c.size).where(blobs.c.digest == digest)
    with storage_errors("reading a blob"), reader.connect() as connection:
        size = connection.execute(query).scalar_one_or_none()
    return None if size is None else int(size)


# Blob bytes read in one query at most (one blob alone may exceed it).
_PAGE_BYTES: Final = 16 * 2**20


def stored_blobs(reader: Engine, batch: int = 500) -> Iterator[tuple[str, bytes]]:
    """Yield (digest, bytes) of every stored blob by digest, unchecked.

    Digests and sizes come in keyset pages of `batch`, and the bytes in queries of at
    most `_PAGE_BYTES` (a larger blob alone), each in its own short transaction: a few
    queries for a ledger of small attachments, and memory bounded by the largest blob.
    """
    listing = select(blobs.c.digest, blobs.c.size).order_by(blobs.c.digest).limit(batch)
    after = ""
    while True:
        with storage_errors("reading blobs"), reader.connect() as connection:
            rows = connection.execute(listing.where(blobs.c.digest > after)).all()
        group: list[str] = []
        total = 0
        for digest, size in rows:
            if group and total + int(size) > _PAGE_BYTES:
                yield from _blob_bytes(reader, group)
                group, total = [], 0
            group.append(str(digest))
            total += int(size)
        yield from _blob_bytes(reader, group)
        if len(rows) < batch:
            return
        after = str(rows[-1][0])


def _blob_bytes(reader: Engine, digests: list[str]) -> Iterator[tuple[str, bytes]]:
    if not digests:
        return
    query = (
        select(blobs.c.digest, blobs.c.data)
        .where(blobs.c.digest.in_(digests))
        .order_by(blobs.c.digest)
    )
    with storage_errors("reading blobs"), reader.connect() as connection:
        rows = connection.execute(query).all()
    for digest, data in rows:
        yield str(digest), bytes(data)


def checked_blobs(reader: Engine) -> Iterator[tuple[str, bytes]]:
    """Yield (digest, bytes) of every stored blob by digest, each checked as
    `get_blob` checks it."""
    for digest, content in stored_blobs(reader):
        if hashlib.sha256(content).hexdigest() != digest:
            raise VerificationError(0, f"blob {digest} does not match its digest")
        yield digest, content


def blob_digests(reader: Engine) -> list[str]:
    """Return the digests of every stored (not disposed) blob, sorted."""
    query = select(blobs.c.digest).order_by(blobs.c.digest)
    with storage_errors("listing blobs"), reader.connect() as connection:
        return [str(d) for d in connection.execute(query).scalars()]


def disposal(digest: str, reason: str, *, actor: str) -> NewEvent:
    """Return `ledger.blob_disposed` of `digest`, after checking reason and digest.

    Raises:
        EventRejectedError: the reason is empty.
        NotFoundError: `digest` is not a lowercase hex SHA-256.
    """
    if not reason.strip():
        raise EventRejectedError(
            "disposing of a blob needs a reason", {"reason": "a reason is required"}
        )
    if not is_digest(digest):
        raise NotFoundError(f"no blob {digest!r}: not a lowercase hex SHA-256")
    return NewEvent(
        stream=BLOBS_STREAM,
        type="ledger.blob_disposed",
        data={"blob": digest, "reason": reason},
        actor=actor,
    )


class BlobDisposal:
    """Records a disposal and deletes the bytes inside the append transaction."""

    def __init__(self, digest: str) -> None:
        self.digest = digest

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Record the disposal at the event's seq and delete the blob's bytes."""
        digest = self.digest
        disposed = _disposed_at(connection, digest)
        if disposed is not None:
            raise EventRejectedError(
                f"blob {digest} was disposed of at seq {disposed}",
                {"blob": "disposed already"},
            )
        present = connection.execute(
            select(blobs.c.size).where(blobs.c.digest == digest)
        ).scalar_one_or_none()
        if present is None:
            raise NotFoundError(f"no blob {digest}")
        connection.execute(
            blob_disposals.insert(), {"digest": digest, "seq": events[0].seq}
        )
        # Allowed by the trigger only because the disposal row now exists.
        connection.execute(sa.delete(blobs).where(blobs.c.digest == digest))
