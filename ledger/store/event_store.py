"""The event store's front door: `EventStore`, delegating to one module of this package per concern.

The submitted events are checked in ledger.store.prepare, the append transaction runs
in append, reads in reads, Merkle proofs in proofs, checkpoints in checkpoints, the key
registry in keys, blobs in blobs, the SQLite and PostgreSQL specifics in sqlite and
postgres. The store knows nothing of QMS record kinds: the domain decides which events
to append, the store makes them part of the record.

Longer than the modules behind it (about 700 lines) because every public method keeps
its whole contract here, where callers read it: what it does and what it raises. The
methods themselves are delegations, apart from choosing the signing key (`_signed`,
following another process's key rotation) and composing the key-registry events.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import Engine

from ledger.clock import Clock, SystemClock
from ledger.errors import (
    ConfigError,
    EventRejectedError,
    KeyMaterialError,
    NotFoundError,
)
from ledger.integrity.checkpoint import valid_origin
from ledger.integrity.envelope import NewEvent, RecordedEvent
from ledger.integrity.signing import SigningKey
from ledger.integrity.tiles import TileRef
from ledger.store import append as appending
from ledger.store import blobs, checkpoints, keys, proofs, reads, tiles
from ledger.store.append import Projector, Tip
from ledger.store.blobs import BLOBS_STREAM
from ledger.store.engine import (
    MIGRATIONS,
    SNAPSHOT_READ,
    create_engine_for,
    is_read_only,
    migrate,
)
from ledger.store.keys import KEYS_STREAM, KeyRecord
from ledger.store.prepare import Item, refuse_reserved
from ledger.store.reads import StoredRow

_T = TypeVar("_T")

KeySource = Callable[[], SigningKey]
"""Returns the service key to sign with now (e.g. loads the key file).

