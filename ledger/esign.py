"""People's electronic signatures: sealed esign keys, password credentials, signing.

A person's Ed25519 esign key is stored only sealed under their password
(`ledger.signing.encrypt_private_key`), so only the person can sign; the password
hash (scrypt, per-user salt) serves logins and the `must_change` flag. The tables
are written through SQLAlchemy Core here because this is service-side storage, not
the pure core. Sealed keys are never deleted (a trigger refuses it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from ledger.canonical import JSONObject
from ledger.chain import esig_message
from ledger.envelope import RecordedEvent
from ledger.errors import (
    EventRejectedError,
    KeyMaterialError,
    NotAuthorizedError,
    StorageError,
)
from ledger.signing import (
    SCRYPT_N,
    SigningKey,
    decrypt_private_key,
    encrypt_private_key,
)

metadata = MetaData()

esign_keys = Table(
    "esign_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("user_id", Text, nullable=False, index=True),
    Column("sealed", Text, nullable=False),
    Column("created", Text, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("salt", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("scrypt_n", Integer, nullable=False),
    Column("must_change", Boolean, nullable=False),
    Column("changed_at", Text, nullable=False),
)

MIN_PASSWORD_LENGTH = 8
_SCRYPT_R = 8
_SCRYPT_P = 1


def _password_hash(password: str, salt: bytes, n: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=256 * _SCRYPT_R * n + 2**20,
        dklen=32,
    )


def make_esig(  # the members of the esig object
    key: SigningKey,
    *,
    signer: str,
    name: str,
    meaning: str,
    signed_at: str,
    subject: str,
    subject_sha256: str,
) -> JSONObject:
    """Return the esig object of docs/ledger-format.md section 5, signed with `key`."""
    esig: dict[str, str] = {
        "signer": signer,
        "name": name,
        "meaning": meaning,
        "signed_at": signed_at,
        "subject": subject,
        "subject_sha256": subject_sha256,
        "key": key.key_id,
    }
    esig["sig"] = base64.b64encode(key.sign(esig_message(esig))).decode()
    return esig


def check_password_rules(password: str, field_name: str = "password") -> None:
    """Reject a password that is too short.

    Raises:
        EventRejectedError: the password has fewer than 8 characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"a password has at least {MIN_PASSWORD_LENGTH} characters"
        raise EventRejectedError(message, {field_name: [message]})


@dataclass(frozen=True, slots=True)
class _Sealing:
    """A projector that stores a sealed key and credentials in the append transaction."""

    user_id: str
    key_id: str
    sealed: str
    salt: str
    password_hash: str
    scrypt_n: int
    must_change: bool

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        moment = events[-1].recorded_at if events else ""
        connection.execute(
            esign_keys.insert().values(
                key_id=self.key_id,
                user_id=self.user_id,
                sealed=self.sealed,
                created=moment,
            )
        )
        values = {
            "salt": self.salt,
            "password_hash": self.password_hash,
            "scrypt_n": self.scrypt_n,
            "must_change": self.must_change,
            "changed_at": moment,
        }
        done = connection.execute(
            update(credentials)
            .where(credentials.c.user_id == self.user_id)
            .values(**values)
        )
        if done.rowcount == 0:
            connection.execute(
                credentials.insert().values(user_id=self.user_id, **values)
            )


