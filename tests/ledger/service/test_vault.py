"""Sealed e-signature keys and credentials on both dialects."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import DBAPIError

from ledger.errors import EventRejectedError, NotAuthorizedError
from ledger.integrity.esig import esig_message
from ledger.integrity.signing import SigningKey, verify_signature
from ledger.service.vault import KeyVault, make_esig
from ledger.store.tables import credentials, esign_keys


def enrol(
    vault: KeyVault, user_id: str, password: str, *, must_change: bool
) -> SigningKey:
    key = SigningKey.generate()
    sealing = vault.sealing(user_id, key, password, must_change=must_change)
    with vault.engine.begin() as connection:
        sealing.apply(connection, [])
    return key


@pytest.fixture
def vault(engine: Engine) -> KeyVault:
    return KeyVault(engine, scrypt_n=2**10)


def test_esig_signs_the_documented_message() -> None:
    key = SigningKey.generate()
    esig = make_esig(
        key,
        signer="bob",
        name="Bob",
        meaning="approved",
        signed_at="2026-01-05T08:00:00.000000Z",
        subject="document/QP-07",
        subject_sha256="ab" * 32,
    )
    sig = base64.b64decode(str(esig["sig"]))
    assert esig["key"] == key.key_id
    assert verify_signature(key.public_raw, sig, esig_message(esig))
    assert not verify_signature(
        key.public_raw, sig, esig_message({**esig, "subject": "document/QP-08"})
    )


def test_the_private_key_is_stored_only_sealed(vault: KeyVault) -> None:
    key = enrol(vault, "bob", "bob-secret-1", must_change=False)
    with vault.engine.connect() as connection:
        sealed = connection.execute(select(esign_keys.c.sealed)).scalar_one()
        stored_hash = connection.execute(
            select(credentials.c.password_hash)
        ).scalar_one()
    assert "bob-secret-1" not in sealed
    assert "bob-secret-1" not in stored_hash
    assert vault.unseal("bob", key.key_id, "bob-secret-1").key_id == key.key_id


def test_wrong_password_opens_nothing(vault: KeyVault) -> None:
    key = enrol(vault, "bob", "bob-secret-1", must_change=False)
    with pytest.raises(EventRejectedError) as caught:
        vault.unseal("bob", key.key_id, "bob-secret-2")
    assert "password" in caught.value.messages


def test_temporary_password_blocks_signing_until_changed(vault: KeyVault) -> None:
    key = enrol(vault, "bob", "temporary-1", must_change=True)
    with pytest.raises(NotAuthorizedError, match="must set their own password"):
        vault.unseal("bob", key.key_id, "temporary-1")
    vault.change_password(
        "bob", key.key_id, "temporary-1", "bob-secret-1", "2026-01-05T08:00:00.000000Z"
    )
    assert not vault.must_change("bob")
    assert (
        vault.unseal("bob", key.key_id, "bob-secret-1").key_id == key.key_id
    )  # same key, re-sealed
    with pytest.raises(EventRejectedError):
        vault.unseal("bob", key.key_id, "temporary-1")


def test_password_rules(vault: KeyVault) -> None:
    with pytest.raises(EventRejectedError) as caught:
        vault.sealing("bob", SigningKey.generate(), "short", must_change=True)
    assert "password" in caught.value.messages
    key = enrol(vault, "bob", "temporary-1", must_change=True)
    with pytest.raises(EventRejectedError) as caught:
        vault.change_password("bob", key.key_id, "temporary-1", "temporary-1", "t")
    assert "new_password" in caught.value.messages


def test_someone_elses_key_cannot_be_opened(vault: KeyVault) -> None:
    key = enrol(vault, "bob", "bob-secret-1", must_change=False)
    enrol(vault, "eve", "eve-secret-1", must_change=False)
    with pytest.raises(NotAuthorizedError, match="holds no e-signature key"):
        vault.unseal("eve", key.key_id, "bob-secret-1")


def test_sealed_keys_are_never_deleted(vault: KeyVault) -> None:
    enrol(vault, "bob", "bob-secret-1", must_change=False)
    with (
        pytest.raises(DBAPIError, match="never deleted"),
        vault.engine.begin() as connection,
    ):
        connection.execute(delete(esign_keys))
    with vault.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM esign_keys")).scalar_one()
            == 1
        )
