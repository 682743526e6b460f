"""A person's e-signature inside an event (docs/ledger-format.md section 5): its message and its check. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ledger.integrity.blobs import DIGEST_RE
from ledger.integrity.canonical import JSONValue, b64decode_canonical, canonical_bytes
from ledger.integrity.envelope import valid_time
from ledger.integrity.keys import KeyState, in_force_for
from ledger.integrity.signing import verify_signature

# Domain separation: an e-signature can never be replayed as an event or a checkpoint
# signature, whose messages start differently.
ESIG_PREFIX: Final = b"qms-ledger:esig:v1\n"
ESIG_MEMBERS: Final = frozenset(
    {
        "signer",
        "name",
        "meaning",
        "signed_at",
        "subject",
        "subject_sha256",
        "key",
        "sig",
    }
)


def esig_message(esig: Mapping[str, JSONValue]) -> bytes:
    """Return the bytes a person's e-signature covers: prefix + JCS(esig without sig)."""
    return ESIG_PREFIX + canonical_bytes({k: v for k, v in esig.items() if k != "sig"})


def esig_problem(
    esig: object,
    *,
    seq: int,
    actor: object,
    stream: object,
    keys: Mapping[str, KeyState],
    checked: tuple[bytes, bool] | None = None,
) -> str | None:
    """Return why `esig`, carried by event `seq` of `actor` in `stream`, fails, or None.

    The key must be an `esign` key of the signer in force for event `seq` in `keys`,
    and the signature must verify over `esig_message`. `checked` is (public key,
    whether the signature verifies with it) when that was found already: it stands
    for the last step when the key in force is that key.
    """
    if not isinstance(esig, dict) or set(esig) != ESIG_MEMBERS:
        return "esig must have exactly " + ", ".join(sorted(ESIG_MEMBERS))
    if not all(type(v) is str for v in esig.values()):
        return "esig members must be strings"
    if esig["signer"] != actor:
        return f"esig signer {esig['signer']} is not the event's actor {actor}"
    if esig["subject"] != stream:
        return f"esig subject {esig['subject']} is not the event's stream {stream}"
    if not valid_time(esig["signed_at"]):
        return "esig signed_at is not in the ledger time format"
    if not DIGEST_RE.fullmatch(esig["subject_sha256"]):
        return "esig subject_sha256 is not 64 lowercase hex digits"
    if not esig["name"].strip() or not esig["meaning"].strip():
        return "esig needs a printed name and a meaning"
    info = keys.get(esig["key"])
    if info is None or info.purpose != "esign":
        return f"esig key {esig['key']} is not a registered esign key"
    if info.holder != esig["signer"]:
        return f"esig key {esig['key']} belongs to {info.holder}, not {esig['signer']}"
    if not in_force_for(info, seq):
        if info.revoked_seq is not None:
            return f"esig key {esig['key']} was revoked at seq {info.revoked_seq}"
        return f"esig key {esig['key']} is not in force at seq {seq}"
    if checked is not None and checked[0] == info.public_key:
        if checked[1]:
            return None
        return f"e-signature of {esig['signer']} does not verify"
    try:
        sig = b64decode_canonical(esig["sig"], 64)
    except ValueError:
        return f"e-signature of {esig['signer']} does not verify"
    if not verify_signature(info.public_key, sig, esig_message(esig)):
        return f"e-signature of {esig['signer']} does not verify"
    return None
