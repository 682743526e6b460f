"""People: the first administrator, enrolment keys, own passwords, logins, sessions.

A person's esign key is generated here, registered in the ledger and sealed in the
vault in one transaction (the sealing is a projector of the key's append).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ledger.domain import Context, Decision, units, users
from ledger.errors import NotAuthorizedError
from ledger.integrity.envelope import NewEvent, RecordedEvent, format_time
from ledger.integrity.signing import SigningKey
from ledger.service.decide import RECORD_RULES, Pipeline, fold_decided
from ledger.service.directory import Directory, DirectoryKeeper
from ledger.service.vault import SigningSession
from ledger.store import Projector


class People:
    """Enrolment, passwords and signing sessions of the service's users."""

    def __init__(
        self,
        pipeline: Pipeline,
        directories: DirectoryKeeper,
        projectors: Sequence[Projector],
    ) -> None:
        self.pipeline = pipeline
        self.directories = directories
        self.projectors = tuple(projectors)

    def issue_key(  # the parts of one enrolment
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

        Raises:
            EventRejectedError: the temporary password is not valid.
            ConcurrencyError: the user's record changed meanwhile.
            StorageError: the database failed.
        """
        old_key = directory.users.get(command.user_id)
        old_key_id = old_key.key_id if old_key else None
        sealing = self.pipeline.vault.sealing(
            command.user_id, key, command.temporary_password, must_change=True
        )
        # The new key signs from now on; the old one must never sign again, and
        # both happen in the same transaction.
        revoke = (
            [(old_key_id, f"password reset by {actor}")]
            if old_key_id is not None and old_key_id not in directory.revoked_keys
            else []
        )
        return self.pipeline.store.register_key(
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

        The unit, the user and the administrator role are decided by the record
        rules, acting as `system`; see `Service.create_first_admin`.

        Raises:
            NotAuthorizedError: a user exists already.
            EventRejectedError: a name, code or the password is not valid.
            StorageError: the database failed.
        """
        store = self.pipeline.store
        if not store.is_initialized():
            store.initialize()
        directory = self.directories.current()
        if directory.users:
            raise NotAuthorizedError("the first administrator exists already")
        key = SigningKey.generate()
        context = Context(
            actor="system",
            today=self.pipeline.clock.now().date(),
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
        registered = fold_decided(
            RECORD_RULES["user"],
            users.UserState(),
            [
                NewEvent(stream=register.stream, type=t, data=d, actor="system")
                for t, d in decision
            ],
            0,
        )
        grant = users.GrantRole(user_id=user_id, role="admin", scope=unit_code)
        granted = replace(context, version=registered.version)
        decision.extend(users.decide(registered, grant, granted))
        decided.append((register.stream, decision))
        expected[register.stream] = 0
        events = [
            event
            for stream, decision_ in decided
            for event in self.pipeline.events(decision_, stream, "system")
        ]
        sealing = self.pipeline.vault.sealing(user_id, key, password, must_change=False)
        return store.register_key(
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

        See `Service.change_password`.

        Raises:
            NotAuthorizedError: the user is unknown, inactive or holds no key.
            EventRejectedError: the old password is wrong or the new one is not valid.
            ConcurrencyError: the user's record changed meanwhile; try again.
            StorageError: the database failed.
        """
        vault, store = self.pipeline.vault, self.pipeline.store
        directory = self.directories.current()
        entry = directory.users.get(user_id)
        if entry is None or not entry.active or entry.key_id is None:
            raise NotAuthorizedError(f"{user_id} is not an active user with a key")
        if not vault.must_change(user_id):
            vault.change_password(
                user_id,
                entry.key_id,
                old_password,
                new_password,
                format_time(self.pipeline.clock.now()),
            )
            return []
        old_key_id = entry.key_id
        vault.open_for_change(user_id, old_key_id, old_password, new_password)
        key = SigningKey.generate()
        sealing = vault.sealing(user_id, key, new_password, must_change=False)
        stream = f"user/{user_id}"
        issued = self.pipeline.events(
            [
                (
                    "user.esign_key_issued",
                    {"key_id": key.key_id, "reason": "own password set"},
                )
            ],
            stream,
            user_id,
        )
        revoke = (
            []
            if old_key_id in directory.revoked_keys
            else [(old_key_id, f"replaced when {user_id} set their own password")]
        )
        recorded = store.register_key(
            key.public_raw,
            holder=user_id,
            purpose="esign",
            actor=user_id,
            extra_events=issued,
            expected_versions={stream: store.stream_version(stream)},
            projectors=(*self.projectors, sealing),
            revoke=revoke,
        )
        self.directories.advance(recorded)
        return recorded

    def check_password(self, user_id: str, password: str) -> bool:
        """Return whether `password` is the active user's password (for logins).

        Raises:
            StorageError: the database failed.
        """
        entry = self.directories.current().users.get(user_id)
        # The password is checked (slowly) even for an unknown or inactive user, so
        # that the time of the answer does not tell which user ids exist.
        matches = self.pipeline.vault.check_password(user_id, password)
        return entry is not None and entry.active and matches

    def signing_session(self, user_id: str, password: str) -> SigningSession:
        """Check the user's password once and return their signing session.

        Raises:
            NotAuthorizedError: the user is unknown or inactive, holds no key in
                force, or must set their own password first.
            EventRejectedError: the password is wrong (field `password`).
            StorageError: the database failed.
        """
        directory = self.directories.current()
        entry = directory.users.get(user_id)
        if entry is None or not entry.active:
            raise NotAuthorizedError(f"{user_id} is not an active user")
        if entry.key_id is None or entry.key_id in directory.revoked_keys:
            raise NotAuthorizedError(f"{user_id} holds no e-signature key in force")
        return self.pipeline.vault.open_session(user_id, entry.key_id, password)