class KeyVault:
    """Sealed esign keys and password credentials of people."""

    def __init__(self, engine: Engine, *, scrypt_n: int = SCRYPT_N) -> None:
        self.engine = engine
        self.scrypt_n = scrypt_n

    def sealing(
        self, user_id: str, key: SigningKey, password: str, *, must_change: bool
    ) -> _Sealing:
        """Seal `key` under `password` and return a projector that stores it.

        The expensive key derivation happens here, outside the append transaction.

        Raises:
            EventRejectedError: the password is too short.
        """
        check_password_rules(password)
        salt = secrets.token_bytes(16)
        return _Sealing(
            user_id=user_id,
            key_id=key.key_id,
            sealed=encrypt_private_key(key, password, n=self.scrypt_n),
            salt=base64.b64encode(salt).decode(),
            password_hash=_password_hash(password, salt, self.scrypt_n).hex(),
            scrypt_n=self.scrypt_n,
            must_change=must_change,
        )

    def _credentials(self, user_id: str) -> tuple[str, str, int, bool] | None:
        try:
            with self.engine.connect() as connection:
                row = connection.execute(
                    select(
                        credentials.c.salt,
                        credentials.c.password_hash,
                        credentials.c.scrypt_n,
                        credentials.c.must_change,
                    ).where(credentials.c.user_id == user_id)
                ).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"reading credentials failed: {exc}") from exc
        if row is None:
            return None
        return str(row[0]), str(row[1]), int(row[2]), bool(row[3])

    def check_password(self, user_id: str, password: str) -> bool:
        """Return whether `password` is the user's current password.

        Raises:
            StorageError: the database failed.
        """
        found = self._credentials(user_id)
        if found is None:
            return False
        salt, stored, n, _ = found
        computed = _password_hash(password, base64.b64decode(salt), n).hex()
        return hmac.compare_digest(computed, stored)

    def must_change(self, user_id: str) -> bool:
        """Return whether the user still has a temporary password.

        Raises:
            StorageError: the database failed.
        """
        found = self._credentials(user_id)
        return found is None or found[3]

    def _sealed(self, key_id: str, user_id: str) -> str:
        try:
            with self.engine.connect() as connection:
                sealed = connection.execute(
                    select(esign_keys.c.sealed).where(
                        esign_keys.c.key_id == key_id, esign_keys.c.user_id == user_id
                    )
                ).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StorageError(f"reading a sealed key failed: {exc}") from exc
        if sealed is None:
            raise NotAuthorizedError(f"{user_id} holds no e-signature key {key_id}")
        return str(sealed)

    def unseal(self, user_id: str, key_id: str, password: str) -> SigningKey:
        """Open the user's esign key with their password, for one signature.

        Raises:
            NotAuthorizedError: the user must set their own password first, or holds
                no such key.
            EventRejectedError: the password is wrong (field `password`).
            StorageError: the database failed.
        """
        if self.must_change(user_id):
            raise NotAuthorizedError(
                f"{user_id} must set their own password before signing"
            )
        sealed = self._sealed(key_id, user_id)
        try:
            return decrypt_private_key(sealed, password)
        except KeyMaterialError as exc:
            message = "wrong password"
            raise EventRejectedError(message, {"password": [message]}) from exc

    def change_password(
        self,
        user_id: str,
        key_id: str,
        old_password: str,
        new_password: str,
        moment: str,
    ) -> None:
        """Re-seal the user's current key under a new password of their own.

        Clears `must_change`. The key stays the same, so nothing enters the ledger.

        Raises:
            EventRejectedError: the old password is wrong, or the new one is too
                short or equals the old one.
            NotAuthorizedError: the user holds no such key.
            StorageError: the database failed.
        """
        check_password_rules(new_password, "new_password")
        if new_password == old_password:
            message = "choose a password different from the current one"
            raise EventRejectedError(message, {"new_password": [message]})
        if not self.check_password(user_id, old_password):
            message = "wrong password"
            raise EventRejectedError(message, {"old_password": [message]})
        try:
            key = decrypt_private_key(self._sealed(key_id, user_id), old_password)
        except KeyMaterialError as exc:
            message = "wrong password"
            raise EventRejectedError(message, {"old_password": [message]}) from exc
        sealing = self.sealing(user_id, key, new_password, must_change=False)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    update(esign_keys)
                    .where(esign_keys.c.key_id == key_id)
                    .values(sealed=sealing.sealed)
                )
                connection.execute(
                    update(credentials)
                    .where(credentials.c.user_id == user_id)
                    .values(
                        salt=sealing.salt,
                        password_hash=sealing.password_hash,
                        scrypt_n=sealing.scrypt_n,
                        must_change=False,
                        changed_at=moment,
                    )
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"changing the password failed: {exc}") from exc