It raises KeyMaterialError, with what to do, when there is none."""


class EventStore:
    """The ledger's events, Merkle tree, checkpoints, keys and blobs in one database.

    One instance may be shared by the threads of a process; several processes may
    append to one database at once (appends are serialized by the database).

    Reading needs no key. Appending and signing checkpoints need one: `signer`, or
    the one `key_source` returns on first use. When another process rotated the ledger key,
    an append signed by the revoked key is refused under the append lock; the store
    then asks `key_source` again and, when that key is the ledger key in force,
    retries once with it. It never signs with a key that is not in force.
    """

    def __init__(
        self,
        engine: Engine,
        signer: SigningKey | None,
        origin: str,
        *,
        clock: Clock | None = None,
        key_source: KeySource | None = None,
    ) -> None:
        """Wrap a migrated database.

        Raises:
            ConfigError: `origin` is not printable ASCII without spaces or '+'.
        """
        if not valid_origin(origin):
            raise ConfigError(
                f"origin {origin!r} is not printable ASCII without spaces or '+'"
            )
        self.engine = engine
        self._signer = signer
        self._key_source = key_source
        self.origin = origin
        self._clock: Clock = clock or SystemClock()
        self._reader = engine.execution_options(**{SNAPSHOT_READ: True})
        self._tip: Tip | None = None

    # ------------------------------------------------------------------ signer

    @property
    def signer(self) -> SigningKey:
        """The key this store signs with (loaded from `key_source` on first use).

        Raises:
            KeyMaterialError: the store has no key and no key source, or the key
                source has none.
        """
        signer = self._signer
        if signer is None:
            if self._key_source is None:
                raise KeyMaterialError(
                    "this store holds no signing key: reading works without one, "
                    "appending and signing checkpoints need the service key"
                )
            signer = self._signer = self._key_source()
        return signer

    @signer.setter
    def signer(self, key: SigningKey) -> None:
        self._signer = key

    def _signed(self, action: Callable[[SigningKey], _T]) -> _T:
        """Run `action` with the signer; follow a rotation once if it is refused."""
        signer = self.signer
        try:
            return action(signer)
        except KeyMaterialError as exc:
            fresh = self._follow_rotation(signer, exc)
            if fresh is None:
                raise
        return action(fresh)

    def _follow_rotation(
        self, stale: SigningKey, refused: KeyMaterialError
    ) -> SigningKey | None:
        """Return the key source's key when it is the ledger key in force and not
        `stale`, and sign with it from now on; else None.

        Raises:
            KeyMaterialError: the key source failed (its message says what to do).
        """
        if self._key_source is None:
            return None
        try:
            fresh = self._key_source()
        except KeyMaterialError as exc:
            raise KeyMaterialError(f"{refused}; {exc}") from exc
        if fresh.key_id == stale.key_id:
            return None
        record = next((r for r in self.key_records() if r.key_id == fresh.key_id), None)
        if (
            record is None
            or record.purpose != "ledger"
            or record.revoked_seq is not None
        ):
            return None
        self._signer = fresh
        self._tip = None
        return fresh

    # ------------------------------------------------------------------ genesis

    def initialize(self) -> RecordedEvent:
        """Append event 1, `ledger.initialized`, registering the signer as ledger key.

        Raises:
            EventRejectedError: the ledger holds events already.
            StorageError: the database failed.
        """
        genesis = NewEvent(
            stream=KEYS_STREAM,
            type="ledger.initialized",
            data={
                "format": 1,
                "origin": self.origin,
                "public_key": self.signer.public_b64,
            },
            actor="system",
        )
        (recorded,) = self._append([Item(genesis, self.signer)], genesis=True)
        return recorded

    def genesis_origin(self) -> str | None:
        """Return the origin event 1 names, or None when the ledger has no event 1.

        Raises:
            StorageError: the database failed (or is not migrated).
            VerificationError: the stored event 1 is not an event envelope.
        """
        return reads.genesis_origin(self._reader)

    def is_initialized(self) -> bool:
        """Return whether event 1 exists.

        Raises:
            StorageError: the database failed (or is not migrated).
        """
        return self.size() > 0

    # ------------------------------------------------------------------ append

    def append(
        self,
        events: Sequence[NewEvent],
        expected_versions: Mapping[str, int] | None = None,
        *,
        command_id: str | None = None,
        causation: str | None = None,
        correlation: str | None = None,
        projectors: Sequence[Projector] = (),
    ) -> list[RecordedEvent]:
        """Append `events` as one all-or-nothing batch and return them as recorded.

        `expected_versions` maps a stream to the version the caller decided on (0: the
        stream must not exist yet); it may name streams the batch does not write to.
        A `command_id` seen before appends nothing and returns that command's events.
        Each projector's `apply` runs inside the same transaction.

        Raises:
            EventRejectedError: an event breaks the envelope rules (the messages name
                the field), or it targets a stream of kind `ledger`.
            ConcurrencyError: a stream's version differs from the expected one.
            KeyMaterialError: the signer is not a registered, unrevoked ledger key.
            StorageError: the database failed.
        """
        for event_ in events:
            refuse_reserved(event_)
        return self._signed(
            lambda signer: self._append(
                [Item(e, signer) for e in events],
                expected_versions,
                command_id=command_id,
                causation=causation,
                correlation=correlation,
                projectors=projectors,
            )
        )

    def append_commands(
        self,
        commands: Sequence[Sequence[NewEvent]],
        expected_versions: Mapping[str, int] | None = None,
        *,
        projectors: Sequence[Projector] = (),
    ) -> list[RecordedEvent]:
        """Append several commands' events in one all-or-nothing transaction.

        Each command gets a command id of its own (every event of one command shares
        it, as in `append`), so a batch of commands is not mistaken for one command.
        `expected_versions` and `projectors` work as in `append`.

        Raises:
            EventRejectedError: an event breaks the envelope rules, or it targets a
                stream of kind `ledger`.
            ConcurrencyError: a stream's version differs from the expected one.
            KeyMaterialError: the signer is not a registered, unrevoked ledger key.
            StorageError: the database failed.
        """
        batch: list[NewEvent] = []
        ids: list[str] = []
        for command in commands:
            cid = uuid.uuid4().hex
            for event_ in command:
                refuse_reserved(event_)
                batch.append(event_)
                ids.append(cid)
        return self._signed(
            lambda signer: self._append(
                [Item(e, signer) for e in batch],
                expected_versions,
                projectors=projectors,
                item_commands=ids,
            )
        )

    def _append(
        self,
        items: Sequence[Item],
        expected_versions: Mapping[str, int] | None = None,
        *,
        command_id: str | None = None,
        causation: str | None = None,
        correlation: str | None = None,
        projectors: Sequence[Projector] = (),
        genesis: bool = False,
        item_commands: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """Append `items` in one transaction (ledger.store.append.append)."""
        recorded, tip = appending.append(
            self.engine,
            self._reader,
            items,
            expected_versions,
            clock=self._clock,
            tip=self._tip,
            command_id=command_id,
            causation=causation,
            correlation=correlation,
            projectors=projectors,
            genesis=genesis,
            item_commands=item_commands,
        )
        # Only a committed append may update what this process believes the head is.
        if tip is not None:
            self._tip = tip
        return recorded

    # ------------------------------------------------------------------ reads

    def read(
        self, from_seq: int = 1, to_seq: int | None = None, *, batch: int = 2000
    ) -> Iterator[RecordedEvent]:
        """Yield events from_seq..to_seq (default: the head when reading starts).

        Raises:
            EventRejectedError: the range or batch size is invalid.
            StorageError: the database failed.
            VerificationError: a stored envelope is not an event.
        """
        reads.check_range(from_seq, to_seq, batch)
        pages = reads.pages(self._reader, from_seq, to_seq, batch)
        return (reads.event_from_text(row.envelope, row.seq) for row in pages)

    def read_by_stream(
        self, to_seq: int | None = None, *, batch: int = 5000
    ) -> Iterator[RecordedEvent]:
        """Yield events 1..to_seq stream by stream, each stream's in version order.

        What a rebuild folds: one record's whole history at a time. Pages follow the
        (stream, version) index, each read in its own short transaction.

        Raises:
            EventRejectedError: the range or batch size is invalid.
            StorageError: the database failed.
            VerificationError: a stored envelope is not an event.
        """
        if batch < 1 or (to_seq is not None and to_seq < 0):
            raise EventRejectedError(
                "read range must have to_seq >= 0 and batch >= 1",
                {"range": f"to_seq={to_seq}, batch={batch}"},
            )
        last = self.size() if to_seq is None else to_seq
        return reads.stream_pages(self._reader, last, batch)

    def read_lines(
        self, from_seq: int = 1, to_seq: int | None = None, *, batch: int = 5000
    ) -> Iterator[bytes]:
        """Yield the stored envelope texts (UTF-8, no newline) in seq order.

        Rows are fetched in pages by seq (keyset pagination), each page in its own
        short transaction, so memory stays flat and no lock is held between pages.

        Raises:
            EventRejectedError: the range or batch size is invalid.
            StorageError: the database failed.
        """
        reads.check_range(from_seq, to_seq, batch)
        pages = reads.pages(self._reader, from_seq, to_seq, batch)
        return (row.envelope.encode() for row in pages)

    def read_rows(
        self, from_seq: int = 1, to_seq: int | None = None, *, batch: int = 5000
    ) -> Iterator[StoredRow]:
        """Yield each stored row: the envelope text and the columns indexed beside it.

        Verification compares the columns with the envelope: queries select by the
        columns, so a column edited behind the envelope's back must not go unseen.

        Raises:
            EventRejectedError: the range or batch size is invalid.
            StorageError: the database failed.
        """
        reads.check_range(from_seq, to_seq, batch)
        return reads.stored_rows(self._reader, from_seq, to_seq, batch)

    def read_stream(self, stream: str) -> list[RecordedEvent]:
        """Return the events of `stream` in version order ([] when it has none).

        Raises:
            StorageError: the database failed.
        """
        return reads.read_stream(self._reader, stream)

    def stream_version(self, stream: str) -> int:
        """Return the current version of `stream`, 0 when it has no events.

        Raises:
            StorageError: the database failed.
        """
        return reads.stream_version(self._reader, stream)

    def events_for_command(self, command_id: str) -> list[RecordedEvent]:
        """Return the events the command `command_id` appended ([] when unknown).

        Raises:
            StorageError: the database failed.
        """
        return reads.command_events(self._reader, command_id)

    def size(self) -> int:
        """Return the number of events in the ledger.

        Raises:
            StorageError: the database failed (or is not migrated).
        """
        return self.head()[0]

    def head(self) -> tuple[int, bytes]:
        """Return (size, hash of the last event), or (0, 32 zero bytes) when empty.

        Raises:
            StorageError: the database failed (or is not migrated).
        """
        return reads.read_head(self._reader)

    def extent(self) -> tuple[int, int]:
        """Return (row count, highest seq) of the events table, whatever the head says.

        Raises:
            StorageError: the database failed.
        """
        return reads.extent(self._reader)

    def stream_versions(self) -> dict[str, int]:
        """Return the stored current version of every stream.

        Raises:
            StorageError: the database failed.
        """
        return reads.stream_versions(self._reader)

    def size_at(self, moment: datetime) -> int:
        """Return n(T): how many events have recorded_at <= `moment`.

        recorded_at never decreases, so those events are the prefix 1..n(T), and n(T)
        is the seq of the last of them: one probe of the (recorded_at, seq) index.

        Raises:
            EventRejectedError: `moment` is naive.
            StorageError: the database failed.
        """
        return reads.size_at(self._reader, moment)

    # ------------------------------------------------------------------ Merkle

    def root(self, size: int | None = None) -> bytes:
        """Return the RFC 9162 tree head over the first `size` events (default: all).

        Read from the O(log n) stored nodes that make the tree, never from all leaves.

        Raises:
            EventRejectedError: `size` is negative or beyond the ledger.
            StorageError: the database failed.
            VerificationError: (seq 0) a stored Merkle node is missing.
        """
        return proofs.root(self._reader, size)

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of event `seq` (leaf seq-1) in `size`.

        Raises:
            NotFoundError: no event `seq` in the ledger.
            EventRejectedError: `size` is beyond the ledger or smaller than `seq`.
            StorageError: the database failed.
            VerificationError: (seq 0) a stored Merkle node is missing.
        """
        return proofs.inclusion_proof(self._reader, seq, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return the RFC 9162 consistency proof from tree `size1` to `size2` (or now).

        Raises:
            EventRejectedError: a size is negative, beyond the ledger, or size1 > size2.
            StorageError: the database failed.
            VerificationError: (seq 0) a stored Merkle node is missing.
        """
        return proofs.consistency_proof(self._reader, size1, size2)

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self, size: int | None = None) -> str:
        """Sign a checkpoint of the current tree (or of an earlier `size`), store it
        and return the note.

        A checkpoint of a size that has one already returns the stored note. An
        earlier size can be signed only while the signer was in force after it, so
        a report of a past instant can be stamped until the key is rotated (the
        rotation itself stores a checkpoint of the old key's last size).

        Raises:
            EventRejectedError: the ledger is not initialized, or `size` is not in it.
            ConfigError: the store's origin is not the one event 1 names.
            KeyMaterialError: the signer is not a ledger key in force after `size`
                (a stored checkpoint is returned without any key).
            StorageError: the database failed.
        """
        existing = checkpoints.existing_checkpoint(self._reader, size)
        if existing is not None:
            return existing
        return self._signed(lambda signer: self._checkpoint(size, signer))

    def _checkpoint(self, wanted: int | None, signer: SigningKey) -> str:
        """Sign and store a checkpoint with `signer` (see `checkpoint`)."""
        return checkpoints.make_checkpoint(
            self.engine, wanted, signer, origin=self.origin, clock=self._clock
        )

    def checkpoint_for(self, size: int) -> str | None:
        """Return the stored checkpoint note of exactly `size`, or None.

        Raises:
            StorageError: the database failed.
        """
        return checkpoints.checkpoint_for(self._reader, size)

    def checkpoints(self) -> list[tuple[int, str]]:
        """Return every stored checkpoint as (size, note), smallest size first.

        Raises:
            StorageError: the database failed.
        """
        return checkpoints.all_checkpoints(self._reader)

    def latest_checkpoint(self) -> str:
        """Return the checkpoint of the head, signed now if it has none; without a key
        (or on a read-only copy), the stored checkpoint of the largest size.

        Raises:
            NotFoundError: no key to sign one and no checkpoint stored.
            EventRejectedError: the ledger is not initialized.
            StorageError: the database failed.
        """
        if not is_read_only(self.engine):
            try:
                return self.checkpoint()
            except KeyMaterialError:
                pass
        note = checkpoints.latest_stored(self._reader)
        if note is None:
            raise NotFoundError("no checkpoint has been signed yet")
        return note

    # ------------------------------------------------------------------ tiles

    def hash_tile(self, tile: TileRef) -> bytes:
        """Return the C2SP tlog-tiles hash tile `tile` (ledger.store.tiles.hash_tile)."""
        return tiles.hash_tile(self._reader, tile)

    def entry_bundle(self, tile: TileRef) -> bytes:
        """Return the C2SP tlog-tiles entry bundle `tile` (its leaves: event hashes)."""
        return tiles.entry_bundle(self._reader, tile)

    def tlog_proof(self, seq: int, size: int | None = None) -> str:
        """Return the C2SP tlog-proof file of event `seq` against the checkpoint of
        `size` (signed now if it has none), default: `latest_checkpoint`.

        Raises:
            NotFoundError: no event `seq`, or no checkpoint to prove against.
            EventRejectedError: the checkpoint's tree does not hold event `seq`.
            KeyMaterialError: `size` has no checkpoint and this store has no key.
            StorageError: the database failed.
        """
        note = self.latest_checkpoint() if size is None else self.checkpoint(size)
        return tiles.tlog_proof(self._reader, seq, note)

    # ------------------------------------------------------------------ keys

    def key_records(self) -> list[KeyRecord]:
        """Return every registered key, in registration order.

        Raises:
            StorageError: the database failed.
        """
        return keys.key_records(self._reader)

    def register_key(
        self,
        public_raw: bytes,
        *,
        holder: str,
        purpose: str,
        actor: str = "system",
        command_id: str | None = None,
        extra_events: Sequence[NewEvent] = (),
        expected_versions: Mapping[str, int] | None = None,
        projectors: Sequence[Projector] = (),
        revoke: Sequence[tuple[str, str]] = (),
    ) -> list[RecordedEvent]:
        """Append `ledger.key_registered` for a raw Ed25519 key, and `extra_events`.

        The key may sign (ledger) or e-sign (esign) from the next event on.
        `expected_versions` and `projectors` work as in `append` (the service enrols
        a user and seals their key in the same transaction). `revoke` names keys
        (key id, reason) the new key replaces: their `ledger.key_revoked` events
        follow in the same transaction, so either both happen or neither does.

        Raises:
            EventRejectedError: the key is malformed or registered already, purpose is
                not ledger/esign, holder is not 'service' or a user id, an extra
                event is rejected, or a key to revoke is unknown, revoked already,
                has no reason or is this store's own signer.
            KeyMaterialError: the signer is not a ledger key in force.
            StorageError: the database failed.
        """
        if len(public_raw) != 32:
            raise EventRejectedError(
                "public key must be 32 raw bytes",
                {"public_key": "must be 32 raw bytes"},
            )
        for extra in extra_events:
            refuse_reserved(extra)
        registration = keys.registration(
            public_raw, holder=holder, purpose=purpose, actor=actor
        )

        def append(signer: SigningKey) -> list[RecordedEvent]:
            revocations = [
                self._revocation(kid, reason, actor, signer) for kid, reason in revoke
            ]
            items = [
                Item(registration, signer),
                *(Item(e, signer) for e in extra_events),
                *(Item(e, signer) for e in revocations),
            ]
            return self._append(
                items, expected_versions, command_id=command_id, projectors=projectors
            )

        return self._signed(append)

    @staticmethod
    def _revocation(
        key_id: str, reason: str, actor: str, signer: SigningKey
    ) -> NewEvent:
        """Return `ledger.key_revoked` of a key other than `signer`."""
        if key_id == signer.key_id:
            raise EventRejectedError(
                "the store's own signing key is replaced with rotate_ledger_key",
                {"key_id": "is the key this store signs with"},
            )
        return keys.revocation(key_id, reason, actor=actor)

    def revoke_key(
        self, key_id: str, reason: str, *, actor: str = "system"
    ) -> RecordedEvent:
        """Append `ledger.key_revoked`; the key signs nothing after this event.

        Raises:
            EventRejectedError: the key is unknown or revoked already, the reason is
                empty, or the key is this store's own signer (use rotate_ledger_key).
            KeyMaterialError: the signer is not a ledger key in force.
            StorageError: the database failed.
        """

        def append(signer: SigningKey) -> list[RecordedEvent]:
            revocation = self._revocation(key_id, reason, actor, signer)
            return self._append([Item(revocation, signer)])

        (recorded,) = self._signed(append)
        return recorded

    def rotate_ledger_key(
        self, new_key: SigningKey, reason: str = "scheduled rotation"
    ) -> list[RecordedEvent]:
        """Replace the signer with `new_key` in one transaction of two events.

        `ledger.key_registered` of the new key is signed by the old key; the new key
        takes effect from the next event, so it signs `ledger.key_revoked` of the old
        key, which then signs nothing more. Only after the commit does this store sign
        with `new_key`.

        Raises:
            EventRejectedError: `new_key` is the current signer or registered already,
                or the reason is empty.
            KeyMaterialError: the current signer is not a ledger key in force.
            StorageError: the database failed.
        """
        old = self.signer
        if new_key.key_id == old.key_id:
            raise EventRejectedError(
                "the new key is the current signing key",
                {"key_id": "must be a new key"},
            )
        registration = keys.registration(
            new_key.public_raw, holder="service", purpose="ledger", actor="system"
        )
        revocation = keys.revocation(old.key_id, reason, actor="system")
        # Seal the old key's epoch: after the rotation nobody can sign this size.
        # No following of another rotation here: the caller decided which key is old.
        self._checkpoint(None, old)
        recorded = self._append([Item(registration, old), Item(revocation, new_key)])
        self._signer = new_key
        return recorded

    # ------------------------------------------------------------------ blobs

    def put_blob(self, data: bytes) -> str:
        """Store `data` under its SHA-256 and return the hex digest (idempotent).

        Raises:
            EventRejectedError: a blob with this digest was disposed of.
            StorageError: the database failed.
        """
        return blobs.put_blob(self.engine, data)

    def get_blob(self, digest: str) -> bytes:
        """Return the bytes stored under `digest`.

        Raises:
            NotFoundError: no such blob, or it was disposed of.
            VerificationError: (seq 0) the stored bytes do not hash to `digest`.
            StorageError: the database failed.
        """
        return blobs.get_blob(self._reader, digest)

    def blob_size(self, digest: str) -> int | None:
        """Return the size of the blob stored under `digest`; None when absent.

        A blob that was disposed of, or a digest that is not lowercase hex SHA-256,
        is absent.

        Raises:
            StorageError: the database failed.
        """
        return blobs.blob_size(self._reader, digest)

    def stored_blobs(self) -> Iterator[tuple[str, bytes]]:
        """Yield (digest, bytes) of every stored blob, by digest, unchecked: for a
        verifier, which checks each against its digest (a few queries in all, where
        `get_blob` per digest would cost one each).

        Raises:
            StorageError: the database failed.
        """
        return blobs.stored_blobs(self._reader)

    def checked_blobs(self) -> Iterator[tuple[str, bytes]]:
        """Yield (digest, bytes) of every stored blob, by digest, each checked against
        its digest as `get_blob` checks it: for an export, a few queries in all.

        Raises:
            VerificationError: (seq 0) a blob's bytes do not hash to its digest.
            StorageError: the database failed.
        """
        return blobs.checked_blobs(self._reader)

    def blob_digests(self) -> list[str]:
        """Return the digests of every stored (not disposed) blob, sorted.

        Raises:
            StorageError: the database failed.
        """
        return blobs.blob_digests(self._reader)

    def dispose_blob(self, digest: str, reason: str, *, actor: str) -> RecordedEvent:
        """Record `ledger.blob_disposed` and delete the blob's bytes in one transaction.

        The event and the digest stay on the record; the bytes are gone.

        Raises:
            EventRejectedError: the reason is empty or the blob was disposed of already.
            NotFoundError: no such blob.
            KeyMaterialError: the signer is not a ledger key in force.
            StorageError: the database failed.
        """
        disposal = blobs.disposal(digest, reason, actor=actor)
        (recorded,) = self._signed(
            lambda signer: self._append(
                [Item(disposal, signer)], projectors=[blobs.BlobDisposal(digest)]
            )
        )
        return recorded


__all__ = [
    "BLOBS_STREAM",
    "KEYS_STREAM",
    "MIGRATIONS",
    "SNAPSHOT_READ",
    "EventStore",
    "KeyRecord",
    "KeySource",
    "Projector",
    "StoredRow",
    "create_engine_for",
    "migrate",
]
