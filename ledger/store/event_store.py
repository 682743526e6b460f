"""The event store on SQLAlchemy, for SQLite and PostgreSQL.

It owns the one serialized append (seq, version, prev, recorded_at, hash, signature,
Merkle nodes, key table, inline projectors, all in one transaction), the reads, the
tree heads and proofs served from stored Merkle nodes, signed checkpoints, the key
registry and the content-addressed blobs. It knows nothing of QMS record kinds: the
domain decides which events to append, this module makes them part of the record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import bindparam, event, select, tuple_
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ledger.clock import Clock, SystemClock
from ledger.errors import (
    ConcurrencyError,
    ConfigError,
    EventRejectedError,
    KeyMaterialError,
    NotFoundError,
    StorageError,
    VerificationError,
)
from ledger.integrity import merkle
from ledger.integrity.canonical import (
    CanonicalizationError,
    canonical_bytes,
    canonical_object,
    canonical_payload,
)
from ledger.integrity.chain import signature_message
from ledger.integrity.checkpoint import Checkpoint, sign_checkpoint, valid_origin
from ledger.integrity.envelope import (
    ACTOR_RE,
    NewEvent,
    RecordedEvent,
    format_time,
    stream_kind,
    submitted_problem,
)
from ledger.integrity.signing import SigningKey, decode_public_key, key_id
from ledger.store.engine import (
    SNAPSHOT_READ,
    driver_message,
    is_read_only_error,
    is_read_only_url,
    sqlite_read_only_url,
)
from ledger.store.tables import (
    blob_disposals,
    blobs,
    checkpoints,
    events,
    head,
    streams,
)
from ledger.store.tables import keys as keys_table
from ledger.store.tables import merkle_nodes as nodes_table

_ROW_COLUMNS = (
    events.c.stream,
    events.c.version,
    events.c.type,
    events.c.schema,
    events.c.actor,
    events.c.command_id,
    events.c.occurred_at,
    events.c.recorded_at,
    events.c.key_id,
    events.c.hash,
)

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"

# Execution option for read-only work. On SQLite such a transaction starts with a
# plain (deferred) BEGIN, so readers never wait for the write lock and never hold it;
# every other transaction starts with BEGIN IMMEDIATE. Use it as
# `engine.execution_options(ledger_snapshot_read=True)`. (SNAPSHOT_READ is defined
# in ledger.database.)

KEYS_STREAM: Final = "ledger/keys"
BLOBS_STREAM: Final = "ledger/blobs"
PURPOSES: Final = frozenset({"ledger", "esign"})

_BUSY_TIMEOUT_S: Final = 30
_MIGRATION_LOCK: Final = 0x716D_735F_6C65_6467  # pg advisory lock id ("qms_ledg")
_NODE_CHUNK: Final = 200  # (level, idx) pairs per query when fetching Merkle nodes
_COMMAND_ID_MAX: Final = 200
_DIGEST_RE: Final = re.compile(r"[0-9a-f]{64}")
_PLACEHOLDER_HASH: Final = "0" * 64
_PLACEHOLDER_SIG: Final = base64.b64encode(bytes(64)).decode()
_T = TypeVar("_T")

KeySource = Callable[[], SigningKey]
"""Returns the service key to sign with now (e.g. loads the key file).

It raises KeyMaterialError, with what to do, when there is none."""


# --------------------------------------------------------------------------- engine


def _sqlite_on_connect(
    dbapi_connection: Any, _record: object, *, read_only: bool = False
) -> None:
    # `dbapi_connection` is the sqlite3.Connection, which SQLAlchemy passes untyped.
    # Switch off the sqlite3 module's own transaction handling (it would BEGIN only
    # before DML, so a SELECT outside it sees no stable snapshot); SQLAlchemy's
    # "begin" event below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL + synchronous=FULL: every commit is fsynced to the WAL file before
        # COMMIT returns, so neither a crash of the process nor one of the OS or a
        # power cut loses it. With NORMAL the last commits could vanish in an OS
        # crash, and the next events would take their seq with other content: the
        # log would have signed two different trees of one size. Readers and the
        # one writer do not block each other. A read-only connection (an archived
        # copy) keeps the journal mode the file has.
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # BEGIN IMMEDIATE takes SQLite's write lock at the start of the transaction, so
    # two appends never both read the same head (a deferred BEGIN would let both read
    # and then fail one of them with "database is locked" at its first write).
    # Sent on the driver connection: a statement through SQLAlchemy costs more than
    # SQLite needs to run it, and every append pays this one.
    sql = (
        "BEGIN"
        if connection.get_execution_options().get(SNAPSHOT_READ)
        else ("BEGIN IMMEDIATE")
    )
    with _sqlite_errors(sql):
        connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]  # a live connection has a driver connection


def create_engine_for(url: str) -> Engine:
    """Return an engine for a `sqlite:///` or `postgresql+psycopg://` URL.

    SQLite connections get WAL, synchronous=FULL, foreign keys and a 30 s busy
    timeout, and every transaction starts with BEGIN IMMEDIATE (read-only ones with
    the SNAPSHOT_READ execution option use a deferred BEGIN). A SQLite file this
    process cannot write, or one in a folder it cannot write, is opened read-only
    (`ledger.database.sqlite_read_only_url`). PostgreSQL runs READ COMMITTED, which
    the append lock relies on (see EventStore.append). Errors never show bound
    parameters (they carry salts, password hashes and sealed keys).

    Raises:
        ConfigError: the URL names another database, or a read-only copy whose
            `-wal` file holds commits it cannot apply.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        url = sqlite_read_only_url(url)
        memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        engine = sa.create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
            # One shared connection for an in-memory database, which exists only
            # inside the connection that made it.
            poolclass=StaticPool if memory else None,
        )
        event.listen(
            engine,
            "connect",
            partial(_sqlite_on_connect, read_only=is_read_only_url(url)),
        )
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if url.startswith("postgresql+psycopg://"):
        from ledger.store import postgres  # psycopg only for PostgreSQL

        return sa.create_engine(
            url,
            hide_parameters=True,
            isolation_level="READ COMMITTED",
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            pool_recycle=3600,
            connect_args=dict(postgres.CONNECT_ARGS),
        )
    raise ConfigError(
        "database URL must start with sqlite:/// or postgresql+psycopg://"
    )


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (`alembic upgrade head`).

    The migrations ship inside the package; no alembic.ini is read. Running it
    again, or from several processes at once, is harmless.

    Raises:
        StorageError: the database failed.
    """
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    with _storage_errors("migrating the database"), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, "head")


@contextmanager
def _storage_errors(action: str) -> Iterator[None]:
    """Turn any database error into StorageError, keeping the driver error as cause.

    A write refused because the SQLite database is opened read-only (an archived
    copy) becomes a ConfigError that says so.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        if is_read_only_error(exc):
            raise ConfigError(
                f"{action} failed: the database is read-only (an archived copy?); "
                "this needs a writable copy"
            ) from exc
        raise StorageError(f"{action} failed: {_driver_message(exc)}") from exc


