"""The append transaction, as a sequence of named steps from taking the lock to the new tip.

`append` checks the submitted events before the lock (ledger.store.prepare), then
`append_locked` runs, in one transaction, the steps below it in order:
`lock_and_read` (the append lock, the head, the streams' versions, a command seen
before), `check_initialized`, `checked_versions`, `signer_keys`, the Merkle frontier,
`recorded_time`, `build_events` (seq, version, prev, hash and signature of each event;
signers and key events checked against the registry; the tree extended),
`write_rows`, the key registry, the inline projectors, and `next_tip`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ledger.clock import Clock
from ledger.errors import ConcurrencyError, EventRejectedError, StorageError
from ledger.integrity import merkle
from ledger.integrity.canonical import canonical_object
from ledger.integrity.chain import signature_message
from ledger.integrity.envelope import RecordedEvent, format_time
from ledger.store import keys, reads, sqlite
from ledger.store.engine import driver_message
from ledger.store.prepare import (
    Item,
    Prepared,
    checked_expected,
    prepare_batch,
    quoted,
)
from ledger.store.proofs import load_frontier


class Projector(Protocol):
    """A read model updated inside the append transaction."""

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Apply newly recorded events; raising rolls the whole append back."""


@dataclass(frozen=True, slots=True)
class Tip:
    """What this process knows holds at the head (size, hash).

    Valid only while the locked head equals (size, hash); then the frontier need not
    be reloaded and `signer_id` is known to be a ledger key in force for event
    size + 1.
    """

    size: int
    hash: bytes
    frontier: merkle.Frontier
    signer_id: str


@dataclass(frozen=True, slots=True)
class Locked:
    """What an append read under the lock: the head, stream versions, the command."""

    size: int
    hash: bytes
    recorded_at: str | None
    versions: dict[str, int]  # the stored versions of the streams concerned
    command_seen: bool


@dataclass(slots=True)
class Built:
    """The rows and events `build_events` made of a batch."""

    versions: dict[str, int]  # every touched stream's version after the batch
    recorded_at: str
    prev: bytes = b""  # the hash of the batch's last event
    event_rows: list[tuple[object, ...]] = field(default_factory=list)
    node_rows: list[tuple[int, int, bytes]] = field(default_factory=list)
    key_changes: list[keys.KeyRecord] = field(default_factory=list)
    recorded: list[RecordedEvent] = field(default_factory=list)


def append(
    engine: Engine,
    reader: Engine,
    items: Sequence[Item],
    expected_versions: Mapping[str, int] | None,
    *,
    clock: Clock,
    tip: Tip | None,
    command_id: str | None = None,
    causation: str | None = None,
    correlation: str | None = None,
    projectors: Sequence[Projector] = (),
    genesis: bool = False,
    item_commands: Sequence[str] | None = None,
) -> tuple[list[RecordedEvent], Tip | None]:
    """Append `items` in one transaction; return them as recorded and the new tip.

    `item_commands` gives each item's (generated) command id when the items are
    several commands; otherwise all items are one command, `command_id` or a new id.
    The tip is None when nothing was appended (a command seen before).
    """
    if not items:
        return [], None
    expected = checked_expected(expected_versions)
    cid = uuid.uuid4().hex if command_id is None else command_id
    ids = [cid] * len(items) if item_commands is None else item_commands
    prepared = prepare_batch(items, ids, causation, correlation)
    try:
        with engine.begin() as connection:
            return append_locked(
                connection,
                prepared,
                expected,
                # A command id the caller did not give cannot have been seen: no lookup.
                command_id,
                clock=clock,
                tip=tip,
                projectors=projectors,
                genesis=genesis,
                commit=True,
            )
    except IntegrityError as exc:
        clash = classify(exc, engine.dialect.name == "postgresql")
        if clash == "command":
            # Another process committed the same command between our reads: the
            # command is done, exactly as if we had seen it under the lock.
            earlier = reads.command_events(reader, cid)
            if earlier:
                return earlier, None
        if clash in ("command", "sequence"):
            raise ConcurrencyError(
                f"the ledger moved during the append: {driver_message(exc)}"
            ) from exc
        raise StorageError(f"append failed: {driver_message(exc)}") from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"append failed: {driver_message(exc)}") from exc


