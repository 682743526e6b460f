"""Many commands of one writer in few transactions: `CommandBatch` and `BatchItem`.

A batch runs the steps of `ledger.service.decide` that `Service.handle` runs, against
record states it caches between its commands, and appends in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from ledger.domain import Command
from ledger.errors import EventRejectedError
from ledger.integrity.envelope import NewEvent, stream_kind
from ledger.service.decide import authorize, command_rules, fold_decided
from ledger.service.directory import Directory
from ledger.service.vault import SigningSession
from ledger.store import BlobWriter, Projector

if TYPE_CHECKING:
    from ledger.service.service import Service

BATCH_EVENTS = 1000  # events per transaction of a CommandBatch
_CACHED_STREAMS = 50_000  # record states a batch keeps between transactions


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One command of `Service.handle_many`, with the actor's signing means."""

    command: Command
    actor: str
    password: str | None = None
    session: SigningSession | None = None


@dataclass(frozen=True, slots=True)
class _Cached:
    state: Any  # the folded state of any record kind
    version: int


class CommandBatch:
    """Records the commands of one writer in transactions of about `size` events.

    `handle` decides each command at once with the same authorization, record
    rules, e-signatures and catalogue as `Service.handle`, against record states
    cached from the batch's earlier commands. The events wait until `size` are
    pending, `flush()` is called or the `with` block ends; they are then appended
    in one transaction with the expected version of every record they touch, so
    a record changed by someone else meanwhile fails the transaction. A command
    that fails drops every pending event of the batch: nothing of the pending
    transaction is stored. Commands on units and users change the directory the
    others are authorized with, so the batch appends its pending events first and
    records them one by one through `Service.handle`.

    Every command keeps a `command_id` of its own; the events of one transaction
    share one `recorded_at`. `put_blob` holds an attachment for the batch's next
    transaction: the commands decided meanwhile may name it, and it is stored with
    their events (or dropped with them).
    """

    def __init__(
        self, service: Service, *, size: int, projectors: Sequence[Projector]
    ) -> None:
        self.service = service
        self.size = max(1, size)
        self.projectors = tuple(projectors)
        self.hold = False  # handle_many: decide everything before appending
        self.recorded = 0
        self._states: dict[str, _Cached] = {}
        self._pending: list[list[NewEvent]] = []  # the events of each command
        self._count = 0
        self._expected: dict[str, int] = {}
        self._directory: Directory | None = None
        self._units: dict[str, str] = {}
        self._user_units: dict[str, str] = {}
        self._blobs = BlobWriter()

    def __enter__(self) -> CommandBatch:
        """Open the batch."""
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Append what is pending; drop it instead when the block failed."""
        if exc_type is None:
            self.flush()
        else:
            self.discard()

    @property
    def pending(self) -> int:
        """The number of decided events not yet appended."""
        return self._count

    def handle(
        self,
        command: Command,
        actor: str,
        *,
        password: str | None = None,
        session: SigningSession | None = None,
    ) -> int:
        """Decide `command` for `actor`; return the number of its events.

        Raises:
            NotAuthorizedError: the actor may not do this.
            EventRejectedError: a record rule or the event schema is broken.
            NotFoundError: the record does not exist.
            ConcurrencyError: a record changed meanwhile (when this appends).
            StorageError: the database failed.
        """
        try:
            return self._decide(command, actor, password, session)
        except BaseException:
            self.discard()
            raise

    def _decide(
        self,
        command: Command,
        actor: str,
        password: str | None,
        session: SigningSession | None,
    ) -> int:
        service = self.service
        if stream_kind(command.stream) in ("unit", "user"):
            if self.hold:
                message = "units and users are recorded one by one, not in a batch"
                raise EventRejectedError(message, {"command": [message]})
            self.flush()
            recorded = service.handle(
                command,
                actor,
                password=password,
                session=session,
                projectors=self.projectors,
            )
            self._states.pop(command.stream, None)
            self._directory = None
            self.recorded += len(recorded)
            return len(recorded)
        directory = self._current_directory()
        roles, rules = command_rules(directory, command, actor)
        stream = command.stream
        cached = self._states.get(stream)
        if cached is None:
            cached = _Cached(*service.pipeline.load(rules, stream))
        state, version = cached.state, cached.version
        authorize(directory, command, state, actor, roles)
        events = service.pipeline.decide(
            directory,
            command,
            actor,
            rules,
            state,
            version,
            password=password,
            session=session,
            units=self._units,
            user_units=self._user_units,
            blob_size=self._blob_size,
        )
        state = fold_decided(rules, state, events, version)
        self._expected.setdefault(stream, version)
        self._states.pop(stream, None)  # the most recently used come last
        self._states[stream] = _Cached(state, version + len(events))
        self._pending.append(events)
        self._count += len(events)
        if not self.hold and self._count >= self.size:
            self.flush()
        return len(events)

    def put_blob(self, data: bytes) -> str:
        """Hold `data` for the next transaction of the batch; return its SHA-256.

        Storing a blob that is stored already changes nothing; a digest that was
        disposed of fails the transaction that stores it (`EventRejectedError`).
        """
        return self._blobs.add(data)

    def _blob_size(self, digest: str) -> int | None:
        held = self._blobs.size_of(digest)
        return held if held is not None else self.service.store.blob_size(digest)

    def _current_directory(self) -> Directory:
        if self._directory is None:
            self._directory = self.service.directory()
            self._units = self._directory.open_units()
            self._user_units = {
                u.user_id: u.unit for u in self._directory.users.values()
            }
        return self._directory

    def flush(self) -> int:
        """Append the pending events, about `size` per transaction; return how many.

        Raises:
            ConcurrencyError: a record changed since the batch read it; the pending
                events are dropped.
            StorageError: the database failed; the pending events are dropped.
        """
        if not self._pending:
            if self._blobs.pending:
                try:
                    self._blobs.write(self.service.store.engine)
                finally:
                    self._blobs.pending.clear()
            return 0
        versions = dict(self._expected)
        chunks: list[tuple[list[list[NewEvent]], dict[str, int]]] = []
        chunk: list[list[NewEvent]] = []  # the events of each command
        count = 0
        expected: dict[str, int] = {}
        for events in self._pending:
            if chunk and count + len(events) > self.size:
                chunks.append((chunk, expected))
                chunk, count, expected = [], 0, {}
            for event in events:
                expected.setdefault(event.stream, versions[event.stream])
                versions[event.stream] += 1
            chunk.append(events)
            count += len(events)
        chunks.append((chunk, expected))
        done = 0
        # The held blobs are stored in the first transaction, before any event
        # that names them is visible.
        with_blobs = (*self.projectors, self._blobs) if self._blobs.pending else None
        try:
            for commands, expected in chunks:
                recorded = self.service.store.append_commands(
                    commands, expected, projectors=with_blobs or self.projectors
                )
                with_blobs = None
                self._blobs.pending.clear()
                self.service.directories.advance(recorded)
                done += len(recorded)
        except BaseException:
            self.recorded += done
            self.discard()
            raise
        self.recorded += done
        self._pending.clear()
        self._expected.clear()
        self._count = 0
        self._directory = None  # caught up again before the next decision
        if len(self._states) > _CACHED_STREAMS:
            # Forget the states used least recently, down to half the limit.
            stale = len(self._states) - _CACHED_STREAMS // 2
            for old in list(islice(self._states, stale)):
                del self._states[old]
        return done

    def discard(self) -> None:
        """Drop the pending events and every cached state (nothing is appended)."""
        self._pending.clear()
        self._expected.clear()
        self._count = 0
        self._states.clear()
        self._blobs.pending.clear()
        self._directory = None