_driver_message = driver_message


# --------------------------------------------------------------------------- types


class Projector(Protocol):
    """A read model updated inside the append transaction."""

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Apply newly recorded events; raising rolls the whole append back."""


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One row of ledger_events: the envelope text and its indexed columns."""

    seq: int
    envelope: str
    stream: str
    version: int
    type: str
    schema: int
    actor: str
    command_id: str
    occurred_at: str
    recorded_at: str
    key_id: str
    hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    """A key of the ledger's key registry (stream ledger/keys)."""

    key_id: str
    public_key: bytes
    holder: str
    purpose: str
    registered_seq: int
    revoked_seq: int | None

    def in_force_for(self, seq: int) -> bool:
        """Return whether this key may sign event `seq`.

        Registrations and revocations take effect from the next event on.
        """
        registered = self.registered_seq < seq
        return registered and (self.revoked_seq is None or self.revoked_seq >= seq)


@dataclass(frozen=True, slots=True)
class _Tip:
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
class _Item:
    """One event of a batch with the key that signs it."""

    event: NewEvent
    signer: SigningKey


def _command_rows(
    prepared: Sequence[_Prepared], first_seq: int
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


def _event_from_text(text: str | bytes, seq: int = 0) -> RecordedEvent:
    try:
        obj = json.loads(text)
        return RecordedEvent(**obj)
    except (ValueError, TypeError) as exc:
        raise VerificationError(
            seq, "stored envelope is not an event envelope"
        ) from exc


def _field_of(problem: str) -> str:
    """Return the envelope member an `envelope_problem` message is about."""
    return problem.split(" ", 1)[0].rstrip(":").split(".", 1)[0]


def _quoted(text: str) -> bytes:
    """Return the JCS bytes of a string that needs no escaping (checked ASCII)."""
    return b'"' + text.encode() + b'"'


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One checked event of a batch: its key, meta and canonical member bytes."""

    item: _Item
    # JCS bytes of data, actor, meta, stream, type, schema and key; the members set
    # under the lock are added there.
    members: dict[str, bytes]
    meta: dict[str, str]
    occurred_at: str  # "" when the store uses recorded_at


@dataclass(frozen=True, slots=True)
class _LockedState:
    """What an append on SQLite reads in one query under the lock."""

    head: tuple[int, bytes, str | None]
    versions: dict[str, int]
    command_seen: bool


@contextmanager
def _sqlite_errors(statement: str) -> Iterator[None]:
    """Raise a driver error as SQLAlchemy would have wrapped it (IntegrityError, ...)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _sqlite_cursor(connection: Connection) -> Any:
    # The sqlite3 cursor of the connection's current transaction (untyped driver API).
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]  # a live connection has a driver connection


@lru_cache(maxsize=64)
def _sqlite_state_sql(streams: int, with_command: bool) -> str:
    parts = [_SQLITE_HEAD_PART]
    if streams:
        parts.append(_SQLITE_STREAMS_PART.format(", ".join("?" * streams)))
    if with_command:
        parts.append(_SQLITE_COMMAND_PART)
    return " UNION ALL ".join(parts)


def _sqlite_state(
    connection: Connection, streams: Sequence[str], command_id: str | None
) -> _LockedState:
    """Read the head, the streams' versions and whether the command was seen, in one
    query (SQLite: the transaction holds the write lock since BEGIN IMMEDIATE).
    """
    sql = _sqlite_state_sql(len(streams), command_id is not None)
    params = [*streams, command_id] if command_id is not None else list(streams)
    versions: dict[str, int] = {}
    seen = False
    head_row: tuple[int, bytes, str | None] | None = None
    with _sqlite_errors(sql):
        cursor = _sqlite_cursor(connection)
        try:
            rows = cursor.execute(sql, params).fetchall()
        finally:
            cursor.close()
    for kind, name, number, hash_, recorded_at in rows:
        if kind == 2:
            head_row = (int(number), bytes(hash_), recorded_at)
        elif kind == 1:
            seen = True
        else:
            versions[name] = int(number)
    if head_row is None:
        raise StorageError("append failed: the ledger head row is missing")
    return _LockedState(head_row, versions, seen)


def _sqlite_write(
    connection: Connection,
    event_rows: Sequence[tuple[object, ...]],
    node_rows: Sequence[tuple[int, int, bytes]],
    stream_rows: Sequence[tuple[str, int]],
    command_rows: Sequence[tuple[str, int, int]],
    head_row: tuple[int, bytes, str],
) -> None:
    """Insert the events, nodes, stream versions and commands, and move the head."""
    cursor = _sqlite_cursor(connection)
    sql = ""
    try:
        for sql, rows in (
            (_SQLITE_INSERT_EVENTS, event_rows),
            (_SQLITE_INSERT_NODES, node_rows),
            (_SQLITE_UPSERT_STREAMS, stream_rows),
            (_SQLITE_INSERT_COMMAND, command_rows),
            (_SQLITE_UPDATE_HEAD, (head_row,)),
        ):
            cursor.executemany(sql, rows)
    except sqlite3.Error as exc:
        # As SQLAlchemy would raise it: IntegrityError for a unique violation, ...
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


# --------------------------------------------------------------------------- store


_HEAD = select(head.c.size, head.c.hash, head.c.recorded_at).where(head.c.id == 1)

# The append's own statements on SQLite run on the driver's cursor as plain SQL
# strings, inside the transaction SQLAlchemy began (BEGIN IMMEDIATE): compiling and
# executing Core statements costs several times what SQLite needs to run them.
_SQLITE_HEAD_PART = (
    "SELECT 2, NULL, size, hash, recorded_at FROM ledger_head WHERE id = 1"
)
_SQLITE_STREAMS_PART = (
    "SELECT 0, stream, version, NULL, NULL FROM ledger_streams WHERE stream IN ({})"
)
_SQLITE_COMMAND_PART = (
    "SELECT 1, command_id, first_seq, NULL, NULL FROM ledger_commands "
    "WHERE command_id = ?"
)
_SQLITE_INSERT_EVENTS = (
    "INSERT INTO ledger_events (seq, stream, version, type, schema, actor, "
    "command_id, occurred_at, recorded_at, key_id, hash, envelope) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SQLITE_INSERT_NODES = "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)"
_SQLITE_UPSERT_STREAMS = (
    "INSERT INTO ledger_streams (stream, version) VALUES (?, ?) "
    "ON CONFLICT (stream) DO UPDATE SET version = excluded.version"
)
_SQLITE_INSERT_COMMAND = (
    "INSERT INTO ledger_commands (command_id, first_seq, last_seq) VALUES (?, ?, ?)"
)
_SQLITE_UPDATE_HEAD = (
    "UPDATE ledger_head SET size = ?, hash = ?, recorded_at = ? WHERE id = 1"
)
_REVOKE_KEY = (
    sa.update(keys_table)
    .where(keys_table.c.key_id == bindparam("revoked_key_id"))
    .values(revoked_seq=bindparam("at_seq"))
)
_NODE_COLUMNS = (nodes_table.c.level, nodes_table.c.idx, nodes_table.c.hash)


