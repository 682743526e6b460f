"""What the chain walk keeps between events: the key registry, blob references, disposals.

Checks (8) and (11) of the walk: the key that signs an event, and the `ledger.*`
events that change what later events are checked against. The registry rules are
those of `ledger.integrity.keys`; the head of a verified chain is `VerifiedHead`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import VerificationError
from ledger.integrity.blobs import blob_ref_pairs, is_digest
from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.checkpoint import valid_origin
from ledger.integrity.keys import (
    RegisteredKey,
    check_registration,
    check_revocation,
    genesis_key,
    in_force_for,
)

KeyInfo = RegisteredKey
"""A key as the chain registered it (the name the verifier has always exported)."""

LEDGER_TYPES = {
    "ledger.initialized": "ledger/keys",
    "ledger.key_registered": "ledger/keys",
    "ledger.key_revoked": "ledger/keys",
    "ledger.blob_disposed": "ledger/blobs",
}
"""The `ledger.*` event types and the one stream each lives in."""


BlobRef = tuple[int, int] | dict[int, int]
"""A referenced blob's sizes: (size, first seq) while every reference states the same
size, else {size stated: first seq}. A large ledger references hundreds of thousands of
blobs; the pair takes about a fifth of the memory of a one-entry dict."""


def stated_sizes(ref: BlobRef) -> Mapping[int, int]:
    """Return {size stated: the first seq that states it} of a `BlobRef`."""
    if type(ref) is tuple:
        return {ref[0]: ref[1]}
    return ref  # type: ignore[return-value]  # the dict form


@dataclass(frozen=True, slots=True)
class VerifiedHead:
    """What a verified chain proves: its size, last hash, root and keys."""

    size: int
    hash: bytes
    root: bytes
    origin: str
    genesis_key: str
    keys: Mapping[str, RegisteredKey]
    roots: Mapping[int, bytes]
    esignatures: int
    blob_refs: Mapping[str, BlobRef]  # digest -> the sizes stated, see BlobRef
    disposed: frozenset[str]
    versions: Mapping[str, int]  # stream -> last version

    def ledger_keys_after(self, seq: int) -> list[bytes]:
        """Return the public `ledger` keys in force after event `seq`."""
        return [
            k.public_key
            for k in self.keys.values()
            if k.purpose == "ledger" and in_force_for(k, seq + 1)
        ]


@dataclass(slots=True)
class LedgerState:
    """The registry, the blob references and the disposals of the events seen so far."""

    origin: str = ""
    genesis_key: str = ""
    keys: dict[str, RegisteredKey] = field(default_factory=dict)
    blob_refs: dict[str, BlobRef] = field(default_factory=dict)
    disposed: set[str] = field(default_factory=set)

    def genesis(self, env: Mapping[str, Any], trusted_key: str | None) -> bytes:
        """Check event 1 and register its key; return that key.

        Raises:
            VerificationError: event 1 is not a valid `ledger.initialized`, or its key
                is not the trusted one.
        """

        def fail(reason: str) -> VerificationError:
            return VerificationError(1, reason)

        data = env["data"]
        if env["type"] != "ledger.initialized" or env["stream"] != "ledger/keys":
            raise fail("event 1 is not ledger.initialized in stream ledger/keys")
        if not isinstance(data, dict) or set(data) != {
            "format",
            "origin",
            "public_key",
        }:
            raise fail("ledger.initialized data must be {format, origin, public_key}")
        if data["format"] != 1 or type(data["format"]) is not int:
            raise fail(f"ledger format {data['format']!r} is not 1")
        origin = data["origin"]
        if type(origin) is not str or not valid_origin(origin):
            raise fail("origin must be printable ASCII without spaces or '+'")
        try:
            public = b64decode_canonical(data["public_key"], 32)
        except ValueError:
            raise fail(
                "public_key is not base64 of 32 bytes (standard, padded, canonical)"
            ) from None
        key = genesis_key(public)
        if env["key"] != key.key_id:
            raise fail(
                f"event 1 is signed with key {env['key']}, not its own key {key.key_id}"
            )
        if trusted_key is not None and key.key_id != trusted_key:
            raise fail(
                f"genesis key {key.key_id} is not the trusted key {trusted_key} "
                "(the ledger was re-signed or is another ledger)"
            )
        self.origin = origin
        self.genesis_key = key.key_id
        self.keys[key.key_id] = key
        return public

    def signing_key(self, seq: int, env: Mapping[str, Any]) -> bytes:
        """Return the public key that signs event `seq` (> 1): check (8).

        Raises:
            VerificationError: the key is not a registered ledger key in force.
        """
        kid = env["key"]
        if env["type"] == "ledger.initialized":
            raise VerificationError(seq, "ledger.initialized appears after event 1")
        info = self.keys.get(kid)
        if info is None:
            raise VerificationError(seq, f"key {kid} is not registered")
        if info.purpose != "ledger":
            raise VerificationError(
                seq, f"key {kid} is an {info.purpose} key, not a ledger key"
            )
        if not in_force_for(info, seq):
            raise VerificationError(
                seq, f"key {kid} was revoked at seq {info.revoked_seq}"
            )
        return info.public_key

    def apply(self, seq: int, etype: str, stream: str, data: Mapping[str, Any]) -> None:
        """Apply a key or disposal event, after checking its stream: check (11).

        Raises:
            VerificationError: the event is in the wrong stream, is not a ledger type
                in a `ledger/` stream, or breaks a registry or disposal rule.
        """
        if etype not in LEDGER_TYPES:
            if stream.startswith("ledger/"):
                raise VerificationError(seq, f"type {etype} is not a ledger event type")
            return
        if stream != LEDGER_TYPES[etype]:
            raise VerificationError(
                seq, f"{etype} must be in stream {LEDGER_TYPES[etype]}"
            )
        if seq == 1:
            return
        if etype == "ledger.key_registered":
            key, problems = check_registration(data, seq, self.keys)
        elif etype == "ledger.key_revoked":
            key, problems = check_revocation(data, seq, self.keys)
        else:
            self._dispose(seq, data)
            return
        if key is None:
            raise VerificationError(seq, problems[0][1])
        self.keys[key.key_id] = key

    def _dispose(self, seq: int, data: Mapping[str, Any]) -> None:
        def fail(reason: str) -> VerificationError:
            return VerificationError(seq, reason)

        if set(data) != {"blob", "reason"}:
            raise fail("blob_disposed data must be {blob, reason}")
        if type(data["blob"]) is not str or not is_digest(data["blob"]):
            raise fail("blob_disposed names no SHA-256 digest")
        if type(data["reason"]) is not str or not str(data["reason"]).strip():
            raise fail("a blob disposal needs a reason")
        self.disposed.add(data["blob"])

    def note_blob_refs(self, seq: int, data: Mapping[str, Any]) -> None:
        """Record the blob references in event `seq`'s data, after checking each.

        Raises:
            VerificationError: a reference names no digest or no byte count.
        """
        self.note_refs(seq, blob_ref_pairs(data))

    def note_refs(self, seq: int, refs: Iterable[tuple[object, object]]) -> None:
        """Record event `seq`'s blob references, (blob, size) in document order,
        after checking each.

        Raises:
            VerificationError: a reference names no digest or no byte count.
        """
        for blob, size in refs:
            if not isinstance(blob, str) or not is_digest(blob):
                raise VerificationError(
                    seq, f"blob reference {blob!r} is not a SHA-256 digest"
                )
            if type(size) is not int or size < 0:
                raise VerificationError(
                    seq, f"blob reference {blob} has size {size!r}, not a byte count"
                )
            known = self.blob_refs.get(blob)
            if known is None:
                self.blob_refs[blob] = (size, seq)
            elif type(known) is tuple:
                if known[0] != size:
                    self.blob_refs[blob] = {known[0]: known[1], size: seq}
            else:
                known.setdefault(size, seq)  # type: ignore[union-attr]  # the dict form