# ----------------------------------------------------------- under the lock


def append_locked(
    connection: Connection,
    prepared: Sequence[Prepared],
    expected: Mapping[str, int],
    command_id: str | None,
    *,
    clock: Clock,
    tip: Tip | None,
    projectors: Sequence[Projector],
    genesis: bool,
    commit: bool = False,
) -> tuple[list[RecordedEvent], Tip | None]:
    """Run the steps of an append inside its transaction (the caller commits).

    `command_id` is the command to look up (None: a generated one, never seen); each
    prepared event carries its own command id in its meta (several commands may
    share a batch). With `commit`, the transaction may be committed here, together
    with its last write, when nothing else is left to run in it (PostgreSQL: one
    round trip fewer); the caller's commit then finds nothing left to do.
    """
    touched = sorted({p.item.event.stream for p in prepared} | set(expected))
    locked = lock_and_read(connection, touched, command_id)
    check_initialized(locked.size, genesis=genesis)
    if locked.command_seen and command_id is not None:
        # A command id seen before: append nothing, return its events.
        return reads.events_for_command(connection, command_id), None
    versions = checked_versions(touched, locked.versions, expected)
    if tip is not None and (tip.size, tip.hash) != (locked.size, locked.hash):
        tip = None  # another process (or thread) appended since
    key_state = signer_keys(connection, prepared, tip)
    # The Merkle frontier of the locked head: the cached one when the head is the one
    # this process committed last, else its O(log n) peaks from the table.
    if tip is not None:
        frontier = tip.frontier.copy()
    else:
        frontier = load_frontier(connection, locked.size)
    built = build_events(
        prepared, locked, versions, recorded_time(clock, locked), key_state, frontier
    )
    # The write is the transaction's last statement when no key changes and no
    # projector follow it: then it may carry the COMMIT with it.
    last = commit and not built.key_changes and not projectors
    write_rows(connection, prepared, locked.size, built, commit=last)
    # The key registry follows the key events in the same transaction.
    keys.write_key_changes(connection, built.key_changes)
    # Inline projections see the events before anyone else can.
    for projector in projectors:
        projector.apply(connection, built.recorded)
    # Committing is the caller's; only then may the new tip be remembered.
    return built.recorded, next_tip(prepared, locked.size, built, frontier, key_state)


def lock_and_read(
    connection: Connection, touched: Sequence[str], command_id: str | None
) -> Locked:
    """Take the append lock; read the head, the versions of `touched` and whether
    `command_id` was recorded before."""
    # PostgreSQL: SELECT ... FOR UPDATE on the single ledger_head row. SQLite: the
    # transaction began with BEGIN IMMEDIATE, which holds the database's write lock.
    # Either way the lock is released only by COMMIT or ROLLBACK, and seq is
    # assigned (size + 1, ...) while holding it, so the order in which events are
    # inserted is the order in which they commit. A database sequence or identity
    # column would not give that: transaction A could draw seq 7, transaction B
    # seq 8, B commit first, and a reader that has seen 8 would never look back
    # for 7. Event seq, prev and the Merkle tree all depend on that order.
    #
    # PostgreSQL runs READ COMMITTED: when the lock is granted, every later
    # statement of this transaction takes a fresh snapshot that includes every
    # append committed before (they committed before releasing the lock). That is
    # why nothing else is read in the locking statement itself, whose snapshot
    # predates the wait.
    #
    # On SQLite the head is read in the same statement as the stream versions and
    # the command: BEGIN IMMEDIATE took the lock before any of them is read.
    if connection.dialect.name == "postgresql":
        from ledger.store import postgres  # psycopg only for PostgreSQL

        # The lock, then the versions and whether the command was seen, read by a
        # second statement that the server runs once the lock is granted; both
        # sent in one round trip.
        head_row, versions, seen = postgres.locked_state(
            connection, touched, command_id
        )
    else:
        head_row, versions, seen = sqlite.locked_state(connection, touched, command_id)
    size, head_hash, recorded_at = head_row
    return Locked(size, head_hash, recorded_at, versions, seen)


