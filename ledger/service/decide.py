"""The steps of recording a command: rules, authorization, fold, decision, events.

`Service.handle` and `CommandBatch` run the same steps in the same order: find the
command's roles and record rules (`command_rules`), fold the record's stream
(`fold_stream`), authorize the actor (`authorize`), let the record rules decide with
the actor's e-signer (`Pipeline.decide`), and turn the decision into catalogue-valid
events whose attachments are stored (`Pipeline.events`, over `build_events`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger import catalog
from ledger.clock import Clock
from ledger.domain import (
    Command,
    Context,
    Decision,
    ESigner,
    audits,
    documents,
    findings,
    indicators,
    reviews,
    subject_sha256,
    units,
    users,
)
from ledger.domain.permissions import COMMAND_ROLES
from ledger.errors import EventRejectedError, NotAuthorizedError, NotFoundError
from ledger.integrity.blobs import blob_refs
from ledger.integrity.canonical import JSONObject
from ledger.integrity.envelope import NewEvent, RecordedEvent, format_time, stream_kind
from ledger.service.directory import Directory
from ledger.service.vault import KeyVault, SigningSession, make_esig
from ledger.store import EventStore

# The size of a stored blob, None when it is not stored (or disposed of).
BlobSize = Callable[[str], int | None]


@dataclass(frozen=True, slots=True)
class RecordRules:
    """The pure rules of one record kind: its empty state, its fold and its decide."""

    new_state: Callable[[], Any]
    fold: Callable[[Any, RecordedEvent], Any]
    decide: Callable[[Any, Any, Context], Decision]


RECORD_RULES: Mapping[str, RecordRules] = {
    "unit": RecordRules(units.UnitState, units.fold, units.decide),
    "user": RecordRules(users.UserState, users.fold, users.decide),
    "document": RecordRules(documents.DocumentState, documents.fold, documents.decide),
    "audit": RecordRules(audits.AuditState, audits.fold, audits.decide),
    "finding": RecordRules(findings.FindingState, findings.fold, findings.decide),
    "indicator": RecordRules(
        indicators.IndicatorState, indicators.fold, indicators.decide
    ),
    "review": RecordRules(reviews.ReviewState, reviews.fold, reviews.decide),
}


def command_rules(
    directory: Directory, command: Command, actor: str
) -> tuple[tuple[str, ...], RecordRules]:
    """Return the roles that may give `command` and its record's rules.

    Raises:
        NotAuthorizedError: `actor` is not an active user.
        EventRejectedError: the command is unknown.
    """
    entry = directory.users.get(actor)
    if entry is None or not entry.active:
        raise NotAuthorizedError(f"{actor} is not an active user")
    roles = COMMAND_ROLES.get(type(command))
    rules = RECORD_RULES.get(stream_kind(command.stream))
    if roles is None or rules is None:
        name = type(command).__name__
        raise EventRejectedError(
            f"unknown command {name}", {"command": [f"unknown command {name}"]}
        )
    return roles, rules


def fold_stream(
    rules: RecordRules, history: Sequence[RecordedEvent]
) -> Any:  # the state of any record kind
    """Return the state folded from a stream's events."""
    state = rules.new_state()
    for event in history:
        state = rules.fold(state, event)
    return state


def fold_decided(
    rules: RecordRules,
    state: Any,  # the state of any record kind
    events: Iterable[NewEvent],
    version: int,
) -> Any:  # the state of any record kind
    """Return the state after decided, not yet appended events that follow `version`."""
    for offset, event in enumerate(events, start=1):
        state = rules.fold(state, provisional(event, version + offset))
    return state


def provisional(event: NewEvent, version: int) -> RecordedEvent:
    """Return a decided, not yet appended event in the shape the folds read."""
    return RecordedEvent(
        seq=0,
        stream=event.stream,
        version=version,
        type=event.type,
        schema=event.schema,
        data=event.data,
        meta=event.meta,
        actor=event.actor,
        occurred_at="",
        recorded_at="",
        prev="",
        key="",
        hash="",
        sig="",
    )


def authorize(
    directory: Directory,
    command: Command,
    state: Any,  # the folded state of any record kind
    actor: str,
    roles: Sequence[str],
) -> None:
    """Refuse `command` unless `actor` holds one of `roles` for every unit it touches.

    Raises:
        NotAuthorizedError: a role is missing, or an administrator would grant or
            revoke their own roles.
        NotFoundError: the record does not exist.
    """
    if isinstance(command, units.UnitCommand):
        if isinstance(command, units.CreateUnit):
            scope_units: list[str | None] = [command.parent]
        else:
            scope_units = [command.code]
    elif isinstance(command, users.UserCommand):
        if isinstance(command, users.RegisterUser):
            scope_units = [command.unit]
        else:
            if not state.version:
                raise NotFoundError(f"user {command.user_id} does not exist")
            scope_units = [state.unit]
            if isinstance(command, users.GrantRole | users.RevokeRole):
                scope_units.append(command.scope)
                if command.user_id == actor:
                    raise NotAuthorizedError("nobody grants or revokes their own roles")
            if isinstance(command, users.MoveUser):
                scope_units.append(command.unit)
    else:
        unit = (
            getattr(command, "unit", None) if not getattr(state, "version", 0) else None
        )
        unit = unit or getattr(state, "unit", None)
        if unit is None:
            raise NotFoundError(f"{command.stream} does not exist")
        scope_units = [unit]
    for unit_code in scope_units:
        if not directory.may(actor, roles, unit_code):
            where = f" for unit {unit_code}" if unit_code else ""
            raise NotAuthorizedError(
                f"{actor} may not {type(command).__name__}{where}: "
                f"needs role {' or '.join(roles)}"
            )


