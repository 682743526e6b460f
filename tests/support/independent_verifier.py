"""A second verifier of ledger format v1, written from the specification alone.

It imports nothing from the project: SHA-256 from hashlib, Ed25519 from cryptography and
JCS from the rfc8785 package, as the specification's first paragraph allows. Tests run
exports through it beside `ledger.verify`, so the format, not one program, is what is
checked. It returns (ok, seq, reason) instead of raising.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _b64(text: str) -> bytes:
    """Decode standard padded base64, refusing any other spelling of the same bytes."""
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise ValueError("not canonical base64")
    return raw


def _ok_sig(public: bytes, sig_b64: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(_b64(sig_b64), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _may_hold(holder: object, purpose: object) -> bool:
    """A ledger key is the service's; an esign key a person's: a user id, which is what
    `actor` holds (1..200 characters, no control character) other than system/service."""
    if purpose == "ledger":
        return holder == "service"
    if not isinstance(holder, str) or holder in ("system", "service"):
        return False
    return 1 <= len(holder) <= 200 and all(
        ord(c) >= 0x20 and ord(c) != 0x7F for c in holder
    )


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def verify_folder(
    folder: Path, trusted_key_id: str
) -> tuple[bool, int, str]:  # a flat reading of the spec
    """Verify an export folder; return (ok, first bad seq or 0, reason)."""
    keys: dict[
        str, tuple[bytes, str, str, bool]
    ] = {}  # id -> (public, holder, purpose, revoked)
    versions: dict[str, int] = {}
    prev = "0" * 64
    last_time = ""
    leaves: list[bytes] = []
    origin = ""
    lines = (folder / "events.jsonl").read_bytes().split(b"\n")
    if lines[-1] != b"":
        return False, 0, "no final newline"
    for seq, line in enumerate(lines[:-1], start=1):
        env = json.loads(line)
        if env.get("seq") != seq:
            return False, seq, "seq"
        if env["version"] != versions.get(env["stream"], 0) + 1:
            return False, seq, "version"
        if env["recorded_at"] < last_time:
            return False, seq, "recorded_at"
        if env["prev"] != prev:
            return False, seq, "prev"
        body = {k: v for k, v in env.items() if k not in ("hash", "sig")}
        digest = hashlib.sha256(rfc8785.dumps(body)).digest()
        if digest.hex() != env["hash"]:
            return False, seq, "hash"
        if seq == 1:
            try:
                public = _b64(env["data"]["public_key"])
            except ValueError:
                return False, 1, "public key is not canonical base64"
            kid = hashlib.sha256(public).digest()[:8].hex()
            if kid != trusted_key_id or env["key"] != kid:
                return False, 1, "untrusted genesis key"
            keys[kid] = (public, "service", "ledger", False)
            origin = env["data"]["origin"]
        key = keys.get(env["key"])
        if key is None or key[2] != "ledger" or key[3]:
            return False, seq, "key not in force"
        if not _ok_sig(key[0], env["sig"], b"qms-ledger:event:v1\n" + digest):
            return False, seq, "sig"
        esig = env["data"].get("esig")
        if esig is not None:
            ekey = keys.get(esig["key"])
            if (
                ekey is None
                or ekey[2] != "esign"
                or ekey[1] != esig["signer"]
                or ekey[3]
            ):
                return False, seq, "esig key"
            if esig["signer"] != env["actor"] or esig["subject"] != env["stream"]:
                return False, seq, "esig binding"
            unsigned = {k: v for k, v in esig.items() if k != "sig"}
            if not _ok_sig(
                ekey[0], esig["sig"], b"qms-ledger:esig:v1\n" + rfc8785.dumps(unsigned)
            ):
                return False, seq, "esig"
        if env["type"] == "ledger.key_registered":
            d = env["data"]
            try:
                pub = _b64(d["public_key"])
            except ValueError:
                return False, seq, "public key is not canonical base64"
            if (
                hashlib.sha256(pub).digest()[:8].hex() != d["key_id"]
                or d["key_id"] in keys
            ):
                return False, seq, "key registration"
            if not _may_hold(d["holder"], d["purpose"]):
                return False, seq, "key holder"
            keys[d["key_id"]] = (pub, d["holder"], d["purpose"], False)
        elif env["type"] == "ledger.key_revoked":
            old = keys.get(env["data"]["key_id"])
            if old is None:
                return False, seq, "revocation"
            keys[env["data"]["key_id"]] = (old[0], old[1], old[2], True)
        versions[env["stream"]] = env["version"]
        prev = env["hash"]
        last_time = env["recorded_at"]
        leaves.append(digest)
    text = (folder / "checkpoint").read_text(encoding="utf-8")
    body, _, sigs = text.partition("\n\n")
    name, size, root = body.split("\n")[:3]
    if name != origin or int(size) != len(leaves):
        return False, 0, "checkpoint origin or size"
    try:
        stated_root = _b64(root)
    except ValueError:
        return False, 0, "checkpoint root is not canonical base64"
    if stated_root != _mth(leaves):
        return False, 0, "checkpoint root"
    for sig_line in sigs.strip("\n").split("\n"):
        _, key_name, b64 = sig_line.split(" ")
        try:
            blob = _b64(b64)
        except ValueError:
            return False, 0, "checkpoint signature is not canonical base64"
        for public, _holder, purpose, revoked in keys.values():
            note_id = hashlib.sha256(key_name.encode() + b"\n\x01" + public).digest()[
                :4
            ]
            if purpose == "ledger" and not revoked and note_id == blob[:4]:
                try:
                    Ed25519PublicKey.from_public_bytes(public).verify(
                        blob[4:], (body + "\n").encode()
                    )
                except InvalidSignature:
                    return False, 0, "checkpoint signature"
                return True, 0, ""
    return False, 0, "checkpoint signed by no ledger key"
