"""Ed25519 signing and verification: libsodium where it is installed, OpenSSL's answer.

A certifier's verification is mostly Ed25519 (one event signature per event, one more
per e-signature), and a batch append is mostly signing. libsodium (through PyNaCl)
does both about twice as fast as OpenSSL (through `cryptography`) on the machines we
measured (docs/performance.md), so both go through it when it can be imported. The
results stay OpenSSL's, to the byte:

- Signing: Ed25519 signatures are deterministic (RFC 8032 section 5.1.6), so both
  libraries give the same 64 bytes for the same key and message.
- Verification: libsodium is the stricter of the two (it also refuses small-order and
  non-canonical points), so a signature it accepts OpenSSL accepts; when libsodium
  refuses, OpenSSL decides. A forged signature costs both; a valid one, libsodium only.

Without PyNaCl everything runs on OpenSSL alone, with the same results: the offline
verifier needs only `cryptography`.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

try:
    from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
    from nacl.exceptions import BadSignatureError
except ImportError:  # pragma: no cover - the optional fast path is missing
    _sodium = False
else:
    _sodium = True
SODIUM: Final = _sodium
"""Whether libsodium does the work (PyNaCl is installed)."""

_CACHED_KEYS: Final = 4096
_openssl_keys: dict[bytes, Ed25519PublicKey] = {}


def _openssl_verifies(public: bytes, signature: bytes, message: bytes) -> bool:
    key = _openssl_keys.get(public)
    if key is None:
        try:
            key = Ed25519PublicKey.from_public_bytes(public)
        except ValueError:
            return False
        if len(_openssl_keys) < _CACHED_KEYS:
            _openssl_keys[public] = key
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def verifies(public: bytes, signature: bytes, message: bytes) -> bool:
    """Return whether `signature` is OpenSSL's valid Ed25519 signature of `message` by
    the raw public key `public` (False for keys or signatures of the wrong length)."""
    if SODIUM and len(public) == 32 and len(signature) == 64:
        try:
            crypto_sign_open(signature + message, public)
        except (BadSignatureError, ValueError):
            pass
        else:
            return True
    return _openssl_verifies(public, signature, message)


class Signer:
    """Signs with one Ed25519 private key: libsodium when installed, else OpenSSL."""

    __slots__ = ("_private", "_sodium_secret")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self._sodium_secret: bytes | None = None
        if SODIUM:
            seed = private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            self._sodium_secret = crypto_sign_seed_keypair(seed)[1]

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of `message`."""
        if self._sodium_secret is not None:
            return bytes(crypto_sign(message, self._sodium_secret)[:64])
        return self._private.sign(message)
