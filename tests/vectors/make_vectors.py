"""Write the golden vectors of ledger format v1 into this folder. Deterministic.

Run once, from the repository root: `python -m tests.vectors.make_vectors`. The
files it writes pin canonical bytes, event hashes, signatures, a sealed e-signature
key, checkpoint notes and Merkle proofs; tests/ledger/test_vectors.py recomputes
every one of them. A difference there is a format change: old ledgers would stop
verifying, so the fix is in the code, not in these files. The script refuses to
overwrite existing vectors unless given `--force` (for a new format version only).

Keys come from fixed seeds (SHA-256 of a fixed phrase), times are fixed, and
Ed25519 signatures are deterministic, so every run writes the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.integrity.canonical import MAX_SAFE_INTEGER, JSONValue, canonical_bytes
from ledger.integrity.chain import (
    GENESIS_PREV,
    body_bytes,
    event_hash,
    signature_message,
)
from ledger.integrity.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from ledger.integrity.esig import esig_message
from ledger.integrity.merkle import (
    Frontier,
    consistency_proof,
    inclusion_proof,
    root_from_leaves,
)
from ledger.integrity.signing import SigningKey, note_key_id

HERE = Path(__file__).resolve().parent
LEDGER_SEED = "qms-ledger test vector key"
ESIGN_SEED = "qms-ledger test vector esign key"
ESIGN_PASSWORD = "correct horse battery staple"
ORIGIN = "vectors.qms.example/ledger"
MERKLE_SIZES = range(1, 9)


def key_from_seed(seed: str) -> SigningKey:
    """Return the Ed25519 key whose private bytes are SHA-256(seed)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return SigningKey(Ed25519PrivateKey.from_private_bytes(digest))


def _time(minute: int, micro: int = 0) -> str:
    return f"2026-01-05T08:{minute:02d}:00.{micro:06d}Z"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _seal(body: dict[str, JSONValue], key: SigningKey) -> dict[str, Any]:
    unsigned = {**body, "key": key.key_id}
    digest = event_hash(unsigned)
    return {
        **unsigned,
        "hash": digest.hex(),
        "sig": _b64(key.sign(signature_message(digest))),
    }


def _event_bodies(ledger: SigningKey, esign: SigningKey) -> list[dict[str, JSONValue]]:
    """The data of a small ledger: genesis, an esign key, a draft, a sign-off, more."""
    content = "Quality manual, revision C\n质量手册\n".encode()
    esig: dict[str, JSONValue] = {
        "signer": "u-alice",
        "name": "Alice Example 爱丽丝",
        "meaning": "approved",
        "signed_at": _time(3, 900000),
        "subject": "document/QP-07",
        "subject_sha256": hashlib.sha256(content).hexdigest(),
        "key": esign.key_id,
    }
    esig["sig"] = _b64(esign.sign(esig_message(esig)))
    return [
        {
            "stream": "ledger/keys",
            "type": "ledger.initialized",
            "actor": "system",
            "data": {"format": 1, "origin": ORIGIN, "public_key": ledger.public_b64},
        },
        {
            "stream": "ledger/keys",
            "type": "ledger.key_registered",
            "actor": "u-admin",
            "data": {
                "key_id": esign.key_id,
                "public_key": esign.public_b64,
                "holder": "u-alice",
                "purpose": "esign",
            },
        },
        {
            "stream": "document/QP-07",
            "type": "document.drafted",
            "actor": "u-bob",
            "data": {
                "title": "质量手册 Quality Manual — ünïcode 😀",
                "controls": 'tab\there\nnewline "quoted" back\\slash '
                "\u0000\u001f\u007f",
                "limits": [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, -1],
                "flags": {"draft": True, "public": False, "superseded": None},
                "keys": {"\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\U0001f600": 5},
                "quantity": "98.50",
                "content": {
                    "blob": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "name": "QP-07 rev C.txt",
                    "media_type": "text/plain; charset=utf-8",
                },
            },
        },
        {
            "stream": "document/QP-07",
            "type": "document.approved",
            "actor": "u-alice",
            "data": {"revision": "C", "esig": esig},
        },
        {
            "stream": "finding/2026-0042",
            "type": "finding.raised",
            "actor": "u-carol",
            "data": {
                "classification": "minor",
                "criterion": "ISO 9001:2015 7.5.3",
                "due": "2026-02-05",
                "evidence": [],
            },
        },
    ]


