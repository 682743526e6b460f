"""The e-signature message and check of ledger/integrity/esig.py."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

from ledger.integrity.esig import ESIG_PREFIX, esig_message, esig_problem
from ledger.integrity.keys import RegisteredKey
from ledger.integrity.signing import SigningKey

ALICE = SigningKey.generate()
KEY = RegisteredKey(
    key_id=ALICE.key_id,
    public_key=ALICE.public_raw,
    holder="u-alice",
    purpose="esign",
    registered_seq=2,
)


def _esig(**changes: str) -> dict[str, Any]:
    esig: dict[str, Any] = {
        "signer": "u-alice",
        "name": "Alice Example",
        "meaning": "approved",
        "signed_at": "2026-01-05T08:00:07.000007Z",
        "subject": "document/QP-07",
        "subject_sha256": "ab" * 32,
        "key": ALICE.key_id,
        **changes,
    }
    esig["sig"] = base64.b64encode(ALICE.sign(esig_message(esig))).decode()
    return esig


def _problem(esig: object, seq: int = 7, key: RegisteredKey = KEY) -> str | None:
    return esig_problem(
        esig, seq=seq, actor="u-alice", stream="document/QP-07", keys={key.key_id: key}
    )


def test_the_message_is_prefixed_for_domain_separation() -> None:
    assert ESIG_PREFIX == b"qms-ledger:esig:v1\n"


def test_a_good_esig_passes() -> None:
    assert _problem(_esig()) is None


def test_each_rule_names_its_reason() -> None:
    assert (
        _problem({**_esig(), "sig": "AAAA"}) == "e-signature of u-alice does not verify"
    )
    assert _problem({**_esig(), "name": "Mallory"}) == (
        "e-signature of u-alice does not verify"
    )
    assert _problem(_esig(signer="u-bob")) == (
        "esig signer u-bob is not the event's actor u-alice"
    )
    assert _problem(_esig(subject="document/QP-08")) == (
        "esig subject document/QP-08 is not the event's stream document/QP-07"
    )
    assert _problem(_esig(), key=replace(KEY, holder="u-bob")) == (
        f"esig key {ALICE.key_id} belongs to u-bob, not u-alice"
    )
    assert _problem(_esig(), key=replace(KEY, purpose="ledger")) == (
        f"esig key {ALICE.key_id} is not a registered esign key"
    )


def test_the_key_must_be_in_force_at_the_event() -> None:
    revoked = replace(KEY, revoked_seq=5)
    assert _problem(_esig(), seq=5, key=revoked) is None
    assert _problem(_esig(), seq=6, key=revoked) == (
        f"esig key {ALICE.key_id} was revoked at seq 5"
    )
    assert (
        _problem(_esig(), seq=2) == f"esig key {ALICE.key_id} is not in force at seq 2"
    )
