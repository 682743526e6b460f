"""People's keys and passwords through the service, on both dialects.

A person's first own password gives them a key nobody else could open, a reset's
registration and revocation are one transaction, errors never show secrets, and a
user named like a ledger stream does not hide key events.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.domain import users as us
from ledger.errors import EventRejectedError, NotAuthorizedError, StorageError
from ledger.integrity.signing import SigningKey, decrypt_private_key
from ledger.service import Service
from ledger.store import EventStore
from ledger.store.tables import esign_keys
from ledger.store.verify import verify_store
from tests.support.service import (
    TEMP,
    build_service,
    endorsed,
    secret,
)


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    """HQ, bureaus B1 and B2, and one person per role with their own passwords."""
    return build_service(store, clock)


def sealed_key(service: Service, key_id: str, password: str) -> SigningKey:
    with service.store.engine.connect() as connection:
        sealed = connection.execute(
            sa.select(esign_keys.c.sealed).where(esign_keys.c.key_id == key_id)
        ).scalar_one()
    return decrypt_private_key(str(sealed), password)


def command_ids(events: Any) -> set[str]:
    return {str(e.meta["command_id"]) for e in events}


class TestOwnPasswordAfterReset:
    def test_first_own_password_replaces_the_key_the_admin_could_open(
        self, service: Service, signer: SigningKey
    ) -> None:
        service.handle(
            us.ResetPassword(user_id="bob", temporary_password="admin-knows-1"), "root"
        )
        reset_key_id = service.directory().users["bob"].key_id
        assert reset_key_id is not None
        # Whoever knows the temporary password can open the reset key.
        opened = sealed_key(service, reset_key_id, "admin-knows-1")
        assert opened.key_id == reset_key_id

        size = service.store.size()
        events = service.change_password("bob", "admin-knows-1", "bob-new-secret")
        assert [e.type for e in events] == [
            "ledger.key_registered",
            "user.esign_key_issued",
            "ledger.key_revoked",
        ]
        assert len(command_ids(events)) == 1  # one append
        assert service.store.size() == size + 3
        assert events[2].data["key_id"] == reset_key_id

        revoked = {k.key_id: k.revoked_seq for k in service.store.key_records()}
        assert revoked[reset_key_id] is not None
        own_key_id = service.directory().users["bob"].key_id
        assert own_key_id not in (None, reset_key_id)
        assert revoked[str(own_key_id)] is None
        assert reset_key_id in service.directory().revoked_keys

        endorsed(service)
        (approved,) = service.handle(
            d.ApproveDocument(doc_id="QP-07"), "bob", password="bob-new-secret"
        )
        assert approved.data["esig"]["key"] == own_key_id
        head, _ = verify_store(service.store, trusted_key_id=signer.key_id, workers=1)
        assert head.size == service.store.size()
        assert head.esignatures == 1

    def test_a_new_users_first_password_replaces_the_enrolment_key(
        self, service: Service
    ) -> None:
        service.handle(
            us.RegisterUser(
                user_id="nina",
                name="Nina",
                unit="B1",
                email="n@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        enrolment_key = service.directory().users["nina"].key_id
        events = service.change_password("nina", TEMP, secret("nina"))
        assert len(command_ids(events)) == 1
        assert events[2].data["key_id"] == enrolment_key
        assert service.directory().users["nina"].key_id != enrolment_key
        # A later change of one's own password keeps the key and records nothing.
        size = service.store.size()
        assert service.change_password("nina", secret("nina"), "nina-newer-1") == []
        assert service.store.size() == size
        assert service.check_password("nina", "nina-newer-1")

    def test_wrong_temporary_password_records_nothing(self, service: Service) -> None:
        service.handle(
            us.ResetPassword(user_id="bob", temporary_password="admin-knows-1"), "root"
        )
        size = service.store.size()
        with pytest.raises(EventRejectedError):
            service.change_password("bob", "not-the-temporary", "bob-new-secret")
        assert service.store.size() == size


class TestResetIsOneTransaction:
    def test_registration_and_revocation_share_one_command(
        self, service: Service
    ) -> None:
        old_key = service.directory().users["bob"].key_id
        events = service.handle(
            us.ResetPassword(user_id="bob", temporary_password="admin-knows-1"),
            "root",
            command_id="reset-bob-1",
        )
        assert [e.type for e in events] == [
            "ledger.key_registered",
            "user.esign_key_issued",
            "ledger.key_revoked",
        ]
        assert command_ids(events) == {"reset-bob-1"}
        assert events[2].data == {"key_id": old_key, "reason": "password reset by root"}
        # The same command again records nothing more.
        size = service.store.size()
        again = service.handle(
            us.ResetPassword(user_id="bob", temporary_password="admin-knows-1"),
            "root",
            command_id="reset-bob-1",
        )
        assert [e.seq for e in again] == [e.seq for e in events]
        assert service.store.size() == size

    def test_a_refused_revocation_registers_nothing(self, store: EventStore) -> None:
        key = SigningKey.generate()
        size = store.size()
        with pytest.raises(EventRejectedError) as caught:
            store.register_key(
                key.public_raw,
                holder="bob",
                purpose="esign",
                revoke=[("0123456789abcdef", "replaced")],
            )
        assert "key_id" in caught.value.messages
        assert store.size() == size
        assert key.key_id not in {k.key_id for k in store.key_records()}
        with pytest.raises(EventRejectedError):
            store.register_key(
                key.public_raw,
                holder="bob",
                purpose="esign",
                revoke=[(store.signer.key_id, "replaced")],
            )
        assert store.size() == size


def _refuse_credential_updates(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text(
                    "CREATE FUNCTION refuse_update() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'updates refused'; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            connection.execute(
                sa.text(
                    "CREATE TRIGGER refuse_update BEFORE UPDATE ON credentials "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_update()"
                )
            )
        else:
            connection.execute(
                sa.text(
                    "CREATE TRIGGER refuse_update BEFORE UPDATE ON credentials "
                    "BEGIN SELECT RAISE(ABORT, 'updates refused'); END"
                )
            )


class TestNoSecretsInErrors:
    def test_a_failed_password_change_shows_no_salt_hash_or_password(
        self, service: Service, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        made: list[Any] = []
        sealing = service.vault.sealing

        def keep(*args: Any, **kwargs: Any) -> Any:
            made.append(sealing(*args, **kwargs))
            return made[-1]

        monkeypatch.setattr(service.vault, "sealing", keep)
        _refuse_credential_updates(service.store.engine)
        with pytest.raises(StorageError) as caught:
            service.change_password("bob", secret("bob"), "bob-new-secret")
        (new,) = made
        texts = [str(caught.value), str(caught.value.__cause__)]
        for text in texts:
            for hidden in (
                new.salt,
                new.password_hash,
                new.sealed,
                secret("bob"),
                "bob-new-secret",
            ):
                assert hidden not in text
        assert "updates refused" in texts[0]
        assert service.check_password("bob", secret("bob"))

    def test_a_missing_credentials_table_shows_no_password(
        self, service: Service
    ) -> None:
        with service.store.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE credentials"))
        with pytest.raises(StorageError) as caught:
            service.change_password("bob", secret("bob"), "bob-new-secret")
        text = f"{caught.value} {caught.value.__cause__}"
        assert secret("bob") not in text
        assert "bob-new-secret" not in text
        assert "credentials" in str(caught.value)


class TestUserNamedKeys:
    def test_key_revocations_count_although_a_user_is_named_keys(
        self, service: Service
    ) -> None:
        service.handle(
            us.RegisterUser(
                user_id="keys",
                name="Keys",
                unit="B1",
                email="keys@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        bob_key = service.directory().users["bob"].key_id
        assert bob_key is not None
        service.store.revoke_key(bob_key, "laptop stolen", actor="root")
        for svc in (service, Service(service.store, scrypt_n=2**10)):
            directory = svc.directory()
            assert bob_key in directory.revoked_keys
            assert directory.users["keys"].roles == set()
            with pytest.raises(NotAuthorizedError, match="no e-signature key in force"):
                svc.signing_session("bob", secret("bob"))


class TestFirstAdministrator:
    def test_the_first_admin_is_one_command_of_key_unit_user_and_admin_role(
        self, store: EventStore, clock: FixedClock
    ) -> None:
        svc = Service(store, clock=clock, scrypt_n=2**10)
        recorded = svc.create_first_admin(
            "root", "Root Admin", "HQ", "总局", "Headquarters", secret("root")
        )
        key_id = str(recorded[0].data["key_id"])
        assert [(e.stream, e.type, e.actor) for e in recorded] == [
            ("ledger/keys", "ledger.key_registered", "system"),
            ("unit/HQ", "unit.created", "system"),
            ("user/root", "user.registered", "system"),
            ("user/root", "user.esign_key_issued", "system"),
            ("user/root", "user.role_granted", "system"),
        ]
        assert [dict(e.data) for e in recorded[1:]] == [
            {
                "code": "HQ",
                "kind": "headquarters",
                "name_en": "Headquarters",
                "name_zh": "总局",
                "parent": None,
            },
            {
                "user_id": "root",
                "name": "Root Admin",
                "unit": "HQ",
                "email": "admin@localhost.localdomain",
            },
            {"key_id": key_id, "reason": "enrolment"},
            {"role": "admin", "scope": "HQ"},
        ]
        assert len(command_ids(recorded)) == 1
        assert svc.directory().may("root", ["admin"], "HQ")
        assert svc.check_password("root", secret("root"))

    def test_a_second_first_admin_is_refused_and_stores_nothing(
        self, service: Service
    ) -> None:
        before = service.store.size()
        with pytest.raises(NotAuthorizedError, match="exists already"):
            service.create_first_admin(
                "root2", "Other", "HQ", "总局", "Headquarters", secret("root2")
            )
        assert service.store.size() == before


def test_an_unknown_user_costs_the_same_password_work_as_a_known_one(
    store: EventStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build_service(store, clock)
    calls: list[int] = []
    real = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(int(kwargs["n"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    assert not service.check_password("alice", "wrong password")
    known = list(calls)
    calls.clear()
    assert not service.check_password("nobody-here", "wrong password")
    assert calls == known
    assert len(known) == 1