def build_events() -> dict[str, Any]:
    """Return the event vectors: keys, then each envelope with its pinned parts."""
    ledger, esign = key_from_seed(LEDGER_SEED), key_from_seed(ESIGN_SEED)
    events: list[dict[str, Any]] = []
    versions: dict[str, int] = {}
    prev = GENESIS_PREV.hex()
    for seq, part in enumerate(_event_bodies(ledger, esign), 1):
        stream = str(part["stream"])
        versions[stream] = versions.get(stream, 0) + 1
        body: dict[str, JSONValue] = {
            "seq": seq,
            "stream": stream,
            "version": versions[stream],
            "type": part["type"],
            "schema": 1,
            "data": part["data"],
            "meta": {"command_id": f"cmd-{seq:04d}", "correlation": "vectors"},
            "actor": part["actor"],
            "occurred_at": _time(seq, 250000),
            "recorded_at": _time(seq, 750000 + seq),
            "prev": prev,
        }
        envelope = _seal(body, ledger)
        prev = envelope["hash"]
        events.append(
            {
                "envelope": envelope,
                "body_jcs": body_bytes(envelope).decode(),
                "hash": envelope["hash"],
                "sig": envelope["sig"],
                "line": canonical_bytes(envelope).decode(),
            }
        )
    approved = events[3]["envelope"]["data"]["esig"]
    return {
        "about": "ledger format v1 events signed by the key of seed `ledger_seed`",
        "ledger_seed": LEDGER_SEED,
        "ledger_public_key": ledger.public_b64,
        "ledger_key_id": ledger.key_id,
        "esign_seed": ESIGN_SEED,
        "esign_public_key": esign.public_b64,
        "esign_key_id": esign.key_id,
        "esig_message": esig_message(approved).decode(),
        "events": events,
    }


def build_sealed_key() -> dict[str, Any]:
    """Return the esign key sealed under a password with fixed salt and nonce.

    The box is built here from the primitives (scrypt, AES-256-GCM with the key id
    as associated data), so the test proves ledger.signing still opens it.
    """
    esign = key_from_seed(ESIGN_SEED)
    salt = hashlib.sha256(b"qms-ledger vector salt").digest()[:16]
    nonce = hashlib.sha256(b"qms-ledger vector nonce").digest()[:12]
    n, r, p = 2**10, 8, 1
    derived = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(
        ESIGN_PASSWORD.encode()
    )
    raw = esign.private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    sealed = json.dumps(
        {
            "v": 1,
            "kdf": "scrypt",
            "n": n,
            "r": r,
            "p": p,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "key_id": esign.key_id,
            "ciphertext": _b64(
                AESGCM(derived).encrypt(nonce, raw, esign.key_id.encode())
            ),
        },
        sort_keys=True,
    )
    return {
        "about": "the esign key of the event vectors, sealed as stored for its holder",
        "password": ESIGN_PASSWORD,
        "key_id": esign.key_id,
        "sealed": sealed,
    }


def _canonical_cases() -> list[tuple[str, JSONValue]]:
    return [
        ("empty-object", {}),
        ("empty-array", []),
        ("literals", [None, True, False]),
        ("integers", [0, -0, 1, -1, 10, 1000000, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]),
        (
            "rfc8785-3.2.3-key-sorting",
            {
                "\u20ac": "Euro Sign",
                "\r": "Carriage Return",
                "\ufb33": "Hebrew Letter Dalet With Dagesh",
                "1": "One",
                "\U0001f600": "Emoji: Grinning Face",
                "\u0080": "Control",
                "\u00f6": "Latin Small Letter O With Diaeresis",
            },
        ),
        ("rfc8785-3.2.2-string", {"string": '\u20ac$\u000f\nA\'B"\\\\"/'}),
        ("c0-controls", "".join(chr(c) for c in range(0x20))),
        ("del-c1-separators-bom", "\x7f\x80\x9f\u2028\u2029\ufeff"),
        ("non-bmp", {"\U0001f600": "\U0010ffff", "\U00010000": "\U0001d11e"}),
        ("cjk", {"名称": "质量手册", "单位": "总部"}),
        ("nested-key-order", {"b": {"d": [], "c": {}}, "a": [{"z": 1, "y": 2}], "": 0}),
        ("ascii-key-order", {"a": 1, "B": 2, "_": 3, "0": 4, "a0": 5, "aa": 6, "A": 7}),
        ("utf16-order", {"\ufb33": 1, "\U0001f600": 2, "\uffff": 3, "\ue000": 4}),
    ]


