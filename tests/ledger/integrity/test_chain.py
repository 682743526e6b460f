"""ledger.chain: event hashes, the chain link and the signature messages."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.integrity.canonical import JSONValue, canonical_bytes
from ledger.integrity.chain import (
    EVENT_SIG_PREFIX,
    GENESIS_PREV,
    body_bytes,
    event_hash,
    signature_message,
)
from ledger.integrity.esig import ESIG_PREFIX, esig_message
from ledger.integrity.signing import decode_public_key, key_id, verify_signature
from tests.support.strategies import STRATEGY_KEY, chains, envelopes, hashed_mutations

ROTATION_SEQ = 30  # seq 30 registers the second ledger key; seq 31 on use it


@pytest.fixture(scope="module")
def ledger_keys(spec_lines: list[bytes]) -> tuple[bytes, bytes]:
    """The spec vector's first ledger key (seq 1) and its successor (seq 30)."""
    first = json.loads(spec_lines[0])
    second = json.loads(spec_lines[ROTATION_SEQ - 1])
    assert first["type"] == "ledger.initialized"
    assert second["type"] == "ledger.key_registered"
    assert second["data"]["purpose"] == "ledger"
    return (
        decode_public_key(first["data"]["public_key"]),
        decode_public_key(second["data"]["public_key"]),
    )


def test_genesis_prev_is_32_zero_bytes() -> None:
    assert bytes(32) == GENESIS_PREV
    assert GENESIS_PREV.hex() == "0" * 64


def test_spec_vector_hash_is_sha256_of_the_body(spec_line: bytes) -> None:
    envelope = json.loads(spec_line)
    body = {k: v for k, v in envelope.items() if k not in ("hash", "sig")}
    assert body_bytes(envelope) == canonical_bytes(body)
    assert event_hash(envelope) == hashlib.sha256(canonical_bytes(body)).digest()
    assert event_hash(envelope).hex() == envelope["hash"]


def test_spec_vector_signature_verifies_with_the_key_in_force(
    spec_line: bytes, ledger_keys: tuple[bytes, bytes]
) -> None:
    envelope = json.loads(spec_line)
    public = ledger_keys[0] if envelope["seq"] <= ROTATION_SEQ else ledger_keys[1]
    assert envelope["key"] == key_id(public)
    message = EVENT_SIG_PREFIX + bytes.fromhex(envelope["hash"])
    assert signature_message(bytes.fromhex(envelope["hash"])) == message
    signature = base64.b64decode(envelope["sig"])
    assert verify_signature(public, signature, message)
    other = ledger_keys[1] if public == ledger_keys[0] else ledger_keys[0]
    assert not verify_signature(other, signature, message)


def test_spec_vector_prev_links_every_event(spec_lines: list[bytes]) -> None:
    envelopes_ = [json.loads(line) for line in spec_lines]
    assert envelopes_[0]["prev"] == GENESIS_PREV.hex()
    for before, after in itertools.pairwise(envelopes_):
        assert after["prev"] == before["hash"]
        assert after["seq"] == before["seq"] + 1


def test_spec_vector_esig_verifies_with_the_signers_esign_key(
    spec_lines: list[bytes],
) -> None:
    registered = json.loads(spec_lines[1])["data"]
    event = json.loads(spec_lines[34])
    esig = event["data"]["esig"]
    assert registered["purpose"] == "esign"
    assert esig["key"] == registered["key_id"]
    public = decode_public_key(registered["public_key"])
    message = esig_message(esig)
    assert message == ESIG_PREFIX + canonical_bytes(
        {k: v for k, v in esig.items() if k != "sig"}
    )
    assert verify_signature(public, base64.b64decode(esig["sig"]), message)


def test_body_ignores_hash_and_sig_only() -> None:
    body: dict[str, JSONValue] = {"seq": 1, "data": {"hash": "kept", "sig": "kept"}}
    sealed: dict[str, JSONValue] = {**body, "hash": "00" * 32, "sig": "x"}
    assert body_bytes(sealed) == canonical_bytes(body)
    assert event_hash(sealed) == event_hash(body)
    assert b'"hash":"kept"' in body_bytes(sealed)


def test_signature_messages_are_domain_separated() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert signature_message(digest) == b"qms-ledger:event:v1\n" + digest
    assert esig_message({"sig": "x"}) == b"qms-ledger:esig:v1\n{}"
    assert not signature_message(digest).startswith(ESIG_PREFIX)


def test_esig_message_excludes_only_sig() -> None:
    esig = {"signer": "u-alice", "sig": "AAAA", "key": "eddc68a0d8c08762"}
    assert esig_message(esig) == (
        b'qms-ledger:esig:v1\n{"key":"eddc68a0d8c08762","signer":"u-alice"}'
    )


@given(chains(max_size=8))
def test_generated_chain_links_and_verifies(events: list[dict[str, Any]]) -> None:
    prev = GENESIS_PREV.hex()
    for env in events:
        assert env["prev"] == prev
        digest = event_hash(env)
        assert digest.hex() == env["hash"]
        assert verify_signature(
            STRATEGY_KEY.public_raw,
            base64.b64decode(env["sig"]),
            signature_message(digest),
        )
        prev = env["hash"]


@given(st.data(), envelopes())
def test_changing_any_hashed_member_changes_the_hash(
    data: st.DataObject, envelope: dict[str, Any]
) -> None:
    member, changed = data.draw(hashed_mutations(envelope))
    digest = event_hash(changed)
    assert digest != bytes.fromhex(envelope["hash"]), member
    assert not verify_signature(
        STRATEGY_KEY.public_raw,
        base64.b64decode(envelope["sig"]),
        signature_message(digest),
    )


@given(envelopes(), envelopes())
def test_a_signature_cannot_be_moved_to_another_event(
    one: dict[str, Any], other: dict[str, Any]
) -> None:
    assume(one["hash"] != other["hash"])
    assert not verify_signature(
        STRATEGY_KEY.public_raw,
        base64.b64decode(one["sig"]),
        signature_message(bytes.fromhex(other["hash"])),
    )
