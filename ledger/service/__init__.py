"""The write service: authorize, load, fold, decide, validate, append.

`Service.handle(command, actor)` checks the actor's roles against the record's unit,
folds the record's stream, asks the record rules (`ledger.domain`) for events,
validates their data through the catalogue, and appends them with the stream's
expected version; the projectors it was given run in the same transaction. Nothing
is stored when a command fails. It never imports the read side: the directory of
units, users and roles it authorizes with is its own fold of unit/* and user/* events.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger import catalog
from ledger.clock import Clock, SystemClock
from ledger.domain import (
    Command,
    Context,
    Decision,
    audits,
    documents,
    findings,
    indicators,
    reviews,
    signoffs,
    subject_sha256,
    units,
    users,
)
from ledger.errors import (
    EventRejectedError,
    NotAuthorizedError,
    NotFoundError,
)
from ledger.integrity.canonical import JSONObject
from ledger.integrity.envelope import NewEvent, RecordedEvent, format_time, stream_kind
from ledger.integrity.signing import SCRYPT_N, SigningKey
from ledger.service.vault import KeyVault, SigningSession, make_esig
from ledger.store import EventStore, Projector

# Roles whose scope covers the scope unit's whole subtree; the others act in the
# scope unit itself.
SUBTREE_ROLES = frozenset({"admin", "manager", "auditor"})

# Which roles may issue each command (certifier and viewer record nothing; admin
# manages units, users and roles only).
ROLES: Mapping[type[Command], tuple[str, ...]] = {
    units.CreateUnit: ("admin",),
    units.RenameUnit: ("admin",),
    units.CloseUnit: ("admin",),
    users.RegisterUser: ("admin",),
    users.GrantRole: ("admin",),
    users.RevokeRole: ("admin",),
    users.MoveUser: ("admin",),
    users.DeactivateUser: ("admin",),
    users.ResetPassword: ("admin",),
    documents.DraftDocument: ("author",),
    documents.UpdateDocumentDraft: ("author",),
    documents.SubmitDocument: ("author",),
    documents.ReviewDocument: ("approver",),
    documents.ApproveDocument: ("approver",),
    documents.MakeDocumentEffective: ("approver",),
    documents.WithdrawDocument: ("approver",),
    documents.DistributeDocument: ("author", "approver"),
    documents.CompletePeriodicReview: ("author", "approver"),
    documents.ChangeRetention: ("approver",),
    audits.PlanAudit: ("auditor",),
    audits.StartAudit: ("auditor",),
    audits.ReportAudit: ("auditor",),
    audits.CloseAudit: ("auditor",),
    audits.CancelAudit: ("auditor",),
    findings.RaiseFinding: ("auditor", "manager"),
    findings.ContainFinding: ("owner", "manager"),
    findings.AnalyseCause: ("owner", "manager"),
    findings.PlanActions: ("owner", "manager"),
    findings.CompleteAction: ("owner",),
    findings.ChangeDueDate: ("manager",),
    findings.VerifyEffectiveness: ("auditor",),
    findings.CloseFinding: ("auditor", "manager"),
    findings.ReopenFinding: ("auditor", "manager"),
    indicators.DefineIndicator: ("manager",),
    indicators.ChangeTarget: ("manager",),
    indicators.RecordMeasurement: ("owner",),
    indicators.CorrectMeasurement: ("owner", "manager"),
    indicators.RetireIndicator: ("manager",),
    reviews.HoldManagementReview: ("manager",),
}


BATCH_EVENTS = 1000  # events per transaction of a CommandBatch
_CACHED_STREAMS = 50_000  # record states a batch keeps between transactions


@dataclass(frozen=True, slots=True)
class _Rules:
    new_state: Callable[[], Any]
    fold: Callable[[Any, RecordedEvent], Any]
    decide: Callable[[Any, Any, Context], Decision]


_RULES: Mapping[str, _Rules] = {
    "unit": _Rules(units.UnitState, units.fold, units.decide),
    "user": _Rules(users.UserState, users.fold, users.decide),
    "document": _Rules(documents.DocumentState, documents.fold, documents.decide),
    "audit": _Rules(audits.AuditState, audits.fold, audits.decide),
    "finding": _Rules(findings.FindingState, findings.fold, findings.decide),
    "indicator": _Rules(indicators.IndicatorState, indicators.fold, indicators.decide),
    "review": _Rules(reviews.ReviewState, reviews.fold, reviews.decide),
}


def _command_rules(
    directory: Directory, command: Command, actor: str
) -> tuple[tuple[str, ...], _Rules]:
    """Return the roles that may give `command` and its record's rules.

    Raises:
        NotAuthorizedError: `actor` is not an active user.
        EventRejectedError: the command is unknown.
    """
    entry = directory.users.get(actor)
    if entry is None or not entry.active:
        raise NotAuthorizedError(f"{actor} is not an active user")
    roles = ROLES.get(type(command))
    rules = _RULES.get(stream_kind(command.stream))
    if roles is None or rules is None:
        name = type(command).__name__
        raise EventRejectedError(
            f"unknown command {name}", {"command": [f"unknown command {name}"]}
        )
    return roles, rules


@dataclass(slots=True)
class UnitEntry:
    """A unit as the directory knows it."""

    code: str
    kind: str
    parent: str | None
    closed: bool = False


@dataclass(slots=True)
class UserEntry:
    """A user as the directory knows them."""

    user_id: str
    name: str
    unit: str
    roles: set[tuple[str, str]] = field(default_factory=set)
    active: bool = True
    key_id: str | None = None


@dataclass(slots=True)
class Directory:
    """Units, users, roles and esign keys, folded from the ledger for authorization."""

    position: int = 0
    units: dict[str, UnitEntry] = field(default_factory=dict)
    users: dict[str, UserEntry] = field(default_factory=dict)
    revoked_keys: set[str] = field(default_factory=set)

    def apply(self, event: RecordedEvent) -> None:  # one branch per type
        """Fold one event into the directory."""
        self.position = event.seq
        data, name = event.data, event.type
        kind = stream_kind(event.stream)
        if kind == "ledger":
            if name == "ledger.key_revoked":
                self.revoked_keys.add(str(data["key_id"]))
            return
        user = self.users.get(event.stream.split("/", 1)[1]) if kind == "user" else None
        if name == "unit.created":
            parent = data.get("parent")
            code = str(data["code"])
            self.units[code] = UnitEntry(
                code, str(data["kind"]), str(parent) if parent else None
            )
        elif name == "unit.closed":
            self.units[event.stream.split("/", 1)[1]].closed = True
        elif name == "user.registered":
            uid = str(data["user_id"])
            self.users[uid] = UserEntry(uid, str(data["name"]), str(data["unit"]))
        elif user is None:
            return
        elif name == "user.role_granted":
            user.roles.add((str(data["role"]), str(data["scope"])))
        elif name == "user.role_revoked":
            user.roles.discard((str(data["role"]), str(data["scope"])))
        elif name == "user.moved":
            new = data["new"]
            if isinstance(new, Mapping):
                user.unit = str(new["unit"])
        elif name == "user.deactivated":
            user.active = False
        elif name == "user.esign_key_issued":
            user.key_id = str(data["key_id"])

    def ancestors(self, code: str) -> list[str]:
        """Return `code` and the codes above it up to the headquarters."""
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in chain:
            chain.append(current)
            entry = self.units.get(current)
            current = entry.parent if entry else None
        return chain

    def subtree(self, code: str) -> set[str]:
        """Return `code` and every unit below it."""
        return {c for c in self.units if code in self.ancestors(c)}

    def covers(self, role: str, scope: str, unit: str) -> bool:
        """Return whether a role granted for `scope` applies to records of `unit`."""
        if role in SUBTREE_ROLES:
            return scope in self.ancestors(unit)
        return scope == unit

    def may(self, user_id: str, roles: Iterable[str], unit: str | None) -> bool:
        """Return whether the user holds one of `roles` covering `unit` (None: any)."""
        entry = self.users.get(user_id)
        if entry is None or not entry.active:
            return False
        wanted = set(roles)
        return any(
            role in wanted and (unit is None or self.covers(role, scope, unit))
            for role, scope in entry.roles
        )

    def open_units(self) -> dict[str, str]:
        """Return the open units' kinds by code."""
        return {c: u.kind for c, u in self.units.items() if not u.closed}


