"""Event hashing and the signature message of ledger format v1. No I/O.

The byte layout is specified in docs/ledger-format.md section 2; change it only
with a new format version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ledger.integrity.canonical import JSONValue, canonical_bytes

__all__ = [
    "EVENT_SIG_PREFIX",
    "GENESIS_PREV",
    "body_bytes",
    "body_hash",
    "event_hash",
    "signature_message",
]

GENESIS_PREV = bytes(32)
# Domain separation: an event signature can never be replayed as an e-signature
# or a checkpoint signature, whose messages start differently.
EVENT_SIG_PREFIX = b"qms-ledger:event:v1\n"


def body_bytes(envelope: Mapping[str, JSONValue]) -> bytes:
    """Return JCS bytes of the envelope without `hash` and `sig`."""
    return canonical_bytes(
        {k: v for k, v in envelope.items() if k != "hash" and k != "sig"}
    )


def body_hash(body: bytes) -> bytes:
    """Return the event hash of an envelope whose body (`body_bytes`) is `body`."""
    return hashlib.sha256(body).digest()


def event_hash(envelope: Mapping[str, JSONValue]) -> bytes:
    """Return SHA-256 over the JCS form of the envelope without `hash` and `sig`."""
    return body_hash(body_bytes(envelope))


def signature_message(hash_: bytes) -> bytes:
    """Return the exact bytes an event's Ed25519 signature covers."""
    return EVENT_SIG_PREFIX + hash_
