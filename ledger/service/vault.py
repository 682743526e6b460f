"""People's electronic signatures: sealed esign keys, password credentials, signing.

A person's Ed25519 esign key is stored only sealed under their password
(`ledger.integrity.signing.encrypt_private_key`), so only the person can sign; the password
hash (scrypt, per-user salt) serves logins and the `must_change` flag. The tables
(`ledger.store.tables.esign_keys` and `credentials`) are written through SQLAlchemy
Core here because this is service-side storage, not the pure core. Sealed keys are never deleted (a trigger refuses it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ledger.errors import (
    EventRejectedError,
    KeyMaterialError,
    NotAuthorizedError,
    StorageError,
)
from ledger.integrity.canonical import JSONObject
from ledger.integrity.envelope import RecordedEvent
from ledger.integrity.esig import esig_message
from ledger.integrity.signing import (
    SCRYPT_N,
    SigningKey,
    decrypt_private_key,
    encrypt_private_key,
)
from ledger.store.engine import driver_message
from ledger.store.tables import credentials, esign_keys

MIN_PASSWORD_LENGTH = 8
_SCRYPT_R = 8
_SCRYPT_P = 1


_NO_USER_SALT = bytes(16)  # for the check of a user id that has no password


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


def _failure(action: str, exc: SQLAlchemyError) -> StorageError:
    """Return StorageError with the driver's message only (`driver_message`).

    The text of a SQLAlchemy error repeats the statement's bound parameters (salts,
    password hashes, sealed keys); they never enter a message, so an error without
    a driver error is named by its type alone.
    """
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        reason = driver_message(exc)
    else:
        reason = type(exc).__name__
    return StorageError(f"{action} failed: {reason}")


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


class SigningSession:
    """A person's esign key, unsealed once for later signings in the same session.

    21 CFR 11.200(a)(1)(i): after the first signing of a session, later signings
    need at least one component. The service opens a session only after checking
    the person's password; the key then lives in this object, in memory only: it
    cannot be pickled, printed or stored, and `close()` forgets it.
    """

    __slots__ = ("_key", "key_id", "user_id")

    def __init__(self, user_id: str, key: SigningKey) -> None:
        self.user_id = user_id
        self.key_id = key.key_id
        self._key: SigningKey | None = key

    def key_for(self, user_id: str, key_id: str) -> SigningKey:
        """Return the key when `user_id` owns this session and `key_id` is its key.

        Raises:
            NotAuthorizedError: the session belongs to someone else, holds another
                key, or was closed.
        """
        if user_id != self.user_id:
            raise NotAuthorizedError(
                f"a signing session of {self.user_id} cannot sign for {user_id}"
            )
        if self._key is None:
            raise NotAuthorizedError(f"the signing session of {user_id} is closed")
        if key_id != self.key_id:
            raise NotAuthorizedError(
                f"the signing session of {user_id} holds a key no longer in force"
            )
        return self._key

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._key is None

    def close(self) -> None:
        """Forget the key; later signings need the password again."""
        self._key = None

    def __repr__(self) -> str:
        """Name the session without its key."""
        return f"SigningSession(user_id={self.user_id!r}, key_id={self.key_id!r})"

    def __reduce__(self) -> str | tuple[object, ...]:
        """Refuse pickling: a signing session is never stored.

        Raises:
            TypeError: always.
        """
        raise TypeError("a signing session stays in memory and is never stored")


class KeyVault:
    """Sealed esign keys and password credentials of people."""

    def __init__(self, engine: Engine, *, scrypt_n: int = SCRYPT_N) -> None:
        self.engine = engine
        self.scrypt_n = scrypt_n

    def sealing(
        self, user_id: str, key: SigningKey, password: str, *, must_change: bool
    ) -> _Sealing:
        """Seal `key` under `password` and return a projector that stores it.

        The expensive key derivations happen here, outside the append transaction,
        the sealing key's and the password hash's side by side (scrypt releases
        the interpreter lock, so they take one derivation's time on two cores).

        Raises:
            EventRejectedError: the password is too short.
        """
        check_password_rules(password)
        salt = secrets.token_bytes(16)
        with ThreadPoolExecutor(max_workers=1) as pool:
            sealed = pool.submit(encrypt_private_key, key, password, n=self.scrypt_n)
            password_hash = _password_hash(password, salt, self.scrypt_n).hex()
            return _Sealing(
                user_id=user_id,
                key_id=key.key_id,
                sealed=sealed.result(),
                salt=base64.b64encode(salt).decode(),
                password_hash=password_hash,
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
            raise _failure("reading credentials", exc) from exc
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
            # As slow as a wrong password: the answer's time tells no one which
            # user ids exist.
            _password_hash(password, _NO_USER_SALT, self.scrypt_n)
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
            raise _failure("reading a sealed key", exc) from exc
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

    def open_session(self, user_id: str, key_id: str, password: str) -> SigningSession:
        """Check the password by unsealing the key once; return a signing session.

        Raises:
            NotAuthorizedError: the user must set their own password first, or holds
                no such key.
            EventRejectedError: the password is wrong (field `password`).
            StorageError: the database failed.
        """
        return SigningSession(user_id, self.unseal(user_id, key_id, password))

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
        (After a temporary password the service issues a new key instead: see
        `Service.change_password`.)

        Raises:
            EventRejectedError: the old password is wrong, or the new one is too
                short or equals the old one.
            NotAuthorizedError: the user holds no such key.
            StorageError: the database failed.
        """
        key = self.open_for_change(user_id, key_id, old_password, new_password)
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
            raise _failure("changing the password", exc) from exc

    def open_for_change(
        self, user_id: str, key_id: str, old_password: str, new_password: str
    ) -> SigningKey:
        """Check a password change and return the key the old password opens.

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
        with ThreadPoolExecutor(max_workers=1) as pool:
            # Both checks of the old password at once (two scrypt derivations).
            opened = pool.submit(
                lambda: decrypt_private_key(self._sealed(key_id, user_id), old_password)
            )
            if not self.check_password(user_id, old_password):
                message = "wrong password"
                raise EventRejectedError(message, {"old_password": [message]})
            try:
                key = opened.result()
            except KeyMaterialError as exc:
                message = "wrong password"
                raise EventRejectedError(message, {"old_password": [message]}) from exc
        return key