class Service:
    """Records QMS actions: authorization, record rules, catalogue, append."""

    def __init__(
        self,
        store: EventStore,
        *,
        projectors: Sequence[Projector] = (),
        clock: Clock | None = None,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        self.store = store
        self.projectors = tuple(projectors)
        self.clock: Clock = clock or SystemClock()
        self.vault = KeyVault(store.engine, scrypt_n=scrypt_n)
        self._directory = Directory()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ directory

    def directory(self) -> Directory:
        """Return the directory, caught up with the ledger (reads only new events).

        Raises:
            StorageError: the database failed.
        """
        with self._lock:
            for event in self.store.read(from_seq=self._directory.position + 1):
                self._directory.apply(event)
            return self._directory

    def _advance_directory(self, recorded: Sequence[RecordedEvent]) -> None:
        """Fold events this service just appended, when they follow the directory."""
        with self._lock:
            if recorded and recorded[0].seq == self._directory.position + 1:
                for event in recorded:
                    self._directory.apply(event)

    # ------------------------------------------------------------------ commands

    def handle(
        self,
        command: Command,
        actor: str,
        *,
        password: str | None = None,
        command_id: str | None = None,
        session: SigningSession | None = None,
    ) -> list[RecordedEvent]:
        """Authorize and record `command` on behalf of `actor`; return the events.

        `password` is the actor's own password, needed when the command carries
        their e-signature; an open `session` of the actor (`signing_session`) stands
        for it in later signings. A `command_id` seen before returns that command's
        events and records nothing.

        Raises:
            NotAuthorizedError: the actor may not do this (role, unit, segregation of
                duties, or a temporary password blocks signing).
            EventRejectedError: a record rule or the event schema is broken; the
                messages name the fields.
            NotFoundError: the record does not exist.
            ConcurrencyError: the record changed meanwhile; reload and retry.
            StorageError: the database failed.
        """
        return self._handle(
            command, actor, password, command_id, session, self.projectors
        )

    def _handle(  # handle's arguments and the projectors to run
        self,
        command: Command,
        actor: str,
        password: str | None,
        command_id: str | None,
        session: SigningSession | None,
        projectors: Sequence[Projector],
    ) -> list[RecordedEvent]:
        if command_id is not None:
            earlier = self.store.events_for_command(command_id)
            if earlier:
                return earlier
        directory = self.directory()
        roles, rules = _command_rules(directory, command, actor)
        stream = command.stream
        history = self.store.read_stream(stream)
        state = rules.new_state()
        for event in history:
            state = rules.fold(state, event)
        version = history[-1].version if history else 0
        self._authorize(directory, command, state, actor, roles)

        new_key = (
            SigningKey.generate()
            if isinstance(command, (users.RegisterUser, users.ResetPassword))
            else None
        )
        context = Context(
            actor=actor,
            today=self.clock.now().date(),
            version=version,
            sign=self._signer(directory, actor, stream, version, password, session),
            units=directory.open_units(),
            user_units={u.user_id: u.unit for u in directory.users.values()},
            new_key_id=new_key.key_id if new_key else None,
        )
        decision = rules.decide(state, command, context)
        events = self._new_events(decision, stream, actor, command)
        expected = {stream: version}
        if new_key is None:
            return self.store.append(
                events, expected, command_id=command_id, projectors=projectors
            )
        assert isinstance(command, (users.RegisterUser, users.ResetPassword))  # noqa: S101  # new_key is made for these only
        return self._issue_key(
            directory, command, actor, new_key, events, expected, command_id, projectors
        )

    def _new_events(
        self, decision: Decision, stream: str, actor: str, command: Command
    ) -> list[NewEvent]:
        out: list[NewEvent] = []
        for event_type, data in decision:
            valid = catalog.validate(event_type, data)
            self._check_blobs(event_type, valid)
            out.append(
                NewEvent(
                    stream=stream,
                    type=event_type,
                    data=valid,
                    actor=actor,
                    schema=catalog.schema_version(event_type),
                    occurred_at=command.occurred_at,
                )
            )
        return out

    def _check_blobs(self, event_type: str, data: JSONObject) -> None:
        """Refuse an event whose attachment is not stored with the size it names.

        Raises:
            EventRejectedError: a referenced blob is absent, disposed of or of
                another size; the messages name the event's field.
            StorageError: the database failed.
        """
        problems: dict[str, list[str]] = {}
        for field_name, value in data.items():
            refs: list[tuple[str, object, object]] = []
            _blob_refs(value, field_name, refs)
            for where, digest, size in refs:
                stored = (
                    self.store.blob_size(digest) if isinstance(digest, str) else None
                )
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

    def _issue_key(  # the parts of one enrolment
        self,
        directory: Directory,
        command: users.RegisterUser | users.ResetPassword,
        actor: str,
        key: SigningKey,
        events: Sequence[NewEvent],
        expected: Mapping[str, int],
        command_id: str | None,
        projectors: Sequence[Projector],
    ) -> list[RecordedEvent]:
        """Register a new esign key, seal it under the temporary password, and record it.

        The sealed key and the credentials are written by a projector, inside the
        same transaction as the key registration, the user's events and the
        revocation of the key the user held before.
        """
        old_key = directory.users.get(command.user_id)
        old_key_id = old_key.key_id if old_key else None
        sealing = self.vault.sealing(
            command.user_id, key, command.temporary_password, must_change=True
        )
        # The new key signs from now on; the old one must never sign again, and
        # both happen in the same transaction.
        revoke = (
            [(old_key_id, f"password reset by {actor}")]
            if old_key_id is not None and old_key_id not in directory.revoked_keys
            else []
        )
        return self.store.register_key(
            key.public_raw,
            holder=command.user_id,
            purpose="esign",
            actor=actor,
            command_id=command_id,
            extra_events=events,
            expected_versions=expected,
            projectors=(*projectors, sealing),
            revoke=revoke,
        )

    def _authorize(
        self,
        directory: Directory,
        command: Command,
        state: Any,  # the folded state of any record kind
        actor: str,
        roles: Sequence[str],
    ) -> None:
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
                        raise NotAuthorizedError(
                            "nobody grants or revokes their own roles"
                        )
                if isinstance(command, users.MoveUser):
                    scope_units.append(command.unit)
        else:
            unit = (
                getattr(command, "unit", None)
                if not getattr(state, "version", 0)
                else None
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

    def _signer(
        self,
        directory: Directory,
        actor: str,
        stream: str,
        version: int,
        password: str | None,
        session: SigningSession | None = None,
    ) -> Callable[[str, JSONObject], JSONObject] | None:
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

    def signing_session(self, user_id: str, password: str) -> SigningSession:
        """Check the user's password once and return their signing session.

        The session holds the unsealed esign key in memory; pass it as `session` to
        `handle`, `handle_many` or a `CommandBatch` for the later signings of the
        same session (21 CFR 11.200(a)(1)(i)). It signs for `user_id` only.

        Raises:
            NotAuthorizedError: the user is unknown or inactive, holds no key in
                force, or must set their own password first.
            EventRejectedError: the password is wrong (field `password`).
            StorageError: the database failed.
        """
        directory = self.directory()
        entry = directory.users.get(user_id)
        if entry is None or not entry.active:
            raise NotAuthorizedError(f"{user_id} is not an active user")
        if entry.key_id is None or entry.key_id in directory.revoked_keys:
            raise NotAuthorizedError(f"{user_id} holds no e-signature key in force")
        return self.vault.open_session(user_id, entry.key_id, password)

    def batch(
        self,
        *,
        size: int = BATCH_EVENTS,
        projectors: Sequence[Projector] | None = None,
    ) -> CommandBatch:
        """Return a batch that records many commands in few transactions.

        `projectors` replace the service's own for the batch's appends (`()`: none,
        e.g. when the read models are rebuilt afterwards).
        """
        return CommandBatch(
            self,
            size=size,
            projectors=self.projectors if projectors is None else projectors,
        )

    def handle_many(
        self,
        items: Iterable[BatchItem],
        *,
        size: int = BATCH_EVENTS,
        projectors: Sequence[Projector] | None = None,
    ) -> int:
        """Decide `items` in order and record them in transactions of about `size` events.

        Every command passes the same rules as in `handle`. All commands are decided
        before anything is appended, so a broken rule anywhere records nothing of
        `items`; each transaction then carries expected versions, so a concurrent
        change of a record fails that transaction and the later ones. Returns the
        number of events recorded.

        Raises:
            NotAuthorizedError: an actor may not do a command.
            EventRejectedError: a record rule or the event schema is broken.
            NotFoundError: a record does not exist.
            ConcurrencyError: a record changed meanwhile.
            StorageError: the database failed.
        """
        batch = self.batch(size=size, projectors=projectors)
        batch.hold = True
        with batch:
            for item in items:
                batch.handle(
                    item.command,
                    item.actor,
                    password=item.password,
                    session=item.session,
                )
        return batch.recorded

    # ------------------------------------------------------------------ people

    def create_first_admin(  # what `qms init` asks for
        self,
        user_id: str,
        name: str,
        unit_code: str,
        unit_name_zh: str,
        unit_name_en: str,
        password: str,
        *,
        email: str = "admin@localhost.localdomain",
    ) -> list[RecordedEvent]:
        """Create the headquarters unit (if absent) and the first administrator.

        Works only while no user exists. The administrator chooses their password
        here, so they are not asked to change it.

        Raises:
            NotAuthorizedError: a user exists already.
            EventRejectedError: a name, code or the password is not valid.
            StorageError: the database failed.
        """
        if not self.store.is_initialized():
            self.store.initialize()
        directory = self.directory()
        if directory.users:
            raise NotAuthorizedError("the first administrator exists already")
        key = SigningKey.generate()
        context = Context(
            actor="system",
            today=self.clock.now().date(),
            units=directory.open_units(),
            new_key_id=key.key_id,
        )
        decided: list[tuple[str, Decision]] = []
        expected: dict[str, int] = {}
        if unit_code not in directory.units:
            create = units.CreateUnit(
                code=unit_code,
                name_zh=unit_name_zh,
                name_en=unit_name_en,
                kind="headquarters",
            )
            decided.append(
                (create.stream, units.decide(units.UnitState(), create, context))
            )
            expected[create.stream] = 0
            context = Context(
                actor="system",
                today=context.today,
                units={**context.units, unit_code: "headquarters"},
                new_key_id=key.key_id,
            )
        register = users.RegisterUser(
            user_id=user_id,
            name=name,
            unit=unit_code,
            email=email,
            temporary_password="",
        )
        decision = users.decide(users.UserState(), register, context)
        decision.append(("user.role_granted", {"role": "admin", "scope": unit_code}))
        decided.append((register.stream, decision))
        expected[register.stream] = 0
        events = [
            NewEvent(
                stream=stream,
                type=event_type,
                data=catalog.validate(event_type, data),
                actor="system",
                schema=catalog.schema_version(event_type),
            )
            for stream, decision_ in decided
            for event_type, data in decision_
        ]
        sealing = self.vault.sealing(user_id, key, password, must_change=False)
        return self.store.register_key(
            key.public_raw,
            holder=user_id,
            purpose="esign",
            actor="system",
            command_id=f"first-admin-{uuid.uuid4().hex}",
            extra_events=events,
            expected_versions=expected,
            projectors=(*self.projectors, sealing),
        )

    def change_password(
        self, user_id: str, old_password: str, new_password: str
    ) -> list[RecordedEvent]:
        """Let a user set their own password; return the events it recorded.

        A user who still has a temporary password (after enrolment or an
        administrator's reset) gets a fresh esign key sealed under their own
        password: the key the temporary password opens, which the administrator
        could open too, is revoked. Registration, `user.esign_key_issued` and the
        revocation are one transaction. Otherwise the current key is re-sealed and
        nothing enters the ledger (no events are returned).

        Raises:
            NotAuthorizedError: the user is unknown, inactive or holds no key.
            EventRejectedError: the old password is wrong or the new one is not valid.
            ConcurrencyError: the user's record changed meanwhile; try again.
            StorageError: the database failed.
        """
        directory = self.directory()
        entry = directory.users.get(user_id)
        if entry is None or not entry.active or entry.key_id is None:
            raise NotAuthorizedError(f"{user_id} is not an active user with a key")
        if not self.vault.must_change(user_id):
            self.vault.change_password(
                user_id,
                entry.key_id,
                old_password,
                new_password,
                format_time(self.clock.now()),
            )
            return []
        old_key_id = entry.key_id
        self.vault.open_for_change(user_id, old_key_id, old_password, new_password)
        key = SigningKey.generate()
        sealing = self.vault.sealing(user_id, key, new_password, must_change=False)
        stream = f"user/{user_id}"
        event_type = "user.esign_key_issued"
        issued = NewEvent(
            stream=stream,
            type=event_type,
            data=catalog.validate(
                event_type, {"key_id": key.key_id, "reason": "own password set"}
            ),
            actor=user_id,
            schema=catalog.schema_version(event_type),
        )
        revoke = (
            []
            if old_key_id in directory.revoked_keys
            else [(old_key_id, f"replaced when {user_id} set their own password")]
        )
        recorded = self.store.register_key(
            key.public_raw,
            holder=user_id,
            purpose="esign",
            actor=user_id,
            extra_events=[issued],
            expected_versions={stream: self.store.stream_version(stream)},
            projectors=(*self.projectors, sealing),
            revoke=revoke,
        )
        self._advance_directory(recorded)
        return recorded

    def check_password(self, user_id: str, password: str) -> bool:
        """Return whether `password` is the active user's password (for logins).

        Raises:
            StorageError: the database failed.
        """
        entry = self.directory().users.get(user_id)
        if entry is None or not entry.active:
            return False
        return self.vault.check_password(user_id, password)

    def check_signoffs(self, stream: str) -> int:
        """Re-check that every e-signature of `stream` binds its record version.

        Raises:
            VerificationError: a signature's subject does not match the record.
            StorageError: the database failed.
        """
        return signoffs.check_subjects(self.store.read_stream(stream))


def _blob_refs(
    value: object, where: str, out: list[tuple[str, object, object]]
) -> None:
    """Collect (path, blob, size) of {"blob", "size", "name", "media_type"} objects."""
    if isinstance(value, Mapping):
        if set(value) == {"blob", "size", "name", "media_type"}:
            out.append((where, value["blob"], value["size"]))
        for name, child in value.items():
            _blob_refs(child, f"{where}.{name}", out)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _blob_refs(child, f"{where}[{index}]", out)


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


def _provisional(event: NewEvent, version: int) -> RecordedEvent:
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
    share one `recorded_at`.
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
            recorded = service._handle(
                command, actor, password, None, session, self.projectors
            )
            self._states.pop(command.stream, None)
            self._directory = None
            self.recorded += len(recorded)
            return len(recorded)
        directory = self._current_directory()
        roles, rules = _command_rules(directory, command, actor)
        stream = command.stream
        cached = self._states.get(stream)
        if cached is None:
            history = service.store.read_stream(stream)
            state = rules.new_state()
            for stored in history:
                state = rules.fold(state, stored)
            cached = _Cached(state, history[-1].version if history else 0)
        state, version = cached.state, cached.version
        service._authorize(directory, command, state, actor, roles)
        context = Context(
            actor=actor,
            today=service.clock.now().date(),
            version=version,
            sign=service._signer(directory, actor, stream, version, password, session),
            units=self._units,
            user_units=self._user_units,
        )
        decision = rules.decide(state, command, context)
        events = service._new_events(decision, stream, actor, command)
        for offset, event in enumerate(events, start=1):
            state = rules.fold(state, _provisional(event, version + offset))
        self._expected.setdefault(stream, version)
        self._states[stream] = _Cached(state, version + len(events))
        self._pending.append(events)
        self._count += len(events)
        if not self.hold and self._count >= self.size:
            self.flush()
        return len(events)

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
        try:
            for commands, expected in chunks:
                recorded = self.service.store.append_commands(
                    commands, expected, projectors=self.projectors
                )
                self.service._advance_directory(recorded)
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
            self._states.clear()
        return done

    def discard(self) -> None:
        """Drop the pending events and every cached state (nothing is appended)."""
        self._pending.clear()
        self._expected.clear()
        self._count = 0
        self._states.clear()
        self._directory = None


__all__ = [
    "BATCH_EVENTS",
    "ROLES",
    "BatchItem",
    "CommandBatch",
    "Directory",
    "Service",
    "UnitEntry",
    "UserEntry",
]