def check_initialized(size: int, *, genesis: bool) -> None:
    """Refuse event 1 on a ledger that has it, and any other event on one without."""
    if genesis and size:
        raise EventRejectedError(
            "the ledger is initialized already", {"ledger": f"holds {size} events"}
        )
    if not genesis and not size:
        raise EventRejectedError(
            "the ledger is not initialized", {"ledger": "run initialize() first"}
        )


def checked_versions(
    touched: Sequence[str], found: Mapping[str, int], expected: Mapping[str, int]
) -> dict[str, int]:
    """Return the current version of every touched stream, refusing unexpected ones."""
    versions = dict.fromkeys(touched, 0)
    versions.update(found)
    for stream, want in expected.items():
        if versions[stream] != want:
            raise ConcurrencyError(
                f"stream {stream}: expected version {want}, actual {versions[stream]}"
            )
    return versions


def signer_keys(
    connection: Connection, prepared: Sequence[Prepared], tip: Tip | None
) -> dict[str, keys.KeyRecord] | None:
    """Return the records of the signers and of the keys the key events name.

    None when no check is needed: the tip (this process made the locked head) says
    the one signer is a ledger key in force, and the batch changes no key.
    """
    signer_ids = {p.item.signer.key_id for p in prepared}
    has_key_events = any(p.item.event.stream == keys.KEYS_STREAM for p in prepared)
    if tip is not None and not has_key_events and signer_ids == {tip.signer_id}:
        return None
    wanted = set(signer_ids)
    for p in prepared:
        event_ = p.item.event
        if event_.stream == keys.KEYS_STREAM and isinstance(
            event_.data.get("key_id"), str
        ):
            wanted.add(str(event_.data["key_id"]))
    return keys.load_keys(connection, wanted)


def recorded_time(clock: Clock, locked: Locked) -> str:
    """Return the batch's recorded_at: the later of now and the head's, so it never
    decreases, even when the clock steps back."""
    recorded_at = format_time(clock.now())
    if locked.recorded_at is not None and locked.recorded_at > recorded_at:
        return locked.recorded_at
    return recorded_at


def build_events(
    prepared: Sequence[Prepared],
    locked: Locked,
    versions: dict[str, int],
    recorded_at: str,
    key_state: dict[str, keys.KeyRecord] | None,
    frontier: merkle.Frontier,
) -> Built:
    """Number, chain and sign every event; check signers and key events; extend the
    Merkle `frontier` with each event's hash."""
    built = Built(versions=versions, recorded_at=recorded_at, prev=locked.hash)
    count = len(prepared)
    recorded_q = quoted(recorded_at)
    for offset, p in enumerate(prepared):
        seq = locked.size + 1 + offset
        if key_state is not None:
            where = f"event {offset + 1} of {count}: " if count > 1 else ""
            _check_keys(key_state, p, seq, where, built.key_changes)
        stream = p.item.event.stream
        version = versions[stream] + 1
        versions[stream] = version
        digest = _seal(p, seq, version, built.prev, recorded_at, recorded_q, built)
        built.node_rows.extend(frontier.append(digest))
        built.prev = digest
    return built


def _check_keys(
    key_state: dict[str, keys.KeyRecord],
    p: Prepared,
    seq: int,
    where: str,
    changes: list[keys.KeyRecord],
) -> None:
    """Check the signer of event `seq`, and a key event against the registry."""
    item = p.item
    if seq > 1:
        keys.check_signer(key_state, item.signer, seq)
    if item.event.stream == keys.KEYS_STREAM:
        change = keys.key_change(key_state, item.event, item.signer, seq, where)
        key_state[change.key_id] = change
        changes.append(change)