def _nodes_query(pairs: Sequence[tuple[int, int]]) -> sa.Select[int, int, bytes]:
    # OR-ed (level = ? AND idx = ?) terms: SQLite answers each from the primary key,
    # while a row-value IN list makes it scan the table. Statements of equal length
    # share one compiled form.
    return select(*_NODE_COLUMNS).where(
        sa.or_(
            *(
                sa.and_(nodes_table.c.level == level, nodes_table.c.idx == idx)
                for level, idx in pairs
            )
        )
    )


_KEY_COLUMNS = (
    keys_table.c.key_id,
    keys_table.c.public_key,
    keys_table.c.holder,
    keys_table.c.purpose,
    keys_table.c.registered_seq,
    keys_table.c.revoked_seq,
)


def _key_record(row: Sequence[Any]) -> KeyRecord:
    return KeyRecord(
        key_id=row[0],
        public_key=base64.b64decode(row[1]),
        holder=row[2],
        purpose=row[3],
        registered_seq=row[4],
        revoked_seq=row[5],
    )


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
        self._tip: _Tip | None = None
        self._is_postgres = engine.dialect.name == "postgresql"
        insert = (
            pg_dialect.insert
            if engine.dialect.name == "postgresql"
            else sqlite_dialect.insert
        )
        self._insert_blob = insert(blobs).on_conflict_do_nothing(
            index_elements=[blobs.c.digest]
        )
        self._insert_checkpoint = insert(checkpoints).on_conflict_do_nothing(
            index_elements=[checkpoints.c.size]
        )

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
        (recorded,) = self._append([_Item(genesis, self.signer)], genesis=True)
        return recorded

    def genesis_origin(self) -> str | None:
        """Return the origin event 1 names, or None when the ledger has no event 1.

        Raises:
            StorageError: the database failed (or is not migrated).
            VerificationError: the stored event 1 is not an event envelope.
        """
        query = select(events.c.envelope).where(events.c.seq == 1)
        with _storage_errors("reading event 1"), self._reader.connect() as connection:
            text = connection.execute(query).scalar_one_or_none()
        if text is None:
            return None
        named = _event_from_text(text, 1).data.get("origin")
        return named if isinstance(named, str) else None

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
            self._refuse_reserved(event_)
        return self._signed(
            lambda signer: self._append(
                [_Item(e, signer) for e in events],
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
                self._refuse_reserved(event_)
                batch.append(event_)
                ids.append(cid)
        return self._signed(
            lambda signer: self._append(
                [_Item(e, signer) for e in batch],
                expected_versions,
                projectors=projectors,
                item_commands=ids,
            )
        )

    @staticmethod
    def _refuse_reserved(event_: NewEvent) -> None:
        if stream_kind(event_.stream) == "ledger":
            raise EventRejectedError(
                f"stream {event_.stream!r} is kept by the ledger itself",
                {"stream": "streams of kind 'ledger' are written by the store only"},
            )

    def _append(
        self,
        items: Sequence[_Item],
        expected_versions: Mapping[str, int] | None = None,
        *,
        command_id: str | None = None,
        causation: str | None = None,
        correlation: str | None = None,
        projectors: Sequence[Projector] = (),
        genesis: bool = False,
        item_commands: Sequence[str] | None = None,
    ) -> list[RecordedEvent]:
        """Append `items` in one transaction.

        `item_commands` gives each item's (generated) command id when the items are
        several commands; otherwise all items are one command, `command_id` or a new id.
        """
        if not items:
            return []
        expected = dict(expected_versions or {})
        for stream, version in expected.items():
            if type(version) is not int or version < 0:
                raise EventRejectedError(
                    f"expected version of {stream!r} must be a non-negative integer",
                    {"expected_versions": f"{stream}: {version!r}"},
                )
        # A command id the caller did not give cannot have been seen: skip the lookup.
        generated = command_id is None
        cid = uuid.uuid4().hex if command_id is None else command_id
        ids = [cid] * len(items) if item_commands is None else item_commands
        metas: dict[str, dict[str, str]] = {}
        prepared = []
        for i, (item, item_cid) in enumerate(zip(items, ids, strict=True)):
            base_meta = metas.get(item_cid)
            if base_meta is None:
                base_meta = metas[item_cid] = self._base_meta(
                    item_cid, causation, correlation
                )
            prepared.append(self._prepare(i, item, base_meta, len(items)))
        try:
            with self.engine.begin() as connection:
                recorded, tip = self._append_locked(
                    connection,
                    prepared,
                    expected,
                    cid,
                    check_command=not generated,
                    projectors=projectors,
                    genesis=genesis,
                )
        except IntegrityError as exc:
            clash = self._classify(exc)
            if clash == "command":
                # Another process committed the same command between our reads: the
                # command is done, exactly as if we had seen it under the lock.
                earlier = self.events_for_command(cid)
                if earlier:
                    return earlier
            if clash in ("command", "sequence"):
                raise ConcurrencyError(
                    f"the ledger moved during the append: {_driver_message(exc)}"
                ) from exc
            raise StorageError(f"append failed: {_driver_message(exc)}") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"append failed: {_driver_message(exc)}") from exc
        # Only a committed append may update what this process believes the head is.
        if tip is not None:
            self._tip = tip
        return recorded

    @staticmethod
    def _base_meta(
        cid: str, causation: str | None, correlation: str | None
    ) -> dict[str, str]:
        meta = {"command_id": cid}
        for name, value in (
            ("command_id", cid),
            ("causation", causation),
            ("correlation", correlation),
        ):
            if value is None:
                continue
            if type(value) is not str or not value or len(value) > _COMMAND_ID_MAX:
                raise EventRejectedError(
                    f"{name} must be a string of 1..{_COMMAND_ID_MAX} characters",
                    {name: f"must be a string of 1..{_COMMAND_ID_MAX} characters"},
                )
            meta[name] = value
        return meta

    @staticmethod
    def _prepare(
        index: int, item: _Item, base_meta: Mapping[str, str], count: int
    ) -> _Prepared:
        """Check one event against the envelope rules; canonicalize what it brings.

        seq, version, prev, recorded_at, hash and sig are filled in under the lock,
        and the store makes them well-formed itself, so only the members the caller
        submits are checked here (`submitted_problem`, then `data` while it is
        canonicalized). Each member's canonical bytes are made once; the body and the
        full envelope are assembled from them (`canonical_object`).
        """
        event_ = item.event
        where = f"event {index + 1} of {count}: " if count > 1 else ""
        meta: dict[str, str] = dict(base_meta)
        for name, value in event_.meta.items():
            if name in base_meta and value != base_meta[name]:
                raise EventRejectedError(
                    f"{where}meta.{name} conflicts with the command's {name}",
                    {"meta": f"{name} is set by the append call"},
                )
            meta[name] = value
        if event_.occurred_at is None:
            occurred_at = ""
        else:
            try:
                occurred_at = format_time(event_.occurred_at)
            except (ValueError, AttributeError) as exc:
                raise EventRejectedError(
                    f"{where}occurred_at must be a timezone-aware datetime",
                    {"occurred_at": "must be a timezone-aware datetime"},
                ) from exc
        data = event_.data if type(event_.data) is dict else dict(event_.data)
        problem = submitted_problem(event_, occurred_at or None, meta)
        members: dict[str, bytes] = {}
        if problem is None:
            name = "data"
            try:
                members["data"] = canonical_payload(data)
                name = "actor"  # may hold a lone surrogate
                members["actor"] = canonical_bytes(event_.actor)
                name = "meta"  # keys are not restricted
                members["meta"] = canonical_bytes(meta)
            except CanonicalizationError as exc:
                problem = f"{name}: {exc}"
        if problem is not None:
            raise EventRejectedError(where + problem, {_field_of(problem): problem})
        # stream and type match ASCII patterns, the key id is hex: no escaping.
        members["stream"] = _quoted(event_.stream)
        members["type"] = _quoted(event_.type)
        members["schema"] = b"%d" % event_.schema
        members["key"] = _quoted(item.signer.key_id)
        # A line of events.jsonl holds at most MAX_EVENT_LINE bytes (docs/ledger-format.md
        # section 6), or no export of the ledger would verify. What the store adds under
        # the lock (seq, version, times, prev, hash, sig, member names) is under 1 KiB.
        from ledger.integrity.export_reader import MAX_EVENT_LINE

        if sum(map(len, members.values())) + 1024 > MAX_EVENT_LINE:
            problem = (
                f"the event would take more than the {MAX_EVENT_LINE} bytes a ledger "
                "line may hold; store large content as a blob and reference it"
            )
            raise EventRejectedError(where + problem, {"data": problem})
        return _Prepared(item=item, members=members, meta=meta, occurred_at=occurred_at)

    def _append_locked(
        self,
        connection: Connection,
        prepared: Sequence[_Prepared],
        expected: Mapping[str, int],
        cid: str,
        *,
        check_command: bool,
        projectors: Sequence[Projector],
        genesis: bool,
    ) -> tuple[list[RecordedEvent], _Tip | None]:
        # `cid` is the command looked up when `check_command`; each prepared event
        # carries its own command id in its meta (several commands may share a batch).
        # (1) Take the append lock and read the head.
        #
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
        # On SQLite the head is read in the same statement as the stream versions
        # (steps 2 and 3 below): BEGIN IMMEDIATE took the lock before either is read.
        touched = sorted({p.item.event.stream for p in prepared} | set(expected))
        sqlite_state: _LockedState | None = None
        if self._is_postgres:
            from ledger.store import postgres  # psycopg only for PostgreSQL

            head_row = postgres.lock_head(connection)
        else:
            sqlite_state = _sqlite_state(
                connection, touched, cid if check_command else None
            )
            head_row = sqlite_state.head
        size, head_hash, head_recorded_at = head_row
        if genesis and size:
            raise EventRejectedError(
                "the ledger is initialized already", {"ledger": f"holds {size} events"}
            )
        if not genesis and not size:
            raise EventRejectedError(
                "the ledger is not initialized", {"ledger": "run initialize() first"}
            )

        # (2) + (3) One query: the current version of every stream the batch writes
        # or expects, and whether the command was recorded before.
        if sqlite_state is None:
            found, command_seen = postgres.stream_state(
                connection, touched, cid if check_command else None
            )
        else:
            found, command_seen = sqlite_state.versions, sqlite_state.command_seen
        if command_seen:
            # (2) A command id seen before: append nothing, return its events.
            return self._events_for_command(connection, cid), None
        versions = dict.fromkeys(touched, 0)
        versions.update(found)
        for stream, want in expected.items():
            if versions[stream] != want:
                raise ConcurrencyError(
                    f"stream {stream}: expected version {want}, "
                    f"actual {versions[stream]}"
                )

        # The signer of every event must be a ledger key in force for that event. The
        # cached tip says so without a query when this process made the head we
        # locked and the batch changes no key; otherwise read the keys concerned.
        tip = self._tip
        if tip is not None and (tip.size, tip.hash) != (size, head_hash):
            tip = None  # another process (or thread) appended since
        has_key_events = any(p.item.event.stream == KEYS_STREAM for p in prepared)
        signer_ids = {p.item.signer.key_id for p in prepared}
        fast_keys = (
            tip is not None and not has_key_events and signer_ids == {tip.signer_id}
        )
        key_state: dict[str, KeyRecord] = {}
        if not fast_keys:
            wanted = set(signer_ids)
            for p in prepared:
                event_ = p.item.event
                if event_.stream == KEYS_STREAM and isinstance(
                    event_.data.get("key_id"), str
                ):
                    wanted.add(str(event_.data["key_id"]))
            key_state = self._load_keys(connection, wanted)

        # (5) The Merkle frontier of the locked head: the cached one when the head is
        # the one this process committed last, else its O(log n) peaks from the table.
        if tip is not None:
            frontier = tip.frontier.copy()
        else:
            frontier = self._load_frontier(connection, size)

        # (4) Build the envelopes. recorded_at never decreases, even when the clock
        # steps back: it is the later of now and the head's recorded_at.
        recorded_at = format_time(self._clock.now())
        if head_recorded_at is not None and head_recorded_at > recorded_at:
            recorded_at = head_recorded_at
        prev = head_hash
        event_rows: list[tuple[object, ...]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        key_inserts: list[dict[str, object]] = []
        key_revocations: list[dict[str, object]] = []
        recorded: list[RecordedEvent] = []
        count = len(prepared)
        recorded_q = _quoted(recorded_at)
        for offset, p in enumerate(prepared):
            seq = size + 1 + offset
            item = p.item
            event_ = item.event
            where = f"event {offset + 1} of {count}: " if count > 1 else ""
            if not fast_keys and seq > 1:
                self._check_signer(key_state, item.signer, seq)
            if event_.stream == KEYS_STREAM:
                change = self._key_change(key_state, event_, item.signer, seq, where)
                key_state[change.key_id] = change
                if change.revoked_seq is None:
                    key_inserts.append(
                        {
                            "key_id": change.key_id,
                            "public_key": base64.b64encode(change.public_key).decode(),
                            "holder": change.holder,
                            "purpose": change.purpose,
                            "registered_seq": change.registered_seq,
                            "revoked_seq": None,
                        }
                    )
                else:
                    key_revocations.append(
                        {"revoked_key_id": change.key_id, "at_seq": seq}
                    )
            version = versions[event_.stream] + 1
            versions[event_.stream] = version
            occurred_at = p.occurred_at or recorded_at
            prev_hex = prev.hex()
            # The body (the envelope without hash and sig) and then the full envelope,
            # both in JCS, from the members' canonical bytes (ledger.canonical).
            members = dict(p.members)
            members["seq"] = b"%d" % seq
            members["version"] = b"%d" % version
            members["occurred_at"] = _quoted(occurred_at)
            members["recorded_at"] = recorded_q
            members["prev"] = _quoted(prev_hex)
            digest = hashlib.sha256(canonical_object(members)).digest()
            hash_hex = digest.hex()
            sig = base64.b64encode(item.signer.sign(signature_message(digest))).decode()
            members["hash"] = _quoted(hash_hex)
            members["sig"] = _quoted(sig)
            text = canonical_object(members).decode()
            event_rows.append(
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
            node_rows.extend(frontier.append(digest))
            recorded.append(
                RecordedEvent(
                    seq=seq,
                    stream=event_.stream,
                    version=version,
                    type=event_.type,
                    schema=event_.schema,
                    # A fresh copy of the payload exactly as recorded (arrays as
                    # lists), shared with neither the caller nor the stored text.
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
            prev = digest

        # (6) Write: events, Merkle nodes, stream versions, the command, the head.
        new_size = size + count
        stream_rows = [
            (stream, versions[stream])
            for stream in sorted({p.item.event.stream for p in prepared})
        ]
        command_rows = _command_rows(prepared, size + 1)
        head_row = (new_size, prev, recorded_at)
        if sqlite_state is None:
            # One statement instead of five: fewer round trips and executions.
            postgres.write_append(
                connection, event_rows, node_rows, stream_rows, command_rows, head_row
            )
        else:
            _sqlite_write(
                connection, event_rows, node_rows, stream_rows, command_rows, head_row
            )
        # (7) The key registry follows the key events in the same transaction.
        if key_inserts:
            connection.execute(keys_table.insert(), key_inserts)
        if key_revocations:
            connection.execute(_REVOKE_KEY, key_revocations)
        # (8) Inline projections see the events before anyone else can.
        for projector in projectors:
            projector.apply(connection, recorded)

        # (9) is the caller's: commit, then remember the new tip.
        last_signer = prepared[-1].item.signer
        if fast_keys:
            next_signer = last_signer.key_id
        else:
            record = key_state.get(last_signer.key_id)
            in_force = (
                record is not None
                and record.purpose == "ledger"
                and record.in_force_for(new_size + 1)
            )
            next_signer = last_signer.key_id if in_force else ""
        return recorded, _Tip(new_size, prev, frontier, next_signer)

    @staticmethod
    def _check_signer(
        state: Mapping[str, KeyRecord], signer: SigningKey, seq: int
    ) -> None:
        record = state.get(signer.key_id)
        kid = signer.key_id
        if record is None:
            raise KeyMaterialError(
                f"signing key {kid} is not a registered key of this ledger"
            )
        if record.purpose != "ledger":
            raise KeyMaterialError(
                f"signing key {kid} is registered for {record.purpose}, "
                "not for the ledger"
            )
        if record.revoked_seq is not None and record.revoked_seq < seq:
            raise KeyMaterialError(
                f"signing key {kid} was revoked at seq {record.revoked_seq}"
            )
        if record.registered_seq >= seq:
            raise KeyMaterialError(
                f"signing key {kid} takes effect after seq {record.registered_seq}"
            )

    @staticmethod
    def _key_change(
        state: Mapping[str, KeyRecord],
        event_: NewEvent,
        signer: SigningKey,
        seq: int,
        where: str,
    ) -> KeyRecord:
        """Validate a key event against the registry; return the key's new record."""
        data = event_.data
        problems: dict[str, str] = {}
        if event_.type == "ledger.initialized":
            if seq != 1:
                problems["type"] = "ledger.initialized is event 1 only"
            elif data.get("public_key") != signer.public_b64:
                problems["public_key"] = "event 1 registers the key that signs it"
            else:
                return KeyRecord(
                    key_id=signer.key_id,
                    public_key=signer.public_raw,
                    holder="service",
                    purpose="ledger",
                    registered_seq=1,
                    revoked_seq=None,
                )
        elif event_.type == "ledger.key_registered":
            kid = data.get("key_id")
            public: bytes | None = None
            text = data.get("public_key")
            try:
                public = decode_public_key(text) if isinstance(text, str) else None
            except KeyMaterialError as exc:
                problems["public_key"] = str(exc)
            if public is None:
                problems.setdefault(
                    "public_key", "must be base64 of a raw 32-byte Ed25519 key"
                )
            elif kid != key_id(public):
                problems["key_id"] = (
                    f"{kid!r} is not the id of the public key ({key_id(public)})"
                )
            if isinstance(kid, str) and kid in state:
                problems["key_id"] = f"key {kid} is registered already"
            purpose = data.get("purpose")
            holder = data.get("holder")
            if purpose not in PURPOSES:
                problems["purpose"] = f"{purpose!r} is not 'ledger' or 'esign'"
            if not isinstance(holder, str) or not (
                holder == "service"
                or (ACTOR_RE.fullmatch(holder) and holder != "system")
            ):
                problems["holder"] = f"{holder!r} is not 'service' or a user id"
            elif purpose == "ledger" and holder != "service":
                problems["holder"] = "a ledger key is held by 'service'"
            elif purpose == "esign" and holder == "service":
                problems["holder"] = "an esign key is held by a person (a user id)"
            if set(data) != {"key_id", "public_key", "holder", "purpose"}:
                problems["data"] = "members must be key_id, public_key, holder, purpose"
            if not problems and public is not None:
                return KeyRecord(
                    key_id=str(kid),
                    public_key=public,
                    holder=str(holder),
                    purpose=str(purpose),
                    registered_seq=seq,
                    revoked_seq=None,
                )
        elif event_.type == "ledger.key_revoked":
            kid = data.get("key_id")
            reason = data.get("reason")
            record = state.get(kid) if isinstance(kid, str) else None
            if record is None:
                problems["key_id"] = f"{kid!r} is not a registered key"
            elif record.revoked_seq is not None:
                problems["key_id"] = (
                    f"key {kid} was revoked at seq {record.revoked_seq}"
                )
            elif record.purpose == "ledger" and not any(
                k.purpose == "ledger" and k.revoked_seq is None and k.key_id != kid
                for k in state.values()
            ):
                problems["key_id"] = f"key {kid} is the last ledger key in force"
            if not isinstance(reason, str) or not reason.strip():
                problems["reason"] = "a reason is required"
            if set(data) != {"key_id", "reason"}:
                problems["data"] = "members must be key_id, reason"
            if not problems and record is not None:
                return KeyRecord(
                    key_id=record.key_id,
                    public_key=record.public_key,
                    holder=record.holder,
                    purpose=record.purpose,
                    registered_seq=record.registered_seq,
                    revoked_seq=seq,
                )
        else:
            problems["type"] = f"{event_.type!r} is not a key event"
        summary = "; ".join(f"{name}: {text}" for name, text in problems.items())
        raise EventRejectedError(f"{where}{event_.type} rejected: {summary}", problems)

    @staticmethod
    def _load_keys(
        connection: Connection, wanted: Iterable[str]
    ) -> dict[str, KeyRecord]:
        wanted = sorted(wanted)
        if not wanted:
            return {}
        rows = connection.execute(
            select(*_KEY_COLUMNS).where(
                keys_table.c.key_id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": wanted},
        )
        return {row[0]: _key_record(row) for row in rows}

    @staticmethod
    def _fetch_nodes(
        connection: Connection, wanted: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        pairs = sorted(set(wanted))
        found: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(pairs), _NODE_CHUNK):
            chunk = pairs[start : start + _NODE_CHUNK]
            for level, idx, node in connection.execute(_nodes_query(chunk)):
                found[(int(level), int(idx))] = bytes(node)
        missing = [p for p in pairs if p not in found]
        if missing:
            level, idx = missing[0]
            raise VerificationError(
                0, f"Merkle node (level {level}, index {idx}) is missing"
            )
        return found

    def _load_frontier(self, connection: Connection, size: int) -> merkle.Frontier:
        wanted = merkle.Frontier.peak_nodes(size)
        found = self._fetch_nodes(connection, wanted)
        return merkle.Frontier(size, [found[n] for n in wanted])

    def _classify(self, exc: IntegrityError) -> str:
        """Name the unique constraint an append broke: command, sequence or other."""
        if self._is_postgres:
            from ledger.store import postgres  # psycopg only for PostgreSQL

            violation = postgres.unique_violation(exc.orig)
            table = violation[0] if violation else ""
        else:
            # The sqlite3 message names table.column of the constraint that failed.
            message = str(exc.orig)
            prefix = "UNIQUE constraint failed: "
            table = (
                message[len(prefix) :].split(".", 1)[0]
                if message.startswith(prefix)
                else ""
            )
        if table == "ledger_commands":
            return "command"
        if table in ("ledger_events", "merkle_nodes"):
            return "sequence"
        return "other"

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
        pages = self._pages(from_seq, to_seq, batch)
        return (_event_from_text(row.envelope, row.seq) for row in pages)

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
        return self._stream_pages(self.size() if to_seq is None else to_seq, batch)

    def _stream_pages(self, last: int, batch: int) -> Iterator[RecordedEvent]:
        order = (events.c.stream, events.c.version)
        page = (
            select(events.c.seq, events.c.envelope, *order)
            .where(events.c.seq <= bindparam("hi"))
            .order_by(*order)
            .limit(bindparam("n"))
        )
        after = page.where(tuple_(*order) > tuple_(bindparam("s"), bindparam("v")))
        params: dict[str, object] = {"hi": last, "n": batch}
        stmt = page
        while True:
            with (
                _storage_errors("reading events"),
                self._reader.connect() as connection,
            ):
                rows = connection.execute(stmt, params).all()
            for row in rows:
                yield _event_from_text(row.envelope, row.seq)
            if len(rows) < batch:
                return
            params.update(s=rows[-1].stream, v=rows[-1].version)
            stmt = after

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
        pages = self._pages(from_seq, to_seq, batch)
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
        for row in self._pages(from_seq, to_seq, batch, _ROW_COLUMNS):
            yield StoredRow(**row._asdict())

    def _pages(
        self,
        from_seq: int,
        to_seq: int | None,
        batch: int,
        columns: Sequence[Any] = (),
    ) -> Iterator[Row[Any]]:
        if from_seq < 1 or batch < 1 or (to_seq is not None and to_seq < 0):
            raise EventRejectedError(
                "read range must have from_seq >= 1, to_seq >= 0 and batch >= 1",
                {"range": f"from_seq={from_seq}, to_seq={to_seq}, batch={batch}"},
            )
        return self._page_rows(from_seq, to_seq, batch, columns)

    def _page_rows(
        self, from_seq: int, to_seq: int | None, batch: int, columns: Sequence[Any]
    ) -> Iterator[Row[Any]]:
        last = self.size() if to_seq is None else to_seq
        page = (
            select(events.c.seq, events.c.envelope, *columns)
            .where(events.c.seq >= bindparam("lo"), events.c.seq <= bindparam("hi"))
            .order_by(events.c.seq)
            .limit(bindparam("n"))
        )
        lo = from_seq
        while lo <= last:
            with (
                _storage_errors("reading events"),
                self._reader.connect() as connection,
            ):
                rows = connection.execute(
                    page, {"lo": lo, "hi": last, "n": batch}
                ).all()
            if not rows:
                return
            yield from rows
            lo = rows[-1][0] + 1

    def read_stream(self, stream: str) -> list[RecordedEvent]:
        """Return the events of `stream` in version order ([] when it has none).

        Raises:
            StorageError: the database failed.
        """
        query = (
            select(events.c.seq, events.c.envelope)
            .where(events.c.stream == stream)
            .order_by(events.c.version)
        )
        with _storage_errors("reading a stream"), self._reader.connect() as connection:
            rows = connection.execute(query).all()
        return [_event_from_text(text, seq) for seq, text in rows]

    def stream_version(self, stream: str) -> int:
        """Return the current version of `stream`, 0 when it has no events.

        Raises:
            StorageError: the database failed.
        """
        query = select(streams.c.version).where(streams.c.stream == stream)
        with (
            _storage_errors("reading a stream version"),
            self._reader.connect() as connection,
        ):
            version = connection.execute(query).scalar_one_or_none()
        return int(version or 0)

    def events_for_command(self, command_id: str) -> list[RecordedEvent]:
        """Return the events the command `command_id` appended ([] when unknown).

        Raises:
            StorageError: the database failed.
        """
        with (
            _storage_errors("reading a command's events"),
            self._reader.connect() as connection,
        ):
            return self._events_for_command(connection, command_id)

    @staticmethod
    def _events_for_command(
        connection: Connection, command_id: str
    ) -> list[RecordedEvent]:
        query = (
            select(events.c.seq, events.c.envelope)
            .where(events.c.command_id == command_id)
            .order_by(events.c.seq)
        )
        return [_event_from_text(text, seq) for seq, text in connection.execute(query)]

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
        with _storage_errors("reading the head"), self._reader.connect() as connection:
            size, hash_, _ = connection.execute(_HEAD).one()
        return int(size), bytes(hash_)

    def extent(self) -> tuple[int, int]:
        """Return (row count, highest seq) of the events table, whatever the head says.

        Raises:
            StorageError: the database failed.
        """
        query = select(sa.func.count(), sa.func.coalesce(sa.func.max(events.c.seq), 0))
        with _storage_errors("counting events"), self._reader.connect() as connection:
            count, top = connection.execute(query).one()
        return int(count), int(top)

    def stream_versions(self) -> dict[str, int]:
        """Return the stored current version of every stream.

        Raises:
            StorageError: the database failed.
        """
        query = select(streams.c.stream, streams.c.version)
        with _storage_errors("reading streams"), self._reader.connect() as connection:
            return {
                str(name): int(version) for name, version in connection.execute(query)
            }

    def size_at(self, moment: datetime) -> int:
        """Return n(T): how many events have recorded_at <= `moment`.

        recorded_at never decreases, so those events are the prefix 1..n(T), and n(T)
        is the seq of the last of them: one probe of the (recorded_at, seq) index.

        Raises:
            EventRejectedError: `moment` is naive.
            StorageError: the database failed.
        """
        try:
            bound = format_time(moment)
        except ValueError as exc:
            raise EventRejectedError(
                str(exc), {"moment": "must be timezone-aware"}
            ) from exc
        query = (
            select(events.c.seq)
            .where(events.c.recorded_at <= bound)
            .order_by(events.c.recorded_at.desc(), events.c.seq.desc())
            .limit(1)
        )
        with (
            _storage_errors("finding the size at a time"),
            self._reader.connect() as connection,
        ):
            seq = connection.execute(query).scalar_one_or_none()
        return int(seq or 0)

    # ------------------------------------------------------------------ Merkle

    def _tree_size(
        self, connection: Connection, size: int | None, what: str = "size"
    ) -> tuple[int, int]:
        """Return (requested size, current size), checking 0 <= requested <= current."""
        current = int(connection.execute(_HEAD).one()[0])
        if size is None:
            return current, current
        if type(size) is not int or not 0 <= size <= current:
            raise EventRejectedError(
                f"{what} {size!r} is not between 0 and the ledger size {current}",
                {what: f"must be between 0 and {current}"},
            )
        return size, current

    def root(self, size: int | None = None) -> bytes:
        """Return the RFC 9162 tree head over the first `size` events (default: all).

        Read from the O(log n) stored nodes that make the tree, never from all leaves.

        Raises:
            EventRejectedError: `size` is negative or beyond the ledger.
            StorageError: the database failed.
            VerificationError: (seq 0) a stored Merkle node is missing.
        """
        with (
            _storage_errors("computing the tree head"),
            self._reader.connect() as connection,
        ):
            size, _ = self._tree_size(connection, size)
            return self._root(connection, size)

    def _root(self, connection: Connection, size: int) -> bytes:
        found = self._fetch_nodes(connection, merkle.needed_nodes([(0, size)]))
        return merkle.range_hash(0, size, lambda level, idx: found[(level, idx)])

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of event `seq` (leaf seq-1) in `size`.

        Raises:
            NotFoundError: no event `seq` in the ledger.
            EventRejectedError: `size` is beyond the ledger or smaller than `seq`.
            StorageError: the database failed.
            VerificationError: (seq 0) a stored Merkle node is missing.
        """
        with (
            _storage_errors("building an inclusion proof"),
            self._reader.connect() as connection,
        ):
            size, current = self._tree_size(connection, size)
            if type(seq) is not int or not 1 <= seq <= current:
                raise NotFoundError(f"no event {seq!r} in a ledger of {current} events")
            if seq > size:
                raise EventRejectedError(
                    f"event {seq} is not in the tree of size {size}",
                    {"size": f"must be at least {seq}"},
                )
            ranges = merkle.inclusion_ranges(seq - 1, size)
            found = self._fetch_nodes(connection, merkle.needed_nodes(ranges))
        return merkle.inclusion_proof(
            seq - 1, size, lambda level, idx: found[(level, idx)]
        )

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return the RFC 9162 consistency proof from tree `size1` to `size2` (or now).

        Raises:
            EventRejectedError: a size is negative, beyond the ledger, or size1 > size2.
            StorageError: the database failed.
            VerificationError: (seq 0) a stored Merkle node is missing.
        """
        with (
            _storage_errors("building a consistency proof"),
            self._reader.connect() as connection,
        ):
            size2, _ = self._tree_size(connection, size2, "size2")
            size1, _ = self._tree_size(connection, size1, "size1")
            if size1 > size2:
                raise EventRejectedError(
                    f"no consistency proof from size {size1} to smaller size {size2}",
                    {"size1": f"must be at most {size2}"},
                )
            ranges = merkle.consistency_ranges(size1, size2)
            found = self._fetch_nodes(connection, merkle.needed_nodes(ranges))
        return merkle.consistency_proof(
            size1, size2, lambda level, idx: found[(level, idx)]
        )

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
        with _storage_errors("reading a checkpoint"), self._reader.connect() as conn:
            _size, existing = self._stored_checkpoint(conn, size)
        if existing is not None:
            return existing
        return self._signed(lambda signer: self._checkpoint(size, signer))

    @staticmethod
    def _stored_checkpoint(
        connection: Connection, size: int | None
    ) -> tuple[int, str | None]:
        """Return the size meant (default: the head) and its stored note, if any.

        Raises:
            EventRejectedError: the ledger is not initialized, or `size` is not in it.
        """
        head = int(connection.execute(_HEAD).one()[0])
        if head == 0:
            raise EventRejectedError(
                "the ledger is not initialized",
                {"ledger": "run initialize() first"},
            )
        if size is not None and not 1 <= size <= head:
            raise EventRejectedError(
                f"no tree of size {size} in a ledger of {head} events",
                {"size": f"must be between 1 and {head}"},
            )
        size = head if size is None else size
        existing = connection.execute(
            select(checkpoints.c.note).where(checkpoints.c.size == size)
        ).scalar_one_or_none()
        return size, None if existing is None else str(existing)

    def _checkpoint(self, wanted: int | None, signer: SigningKey) -> str:
        """Sign and store a checkpoint with `signer` (see `checkpoint`)."""
        with _storage_errors("making a checkpoint"), self.engine.begin() as connection:
            size, existing = self._stored_checkpoint(connection, wanted)
            if existing is not None:
                return existing
            genesis = connection.execute(
                select(events.c.envelope).where(events.c.seq == 1)
            ).scalar_one()
            named = _event_from_text(genesis, 1).data.get("origin")
            if named != self.origin:
                raise ConfigError(
                    f"this store's origin {self.origin!r} is not the ledger's {named!r}"
                )
            # A checkpoint of size n is signed by a ledger key in force for event n+1.
            state = self._load_keys(connection, [signer.key_id])
            self._check_signer(state, signer, size + 1)
            root = self._root(connection, size)
            note = sign_checkpoint(Checkpoint(self.origin, size, root), signer)
            connection.execute(
                self._insert_checkpoint,
                {
                    "size": size,
                    "note": note,
                    "created_at": format_time(self._clock.now()),
                },
            )
            stored = connection.execute(
                select(checkpoints.c.note).where(checkpoints.c.size == size)
            ).scalar_one()
        return str(stored)

    def checkpoint_for(self, size: int) -> str | None:
        """Return the stored checkpoint note of exactly `size`, or None.

        Raises:
            StorageError: the database failed.
        """
        query = select(checkpoints.c.note).where(checkpoints.c.size == size)
        with (
            _storage_errors("reading a checkpoint"),
            self._reader.connect() as connection,
        ):
            note = connection.execute(query).scalar_one_or_none()
        return None if note is None else str(note)

    def checkpoints(self) -> list[tuple[int, str]]:
        """Return every stored checkpoint as (size, note), smallest size first.

        Raises:
            StorageError: the database failed.
        """
        query = select(checkpoints.c.size, checkpoints.c.note).order_by(
            checkpoints.c.size
        )
        with (
            _storage_errors("reading checkpoints"),
            self._reader.connect() as connection,
        ):
            return [(int(size), str(note)) for size, note in connection.execute(query)]

    # ------------------------------------------------------------------ keys

    def key_records(self) -> list[KeyRecord]:
        """Return every registered key, in registration order.

        Raises:
            StorageError: the database failed.
        """
        query = select(*_KEY_COLUMNS).order_by(
            keys_table.c.registered_seq, keys_table.c.key_id
        )
        with _storage_errors("reading keys"), self._reader.connect() as connection:
            return [_key_record(row) for row in connection.execute(query)]

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
            self._refuse_reserved(extra)
        registration = NewEvent(
            stream=KEYS_STREAM,
            type="ledger.key_registered",
            data={
                "key_id": key_id(public_raw),
                "public_key": base64.b64encode(public_raw).decode(),
                "holder": holder,
                "purpose": purpose,
            },
            actor=actor,
        )

        def append(signer: SigningKey) -> list[RecordedEvent]:
            revocations = [
                self._revocation(kid, reason, actor, signer) for kid, reason in revoke
            ]
            items = [
                _Item(registration, signer),
                *(_Item(e, signer) for e in extra_events),
                *(_Item(e, signer) for e in revocations),
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
        return NewEvent(
            stream=KEYS_STREAM,
            type="ledger.key_revoked",
            data={"key_id": key_id, "reason": reason},
            actor=actor,
        )

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
            return self._append([_Item(revocation, signer)])

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
        registration = NewEvent(
            stream=KEYS_STREAM,
            type="ledger.key_registered",
            data={
                "key_id": new_key.key_id,
                "public_key": new_key.public_b64,
                "holder": "service",
                "purpose": "ledger",
            },
            actor="system",
        )
        revocation = NewEvent(
            stream=KEYS_STREAM,
            type="ledger.key_revoked",
            data={"key_id": old.key_id, "reason": reason},
            actor="system",
        )
        # Seal the old key's epoch: after the rotation nobody can sign this size.
        # No following of another rotation here: the caller decided which key is old.
        self._checkpoint(None, old)
        recorded = self._append([_Item(registration, old), _Item(revocation, new_key)])
        self._signer = new_key
        return recorded

    # ------------------------------------------------------------------ blobs

    def put_blob(self, data: bytes) -> str:
        """Store `data` under its SHA-256 and return the hex digest (idempotent).

        Raises:
            EventRejectedError: a blob with this digest was disposed of.
            StorageError: the database failed.
        """
        content = bytes(data)
        digest = hashlib.sha256(content).hexdigest()
        with _storage_errors("storing a blob"), self.engine.begin() as connection:
            disposed = connection.execute(
                select(blob_disposals.c.seq).where(blob_disposals.c.digest == digest)
            ).scalar_one_or_none()
            if disposed is not None:
                raise EventRejectedError(
                    f"blob {digest} was disposed of at seq {disposed}",
                    {"blob": "was disposed of"},
                )
            connection.execute(
                self._insert_blob,
                {"digest": digest, "size": len(content), "data": content},
            )
        return digest

    def get_blob(self, digest: str) -> bytes:
        """Return the bytes stored under `digest`.

        Raises:
            NotFoundError: no such blob, or it was disposed of.
            VerificationError: (seq 0) the stored bytes do not hash to `digest`.
            StorageError: the database failed.
        """
        if not _DIGEST_RE.fullmatch(digest):
            raise NotFoundError(f"no blob {digest!r}: not a lowercase hex SHA-256")
        with _storage_errors("reading a blob"), self._reader.connect() as connection:
            content = connection.execute(
                select(blobs.c.data).where(blobs.c.digest == digest)
            ).scalar_one_or_none()
            disposed = None
            if content is None:
                disposed = connection.execute(
                    select(blob_disposals.c.seq).where(
                        blob_disposals.c.digest == digest
                    )
                ).scalar_one_or_none()
        if content is None:
            if disposed is not None:
                raise NotFoundError(f"blob {digest} was disposed of at seq {disposed}")
            raise NotFoundError(f"no blob {digest}")
        content = bytes(content)
        if hashlib.sha256(content).hexdigest() != digest:
            raise VerificationError(0, f"blob {digest} does not match its digest")
        return content

    def blob_size(self, digest: str) -> int | None:
        """Return the size of the blob stored under `digest`; None when absent.

        A blob that was disposed of, or a digest that is not lowercase hex SHA-256,
        is absent.

        Raises:
            StorageError: the database failed.
        """
        if not _DIGEST_RE.fullmatch(digest):
            return None
        query = select(blobs.c.size).where(blobs.c.digest == digest)
        with _storage_errors("reading a blob"), self._reader.connect() as connection:
            size = connection.execute(query).scalar_one_or_none()
        return None if size is None else int(size)

    def blob_digests(self) -> list[str]:
        """Return the digests of every stored (not disposed) blob, sorted.

        Raises:
            StorageError: the database failed.
        """
        query = select(blobs.c.digest).order_by(blobs.c.digest)
        with _storage_errors("listing blobs"), self._reader.connect() as connection:
            return [str(d) for d in connection.execute(query).scalars()]

    def dispose_blob(self, digest: str, reason: str, *, actor: str) -> RecordedEvent:
        """Record `ledger.blob_disposed` and delete the blob's bytes in one transaction.

        The event and the digest stay on the record; the bytes are gone.

        Raises:
            EventRejectedError: the reason is empty or the blob was disposed of already.
            NotFoundError: no such blob.
            KeyMaterialError: the signer is not a ledger key in force.
            StorageError: the database failed.
        """
        if not reason.strip():
            raise EventRejectedError(
                "disposing of a blob needs a reason", {"reason": "a reason is required"}
            )
        if not _DIGEST_RE.fullmatch(digest):
            raise NotFoundError(f"no blob {digest!r}: not a lowercase hex SHA-256")
        disposal = NewEvent(
            stream=BLOBS_STREAM,
            type="ledger.blob_disposed",
            data={"blob": digest, "reason": reason},
            actor=actor,
        )
        (recorded,) = self._signed(
            lambda signer: self._append(
                [_Item(disposal, signer)], projectors=[_BlobDisposal(digest)]
            )
        )
        return recorded


class _BlobDisposal:
    """Records a disposal and deletes the bytes inside the append transaction."""

    def __init__(self, digest: str) -> None:
        self.digest = digest

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        digest = self.digest
        disposed = connection.execute(
            select(blob_disposals.c.seq).where(blob_disposals.c.digest == digest)
        ).scalar_one_or_none()
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


__all__ = [
    "BLOBS_STREAM",
    "KEYS_STREAM",
    "MIGRATIONS",
    "SNAPSHOT_READ",
    "EventStore",
    "KeyRecord",
    "Projector",
    "create_engine_for",
    "migrate",
]
