"""Plain functions that build valid test inputs, and a full re-check of a store's chain.

Every default is valid, so a test states only what it is about:
`new_event(stream="finding/2026-0042", type="finding.raised")`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ledger.integrity import merkle
from ledger.integrity.chain import GENESIS_PREV, event_hash, signature_message
from ledger.integrity.envelope import NewEvent
from ledger.integrity.signing import decode_public_key, verify_signature
from ledger.integrity.verify import VerifiedHead, verify_lines
from ledger.store import EventStore


def new_event(**overrides: Any) -> NewEvent:
    """Return a valid NewEvent; keyword arguments replace the defaults."""
    fields: dict[str, Any] = {
        "stream": "document/QP-07",
        "type": "document.drafted",
        "data": {"title": "x"},
        "actor": "u-alice",
    }
    fields.update(overrides)
    return NewEvent(**fields)


def chain_of(n: int, **overrides: Any) -> list[NewEvent]:
    """Return `n` valid events (default: drafts of document/QP-07 titled x1..xn)."""
    return [
        new_event(**{"data": {"title": f"x{i}"}, **overrides}) for i in range(1, n + 1)
    ]


def recheck(store: EventStore, trusted_key_id: str | None = None) -> VerifiedHead:
    """Re-verify everything the store holds, twice over, and return the verified head.

    Once with the project's verifier (ledger.verify), once by recomputing here: seq,
    prev links, each hash and signature against the key registry, per-stream versions
    and the Merkle root from all leaves, which must equal the store's root().
    """
    lines = list(store.read_lines())
    first = json.loads(lines[0])
    trusted = trusted_key_id or first["key"]
    verified = verify_lines(lines, trusted_key_id=trusted)

    keys = {first["key"]: decode_public_key(first["data"]["public_key"])}
    prev = GENESIS_PREV
    versions: dict[str, int] = {}
    leaves = []
    for seq, line in enumerate(lines, 1):
        env = json.loads(line)
        assert env["seq"] == seq
        assert env["prev"] == prev.hex()
        digest = event_hash(env)
        assert env["hash"] == digest.hex()
        sig = base64.b64decode(env["sig"])
        assert verify_signature(keys[env["key"]], sig, signature_message(digest))
        versions[env["stream"]] = versions.get(env["stream"], 0) + 1
        assert env["version"] == versions[env["stream"]]
        if env["type"] == "ledger.key_registered":
            keys[env["data"]["key_id"]] = decode_public_key(env["data"]["public_key"])
        prev = digest
        leaves.append(digest)
    assert store.head() == (len(lines), prev)
    assert store.root() == merkle.root_from_leaves(leaves) == verified.root
    for stream, version in versions.items():
        assert store.stream_version(stream) == version
    return verified