def build_events(
    decision: Decision,
    *,
    stream: str,
    actor: str,
    blob_size: BlobSize,
    occurred_at: datetime | None = None,
) -> list[NewEvent]:
    """Return the events of a decision, their data validated by the catalogue.

    Raises:
        EventRejectedError: an event's data breaks its schema, or an attachment it
            names is not stored with the size it names.
        StorageError: the database failed.
    """
    out: list[NewEvent] = []
    for event_type, data in decision:
        valid = catalog.validate(event_type, data)
        check_blobs(blob_size, event_type, valid)
        out.append(
            NewEvent(
                stream=stream,
                type=event_type,
                data=valid,
                actor=actor,
                schema=catalog.schema_version(event_type),
                occurred_at=occurred_at,
            )
        )
    return out


def check_blobs(blob_size: BlobSize, event_type: str, data: JSONObject) -> None:
    """Refuse an event whose attachment is not stored with the size it names.

    Raises:
        EventRejectedError: a referenced blob is absent, disposed of or of
            another size; the messages name the event's field.
        StorageError: the database failed.
    """
    problems: dict[str, list[str]] = {}
    for field_name, value in data.items():
        for where, ref in blob_refs(value, field_name):
            digest, size = ref["blob"], ref["size"]
            stored = blob_size(digest) if isinstance(digest, str) else None
            if stored is None:
                problem = f"{where}: blob {digest} is not stored"
            elif stored != size:
                problem = f"{where}: blob {digest} has {stored} bytes, not {size}"
            else:
                continue
            problems.setdefault(field_name, []).append(problem)
    if problems:
        summary = "; ".join(p for found in problems.values() for p in found)
        raise EventRejectedError(f"{event_type} rejected: {summary}", problems)


class Pipeline:
    """The parts a decision needs: the store, the vault of e-signature keys, the clock."""

    def __init__(self, store: EventStore, vault: KeyVault, clock: Clock) -> None:
        self.store = store
        self.vault = vault
        self.clock = clock

    def load(self, rules: RecordRules, stream: str) -> tuple[Any, int]:
        """Return the stream's folded state and its version (0: no events yet).

        Raises:
            StorageError: the database failed.
        """
        history = self.store.read_stream(stream)
        return fold_stream(rules, history), history[-1].version if history else 0

    def events(
        self,
        decision: Decision,
        stream: str,
        actor: str,
        occurred_at: datetime | None = None,
        blob_size: BlobSize | None = None,
    ) -> list[NewEvent]:
        """Return the catalogue-valid events of a decision (see `build_events`).

        `blob_size` replaces the store's answer (a batch also knows the blobs it
        stores in its own transaction).

        Raises:
            EventRejectedError: the data breaks a schema or names a missing blob.
            StorageError: the database failed.
        """
        return build_events(
            decision,
            stream=stream,
            actor=actor,
            blob_size=blob_size or self.store.blob_size,
            occurred_at=occurred_at,
        )

    def decide(  # the record, the actor's signing means and the directory's view
        self,
        directory: Directory,
        command: Command,
        actor: str,
        rules: RecordRules,
        state: Any,  # the folded state of any record kind
        version: int,
        *,
        password: str | None,
        session: SigningSession | None,
        units: Mapping[str, str],
        user_units: Mapping[str, str],
        new_key_id: str | None = None,
        blob_size: BlobSize | None = None,
    ) -> list[NewEvent]:
        """Let the record rules decide an authorized command; return its events.

        Raises:
            NotAuthorizedError: the actor cannot sign (no key in force, wrong
                session, or a temporary password).
            EventRejectedError: a record rule or the event schema is broken.
            StorageError: the database failed.
        """
        stream = command.stream
        context = Context(
            actor=actor,
            today=self.clock.now().date(),
            version=version,
            sign=self.signer(directory, actor, stream, version, password, session),
            units=units,
            user_units=user_units,
            new_key_id=new_key_id,
        )
        decision = rules.decide(state, command, context)
        return self.events(decision, stream, actor, command.occurred_at, blob_size)

    def signer(  # the signer, the record version it signs, and the signing means
        self,
        directory: Directory,
        actor: str,
        stream: str,
        version: int,
        password: str | None,
        session: SigningSession | None = None,
    ) -> ESigner | None:
        """Return the actor's e-signature maker for this command, or None without password."""
        if password is None and session is None:
            return None
        entry = directory.users[actor]

        def sign(meaning: str, content: JSONObject) -> JSONObject:
            if entry.key_id is None or entry.key_id in directory.revoked_keys:
                raise NotAuthorizedError(f"{actor} holds no e-signature key in force")
            if password is not None:
                key = self.vault.unseal(actor, entry.key_id, password)
            else:
                assert session is not None  # noqa: S101  # checked above
                key = session.key_for(actor, entry.key_id)
            return make_esig(
                key,
                signer=actor,
                name=entry.name,
                meaning=meaning,
                signed_at=format_time(self.clock.now()),
                subject=stream,
                subject_sha256=subject_sha256(stream, version, content),
            )

        return sign