def _seal(
    p: Prepared,
    seq: int,
    version: int,
    prev: bytes,
    recorded_at: str,
    recorded_q: bytes,
    built: Built,
) -> bytes:
    """Make event `seq`'s envelope, hash and signature; add its row and its recorded
    event to `built`; return its hash."""
    item = p.item
    event_ = item.event
    occurred_at = p.occurred_at or recorded_at
    prev_hex = prev.hex()
    # The body (the envelope without hash and sig) and then the full envelope, both
    # in JCS, from the members' canonical bytes (ledger.integrity.canonical).
    members = dict(p.members)
    members["seq"] = b"%d" % seq
    members["version"] = b"%d" % version
    members["occurred_at"] = quoted(occurred_at)
    members["recorded_at"] = recorded_q
    members["prev"] = quoted(prev_hex)
    digest = hashlib.sha256(canonical_object(members)).digest()
    hash_hex = digest.hex()
    sig = base64.b64encode(item.signer.sign(signature_message(digest))).decode()
    members["hash"] = quoted(hash_hex)
    members["sig"] = quoted(sig)
    text = canonical_object(members).decode()
    built.event_rows.append(
        (
            seq,
            event_.stream,
            version,
            event_.type,
            event_.schema,
            event_.actor,
            p.meta["command_id"],
            occurred_at,
            recorded_at,
            item.signer.key_id,
            digest,
            text,
        )
    )
    built.recorded.append(
        RecordedEvent(
            seq=seq,
            stream=event_.stream,
            version=version,
            type=event_.type,
            schema=event_.schema,
            # A fresh copy of the payload exactly as recorded (arrays as lists),
            # shared with neither the caller nor the stored text.
            data=json.loads(p.members["data"]),
            meta=p.meta,
            actor=event_.actor,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            prev=prev_hex,
            key=item.signer.key_id,
            hash=hash_hex,
            sig=sig,
        )
    )
    return digest


def command_rows(
    prepared: Sequence[Prepared], first_seq: int
) -> list[tuple[str, int, int]]:
    """Return (command_id, first_seq, last_seq) of each command among `prepared`."""
    rows: list[tuple[str, int, int]] = []
    for seq, p in enumerate(prepared, start=first_seq):
        cid = p.meta["command_id"]
        if rows and rows[-1][0] == cid:
            rows[-1] = (cid, rows[-1][1], seq)
        else:
            rows.append((cid, seq, seq))
    return rows


def write_rows(
    connection: Connection,
    prepared: Sequence[Prepared],
    size: int,
    built: Built,
    *,
    commit: bool = False,
) -> None:
    """Write the events, Merkle nodes, stream versions, the commands and the head.

    With `commit`, PostgreSQL commits in the same round trip as the write; SQLite
    leaves the commit to the caller either way.
    """
    stream_rows = [
        (stream, built.versions[stream])
        for stream in sorted({p.item.event.stream for p in prepared})
    ]
    commands = command_rows(prepared, size + 1)
    head_row = (size + len(prepared), built.prev, built.recorded_at)
    if connection.dialect.name == "postgresql":
        from ledger.store import postgres  # psycopg only for PostgreSQL

        # One statement instead of five: fewer round trips and executions.
        postgres.write_append(
            connection,
            built.event_rows,
            built.node_rows,
            stream_rows,
            commands,
            head_row,
            commit=commit,
        )
    else:
        sqlite.write_append(
            connection,
            built.event_rows,
            built.node_rows,
            stream_rows,
            commands,
            head_row,
        )


def next_tip(
    prepared: Sequence[Prepared],
    size: int,
    built: Built,
    frontier: merkle.Frontier,
    key_state: Mapping[str, keys.KeyRecord] | None,
) -> Tip:
    """Return the tip after the batch: its head, frontier, and the last signer when it
    is a ledger key in force for the next event ("" when not known to be)."""
    new_size = size + len(prepared)
    last_signer = prepared[-1].item.signer
    if key_state is None:
        next_signer = last_signer.key_id
    else:
        record = key_state.get(last_signer.key_id)
        in_force = (
            record is not None
            and record.purpose == "ledger"
            and record.in_force_for(new_size + 1)
        )
        next_signer = last_signer.key_id if in_force else ""
    return Tip(new_size, built.prev, frontier, next_signer)


def classify(exc: IntegrityError, is_postgres: bool) -> str:
    """Name the unique constraint an append broke: command, sequence or other."""
    if is_postgres:
        from ledger.store import postgres  # psycopg only for PostgreSQL

        violation = postgres.unique_violation(exc.orig)
        table = violation[0] if violation else ""
    else:
        table = sqlite.unique_violation_table(exc.orig)
    if table == "ledger_commands":
        return "command"
    if table in ("ledger_events", "merkle_nodes"):
        return "sequence"
    return "other"
