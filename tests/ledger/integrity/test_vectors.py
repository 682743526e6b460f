"""Golden vectors of ledger format v1 (tests/vectors/*.json), recomputed from scratch.

Each file pins bytes that old ledgers depend on: canonical JSON, event hashes and
signatures, sealed keys, checkpoint notes, Merkle roots and proofs. A failure here is
a FORMAT CHANGE: ledgers written before it would stop verifying. Fix the code; never
regenerate the vectors to make this pass (a new format version gets new files).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.chain import (
    GENESIS_PREV,
    body_bytes,
    event_hash,
    signature_message,
)
from ledger.integrity.checkpoint import (
    Checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)
from ledger.integrity.envelope import envelope_problem
from ledger.integrity.esig import esig_message
from ledger.integrity.merkle import (
    Frontier,
    consistency_proof,
    inclusion_proof,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from ledger.integrity.signing import (
    SigningKey,
    decode_public_key,
    decrypt_private_key,
    key_id,
    note_key_id,
    verify_signature,
)
from tests.vectors import make_vectors

VECTORS = Path(__file__).resolve().parents[3] / "tests" / "vectors"
CHANGED = "FORMAT CHANGE: "


def _load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def _key(seed: str) -> SigningKey:
    return SigningKey(
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())
    )


EVENTS = _load("events.json")
CANONICAL = _load("canonical.json")
CHECKPOINTS = _load("checkpoints.json")
MERKLE = _load("merkle.json")
SEALED = _load("sealed_key.json")


def _ids(items: list[dict[str, Any]], field: str) -> list[str]:
    return [str(item[field]) for item in items]


# --- canonical JSON --------------------------------------------------------------


@pytest.mark.parametrize(
    "case", CANONICAL["cases"], ids=_ids(CANONICAL["cases"], "name")
)
def test_canonical_bytes_are_pinned(case: dict[str, Any]) -> None:
    out = canonical_bytes(case["value"])
    assert out.decode("utf-8") == case["jcs"], CHANGED + f"JCS of {case['name']}"
    assert hashlib.sha256(out).hexdigest() == case["sha256"], CHANGED + case["name"]


# --- events ----------------------------------------------------------------------


def test_vector_keys_come_from_their_seeds() -> None:
    ledger = _key(EVENTS["ledger_seed"])
    esign = _key(EVENTS["esign_seed"])
    assert EVENTS["ledger_seed"] == "qms-ledger test vector key"
    assert ledger.public_b64 == EVENTS["ledger_public_key"]
    assert ledger.key_id == EVENTS["ledger_key_id"]
    assert (
        key_id(decode_public_key(EVENTS["ledger_public_key"]))
        == EVENTS["ledger_key_id"]
    )
    assert esign.public_b64 == EVENTS["esign_public_key"]
    assert esign.key_id == EVENTS["esign_key_id"]


@pytest.mark.parametrize(
    "vector",
    EVENTS["events"],
    ids=[
        f"seq{e['envelope']['seq']}-{e['envelope']['type']}" for e in EVENTS["events"]
    ],
)
def test_event_bytes_hash_and_signature_are_pinned(vector: dict[str, Any]) -> None:
    envelope = vector["envelope"]
    assert envelope_problem(envelope) is None
    assert body_bytes(envelope).decode() == vector["body_jcs"], CHANGED + "event body"
    assert canonical_bytes(envelope).decode() == vector["line"], CHANGED + "export line"
    assert json.loads(vector["line"]) == envelope
    digest = event_hash(envelope)
    assert digest == hashlib.sha256(vector["body_jcs"].encode()).digest()
    assert digest.hex() == vector["hash"] == envelope["hash"], CHANGED + "event hash"
    message = signature_message(digest)
    assert message == b"qms-ledger:event:v1\n" + digest, CHANGED + "signature message"
    # Ed25519 is deterministic: the same key and message give the same signature.
    signature = _key(EVENTS["ledger_seed"]).sign(message)
    assert base64.b64encode(signature).decode() == vector["sig"], CHANGED + "event sig"
    public = decode_public_key(EVENTS["ledger_public_key"])
    assert verify_signature(public, base64.b64decode(vector["sig"]), message)


def test_events_form_a_chain() -> None:
    prev = GENESIS_PREV.hex()
    for seq, vector in enumerate(EVENTS["events"], 1):
        envelope = vector["envelope"]
        assert envelope["seq"] == seq
        assert envelope["prev"] == prev
        assert envelope["key"] == EVENTS["ledger_key_id"]
        prev = envelope["hash"]


def test_esignature_is_pinned() -> None:
    approved = next(
        v["envelope"]
        for v in EVENTS["events"]
        if v["envelope"]["type"] == "document.approved"
    )
    esig = approved["data"]["esig"]
    message = esig_message(esig)
    assert message.decode() == EVENTS["esig_message"], CHANGED + "e-signature message"
    signature = _key(EVENTS["esign_seed"]).sign(message)
    assert base64.b64encode(signature).decode() == esig["sig"], CHANGED + "e-signature"
    public = decode_public_key(EVENTS["esign_public_key"])
    assert verify_signature(public, signature, message)
    assert esig["key"] == EVENTS["esign_key_id"]


def test_sealed_key_still_opens() -> None:
    """Keys sealed under a password and stored before must keep opening."""
    key = decrypt_private_key(SEALED["sealed"], SEALED["password"])
    assert key.key_id == SEALED["key_id"] == EVENTS["esign_key_id"]
    assert key.public_b64 == EVENTS["esign_public_key"]


# --- checkpoints -----------------------------------------------------------------


def test_verifier_key_is_pinned() -> None:
    public = decode_public_key(EVENTS["ledger_public_key"])
    origin = CHECKPOINTS["origin"]
    assert verifier_key(origin, public) == CHECKPOINTS["verifier_key"], CHANGED + "vkey"
    assert note_key_id(origin, public).hex() == CHECKPOINTS["note_key_id"]
    assert parse_verifier_key(CHECKPOINTS["verifier_key"]) == (
        origin,
        bytes.fromhex(CHECKPOINTS["note_key_id"]),
        public,
    )


@pytest.mark.parametrize(
    "vector", CHECKPOINTS["checkpoints"], ids=_ids(CHECKPOINTS["checkpoints"], "size")
)
def test_checkpoint_notes_are_pinned(vector: dict[str, Any]) -> None:
    origin = CHECKPOINTS["origin"]
    leaves = [bytes.fromhex(e["hash"]) for e in EVENTS["events"]]
    root = root_from_leaves(leaves[: vector["size"]])
    assert base64.b64encode(root).decode() == vector["root"], CHANGED + "tree head"
    note = sign_checkpoint(
        Checkpoint(origin, vector["size"], root), _key(EVENTS["ledger_seed"])
    )
    assert note == vector["note"], CHANGED + "checkpoint note"
    public = decode_public_key(EVENTS["ledger_public_key"])
    assert verify_checkpoint(vector["note"], origin, [public]) == Checkpoint(
        origin, vector["size"], root
    )


# --- Merkle proofs ---------------------------------------------------------------


@pytest.fixture(scope="module")
def merkle_nodes() -> dict[tuple[int, int], bytes]:
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for leaf in MERKLE["leaves"]:
        nodes.update(
            {(lv, ix): h for lv, ix, h in frontier.append(bytes.fromhex(leaf))}
        )
    return nodes


def test_merkle_leaves_are_the_stated_data() -> None:
    assert MERKLE["leaves"] == [
        hashlib.sha256(f"qms-ledger merkle vector {i}".encode()).hexdigest()
        for i in range(8)
    ]


@pytest.mark.parametrize("tree", MERKLE["trees"], ids=_ids(MERKLE["trees"], "size"))
def test_merkle_roots_and_proofs_are_pinned(
    tree: dict[str, Any], merkle_nodes: dict[tuple[int, int], bytes]
) -> None:
    size = tree["size"]
    leaves = [bytes.fromhex(x) for x in MERKLE["leaves"]]
    root = root_from_leaves(leaves[:size])
    assert root.hex() == tree["root"], CHANGED + f"root of size {size}"

    def node(level: int, index: int) -> bytes:
        return merkle_nodes[(level, index)]

    assert [p["leaf_index"] for p in tree["inclusion"]] == list(range(size))
    for proof in tree["inclusion"]:
        index = proof["leaf_index"]
        assert proof["tree_size"] == size
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        assert inclusion_proof(index, size, node) == hashes, CHANGED + "inclusion proof"
        assert verify_inclusion(leaves[index], index, size, hashes, root)
    assert [p["size1"] for p in tree["consistency"]] == list(range(1, size + 1))
    for proof in tree["consistency"]:
        size1 = proof["size1"]
        assert proof["size2"] == size
        hashes = [bytes.fromhex(h) for h in proof["hashes"]]
        assert consistency_proof(size1, size, node) == hashes, CHANGED + "consistency"
        assert verify_consistency(
            size1, size, hashes, root_from_leaves(leaves[:size1]), root
        )


# --- the generator ---------------------------------------------------------------


def test_generator_reproduces_the_pinned_files() -> None:
    """The files are the generator's output, byte for byte (nobody edited them)."""
    for name, text in make_vectors.build().items():
        assert (VECTORS / name).read_text(encoding="utf-8") == text, CHANGED + name


def test_generator_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "events.json").write_text("kept")
    assert make_vectors.main(["--out", str(tmp_path)]) == 1
    assert (tmp_path / "events.json").read_text() == "kept"
    assert make_vectors.main(["--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "events.json").read_text() == (
        VECTORS / "events.json"
    ).read_text()
