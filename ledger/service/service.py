"""The write service: authorize, load, fold, decide, validate, append.

`Service.handle(command, actor)` checks the actor's roles against the record's unit,
folds the record's stream, asks the record rules (`ledger.domain`) for events,
validates their data through the catalogue, and appends them with the stream's
expected version; the projectors it was given run in the same transaction. Nothing
is stored when a command fails. The steps live in `ledger.service.decide`, where
`CommandBatch` finds them too. It never imports the read side: the directory of
units, users and roles it authorizes with is its own fold of unit/* and user/* events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.clock import Clock, SystemClock
from ledger.domain import Command, signoffs, users
from ledger.errors import ConcurrencyError
from ledger.integrity.envelope import RecordedEvent
from ledger.integrity.signing import SCRYPT_N, SigningKey
from ledger.service.batch import BATCH_EVENTS, BatchItem, CommandBatch
from ledger.service.decide import Pipeline, authorize, command_rules
from ledger.service.directory import Directory, DirectoryKeeper
from ledger.service.people import People
from ledger.service.vault import KeyVault, SigningSession
from ledger.store import EventStore, Projector


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
        self.directories = DirectoryKeeper(store)
        self.pipeline = Pipeline(store, self.vault, self.clock)
        self.people = People(self.pipeline, self.directories, self.projectors)

    def directory(self) -> Directory:
        """Return the directory, caught up with the ledger (reads only new events).

        Raises:
            StorageError: the database failed.
        """
        return self.directories.current()

    # ------------------------------------------------------------------ commands

    def handle(  # the command, its actor, their signing means, a retry id
        self,
        command: Command,
        actor: str,
        *,
        password: str | None = None,
        command_id: str | None = None,
        session: SigningSession | None = None,
        projectors: Sequence[Projector] | None = None,
        expected_version: int | None = None,
    ) -> list[RecordedEvent]:
        """Authorize and record `command` on behalf of `actor`; return the events.

        `password` is the actor's own password, needed when the command carries
        their e-signature; an open `session` of the actor (`signing_session`) stands
        for it in later signings. A `command_id` seen before returns that command's
        events and records nothing. `projectors` replace the service's own for this
        command's append (a batch passes its own). `expected_version` is the version
        of the record's stream the actor saw (0: none yet); a record that moved on
        since is refused.

        Raises:
            NotAuthorizedError: the actor may not do this (role, unit, segregation of
                duties, or a temporary password blocks signing).
            EventRejectedError: a record rule or the event schema is broken; the
                messages name the fields.
            NotFoundError: the record does not exist.
            ConcurrencyError: the record changed meanwhile (or since
                `expected_version`); reload and retry.
            StorageError: the database failed.
        """
        if command_id is not None:
            earlier = self.store.events_for_command(command_id)
            if earlier:
                return earlier
        directory = self.directory()
        roles, rules = command_rules(directory, command, actor)
        state, version = self.pipeline.load(rules, command.stream)
        if expected_version is not None and version != expected_version:
            raise ConcurrencyError(
                f"{command.stream} is at version {version}, not {expected_version}"
            )
        authorize(directory, command, state, actor, roles)
        new_key = (
            SigningKey.generate()
            if isinstance(command, (users.RegisterUser, users.ResetPassword))
            else None
        )
        events = self.pipeline.decide(
            directory,
            command,
            actor,
            rules,
            state,
            version,
            password=password,
            session=session,
            units=directory.open_units(),
            user_units={u.user_id: u.unit for u in directory.users.values()},
            new_key_id=new_key.key_id if new_key else None,
        )
        expected = {command.stream: version}
        run = self.projectors if projectors is None else tuple(projectors)
        if new_key is None:
            return self.store.append(
                events, expected, command_id=command_id, projectors=run
            )
        assert isinstance(command, (users.RegisterUser, users.ResetPassword))  # noqa: S101  # new_key is made for these only
        return self.people.issue_key(
            directory, command, actor, new_key, events, expected, command_id, run
        )

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
        return self.people.signing_session(user_id, password)

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
        return self.people.create_first_admin(
            user_id,
            name,
            unit_code,
            unit_name_zh,
            unit_name_en,
            password,
            email=email,
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
        return self.people.change_password(user_id, old_password, new_password)

    def check_password(self, user_id: str, password: str) -> bool:
        """Return whether `password` is the active user's password (for logins).

        Raises:
            StorageError: the database failed.
        """
        return self.people.check_password(user_id, password)

    def check_signoffs(self, stream: str) -> int:
        """Re-check that every e-signature of `stream` binds its record version.

        Raises:
            VerificationError: a signature's subject does not match the record.
            StorageError: the database failed.
        """
        return signoffs.check_subjects(self.store.read_stream(stream))