def build_canonical() -> dict[str, Any]:
    """Return JCS cases: the value, its canonical text and the SHA-256 of its bytes."""
    cases = []
    for name, value in _canonical_cases():
        out = canonical_bytes(value)
        cases.append(
            {
                "name": name,
                "value": value,
                "jcs": out.decode(),
                "sha256": hashlib.sha256(out).hexdigest(),
            }
        )
    return {
        "about": "RFC 8785 bytes (UTF-8, shown as text) of format v1 values",
        "cases": cases,
    }


def build_checkpoints(events: dict[str, Any]) -> dict[str, Any]:
    """Return signed checkpoints of every prefix of the event vectors' ledger."""
    ledger = key_from_seed(LEDGER_SEED)
    leaves = [bytes.fromhex(e["hash"]) for e in events["events"]]
    notes = []
    for size in range(len(leaves) + 1):
        root = root_from_leaves(leaves[:size])
        notes.append(
            {
                "size": size,
                "root": _b64(root),
                "note": sign_checkpoint(Checkpoint(ORIGIN, size, root), ledger),
            }
        )
    return {
        "about": "C2SP checkpoints of the event vectors' tree, each prefix size",
        "origin": ORIGIN,
        "note_key_id": note_key_id(ORIGIN, ledger.public_raw).hex(),
        "verifier_key": verifier_key(ORIGIN, ledger.public_raw),
        "checkpoints": notes,
    }


def build_merkle() -> dict[str, Any]:
    """Return RFC 9162 roots and every inclusion and consistency proof, sizes 1..8."""
    leaves = [
        hashlib.sha256(f"qms-ledger merkle vector {i}".encode()).digest()
        for i in range(max(MERKLE_SIZES))
    ]
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for leaf in leaves:
        nodes.update({(lv, ix): h for lv, ix, h in frontier.append(leaf)})

    def node(level: int, index: int) -> bytes:
        return nodes[(level, index)]

    def hexes(proof: Sequence[bytes]) -> list[str]:
        return [h.hex() for h in proof]

    trees = []
    for size in MERKLE_SIZES:
        trees.append(
            {
                "size": size,
                "root": root_from_leaves(leaves[:size]).hex(),
                "inclusion": [
                    {
                        "leaf_index": i,
                        "tree_size": size,
                        "hashes": hexes(inclusion_proof(i, size, node)),
                    }
                    for i in range(size)
                ],
                "consistency": [
                    {
                        "size1": m,
                        "size2": size,
                        "hashes": hexes(consistency_proof(m, size, node)),
                    }
                    for m in range(1, size + 1)
                ],
            }
        )
    return {
        "about": "leaf data (hex) and, per tree size, MTH and RFC 9162 proofs (hex)",
        "leaves": [leaf.hex() for leaf in leaves],
        "trees": trees,
    }


def build() -> dict[str, str]:
    """Return file name -> file text of every vector file."""
    events = build_events()
    documents = {
        "canonical.json": build_canonical(),
        "events.json": events,
        "sealed_key.json": build_sealed_key(),
        "checkpoints.json": build_checkpoints(events),
        "merkle.json": build_merkle(),
    }
    return {
        name: json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
        for name, doc in documents.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Write the vector files; refuse to replace existing ones without --force."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    files = build()
    existing = [n for n in files if (args.out / n).exists()]
    if existing and not args.force:
        sys.stderr.write(
            f"refusing to overwrite {', '.join(existing)}: "
            "a change is a format change\n"
        )
        return 1
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
