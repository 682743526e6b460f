"""Ed25519 keys on `cryptography`: key ids, generation, loading, signing, verification,
and private keys encrypted under a password-derived key (scrypt + AES-256-GCM).

No I/O except `load_private_key_file` / `write_private_key_file`, which touch only
the path they are given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.errors import KeyMaterialError
from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.ed25519 import Signer, verifies

# scrypt cost for people's e-signature keys: about 0.1 s and 32 MiB per derivation.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1


def key_id(public_raw: bytes) -> str:
    """Return the ledger key id: lowercase hex of the first 8 bytes of SHA-256(raw key)."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


def note_key_id(origin: str, public_raw: bytes) -> bytes:
    """Return the 4-byte C2SP signed-note key id for an Ed25519 key named `origin`."""
    return hashlib.sha256(origin.encode() + b"\n\x01" + public_raw).digest()[:4]


def public_raw(private: Ed25519PrivateKey) -> bytes:
    """Return the 32 raw bytes of the public half of `private`."""
    return private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def decode_public_key(text: str) -> bytes:
    """Decode a base64 raw Ed25519 public key.

    Raises:
        KeyMaterialError: `text` is not canonical padded base64 of 32 bytes.
    """
    try:
        raw = b64decode_canonical(text)
    except ValueError as exc:
        raise KeyMaterialError(
            "public key is not base64 (standard, padded, canonical)"
        ) from exc
    if len(raw) != 32:
        raise KeyMaterialError(f"public key has {len(raw)} bytes, expected 32")
    return raw


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key with its id.

    The public key, its base64 form and the key id are derived once, when the key is
    made: every append asks for the key id, and exporting the public key each time
    would cost more than hashing the event.
    """

    private: Ed25519PrivateKey
    _signer: Signer = field(init=False, repr=False, compare=False)
    _public_raw: bytes = field(init=False, repr=False, compare=False)
    _public_b64: str = field(init=False, repr=False, compare=False)
    _key_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = public_raw(self.private)
        # Frozen dataclass: the derived values are set once, here, and never change.
        object.__setattr__(self, "_signer", Signer(self.private))
        object.__setattr__(self, "_public_raw", raw)
        object.__setattr__(self, "_public_b64", base64.b64encode(raw).decode())
        object.__setattr__(self, "_key_id", key_id(raw))

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_raw(self) -> bytes:
        """The 32 raw public-key bytes."""
        return self._public_raw

    @property
    def public_b64(self) -> str:
        """The public key as standard padded base64."""
        return self._public_b64

    @property
    def key_id(self) -> str:
        """The ledger key id."""
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `message`."""
        return self._signer.sign(message)

    def private_pem(self) -> bytes:
        """Return the unencrypted PKCS#8 PEM (for the service key file only)."""
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def verify_signature(public: bytes, signature: bytes, message: bytes) -> bool:
    """Return whether `signature` is a valid Ed25519 signature of `message` by `public`."""
    return verifies(public, signature, message)


def load_private_key_file(path: Path) -> SigningKey:
    """Load an Ed25519 private key from a PEM file.

    Raises:
        KeyMaterialError: the file is missing, unreadable or not an Ed25519 key.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot read signing key file {path}: {exc.strerror}"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyMaterialError(f"{path} holds no unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyMaterialError(
            f"{path} holds a {type(key).__name__}, not an Ed25519 key"
        )
    return SigningKey(key)


def write_private_key_file(path: Path, key: SigningKey) -> None:
    """Write `key` as PEM to a new file readable by its owner only (mode 0600).

    Raises:
        KeyMaterialError: the file exists already or cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot create key file {path}: {exc.strerror}"
        ) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_pem())
    os.chmod(path, 0o600)


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password.encode("utf-8"))


def encrypt_private_key(
    key: SigningKey,
    password: str,
    *,
    n: int = SCRYPT_N,
    r: int = SCRYPT_R,
    p: int = SCRYPT_P,
) -> str:
    """Return `key` encrypted under a key derived from `password`, as a JSON string.

    The derived key (scrypt) encrypts the 32 raw private bytes with AES-256-GCM;
    the public key id is the associated data, so a blob cannot be moved to another
    key record.
    """
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    raw = key.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    sealed = AESGCM(_derive(password, salt, n, r, p)).encrypt(
        nonce, raw, key.key_id.encode()
    )
    b64 = base64.b64encode
    return json.dumps(
        {
            "v": 1,
            "kdf": "scrypt",
            "n": n,
            "r": r,
            "p": p,
            "salt": b64(salt).decode(),
            "nonce": b64(nonce).decode(),
            "key_id": key.key_id,
            "ciphertext": b64(sealed).decode(),
        },
        sort_keys=True,
    )


def decrypt_private_key(sealed: str, password: str) -> SigningKey:
    """Open a key sealed by `encrypt_private_key`.

    Raises:
        KeyMaterialError: the password is wrong or the sealed key is damaged.
    """
    try:
        box = json.loads(sealed)
        salt = base64.b64decode(box["salt"])
        nonce = base64.b64decode(box["nonce"])
        cipher = base64.b64decode(box["ciphertext"])
        n, r, p = int(box["n"]), int(box["r"]), int(box["p"])
        kid = str(box["key_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyMaterialError("sealed key is damaged") from exc
    try:
        raw = AESGCM(_derive(password, salt, n, r, p)).decrypt(
            nonce, cipher, kid.encode()
        )
    except InvalidTag as exc:
        raise KeyMaterialError("wrong password") from exc
    except ValueError as exc:  # scrypt cost or nonce length out of range
        raise KeyMaterialError("sealed key is damaged") from exc
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(raw))
    if key.key_id != kid:
        raise KeyMaterialError("sealed key does not match its key id")
    return key
