"""The key-registry rules of ledger/integrity/keys.py, alone and through both verifiers."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.errors import VerificationError
from ledger.integrity.keys import (
    RegisteredKey,
    check_registration,
    check_revocation,
    genesis_key,
    holder_problem,
    in_force_for,
    is_user_id,
)
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import main, verify_export
from tests.support.chainbuilder import ChainBuilder, trusted_key
from tests.support.independent_verifier import verify_folder

PERSON = "an esign key must be held by a person (a user id)"


def _registration(
    key: SigningKey, holder: object, purpose: object
) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "public_key": key.public_b64,
        "holder": holder,
        "purpose": purpose,
    }


# --- the holder rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "expected"),
    [
        ("u-alice", True),
        ("Zhang Wei 张伟", True),
        ("x" * 200, True),
        ("x" * 201, False),
        ("", False),
        ("system", False),
        ("service", False),
        ("u-al\nice", False),
        ("u-al\x07ice", False),
        ("u-al\x7fice", False),
        (None, False),
        (7, False),
    ],
)
def test_a_user_id_is_what_actor_may_hold_but_system_or_service(
    holder: object, expected: bool
) -> None:
    assert is_user_id(holder) is expected


def test_a_ledger_key_is_held_by_the_service_an_esign_key_by_a_person() -> None:
    assert holder_problem("service", "ledger") is None
    assert holder_problem("u-alice", "ledger") == (
        "a ledger key must be held by the service"
    )
    assert holder_problem("u-alice", "esign") is None
    assert holder_problem("service", "esign") == PERSON
    assert holder_problem("u-\nalice", "esign") == PERSON
    assert holder_problem("\n", "audit") == "key holder must be 'service' or a user id"


# --- registration and revocation ------------------------------------------------------


def test_registration_returns_the_key_registered_at_its_seq() -> None:
    genesis = genesis_key(SigningKey.generate().public_raw)
    alice = SigningKey.generate()
    key, problems = check_registration(
        _registration(alice, "u-alice", "esign"), 2, {genesis.key_id: genesis}
    )
    assert problems == []
    assert key == RegisteredKey(
        key_id=alice.key_id,
        public_key=alice.public_raw,
        holder="u-alice",
        purpose="esign",
        registered_seq=2,
    )


def test_registration_problems_name_their_fields_in_order() -> None:
    genesis = genesis_key(SigningKey.generate().public_raw)
    alice = SigningKey.generate()
    data = _registration(alice, "service", "audit") | {"key_id": "0" * 16, "x": 1}
    key, problems = check_registration(data, 2, {genesis.key_id: genesis})
    assert key is None
    assert [field for field, _ in problems] == ["data", "key_id", "purpose"]
    registry = {genesis.key_id: genesis}
    _, twice = check_registration(
        _registration(SigningKey.generate(), "service", "ledger")
        | {"public_key": "not base64"},
        2,
        registry,
    )
    assert [field for field, _ in twice] == ["public_key"]
    _, again = check_registration(
        {
            "key_id": genesis.key_id,
            "public_key": SigningKey.generate().public_b64,
            "holder": "service",
            "purpose": "ledger",
        },
        2,
        registry,
    )
    assert again[0][0] == "key_id"


def test_a_key_is_registered_once_and_revoked_once_with_a_reason() -> None:
    genesis = genesis_key(SigningKey.generate().public_raw)
    second = SigningKey.generate()
    registry: dict[str, RegisteredKey] = {genesis.key_id: genesis}
    key, _ = check_registration(_registration(second, "service", "ledger"), 2, registry)
    assert key is not None
    registry[key.key_id] = key
    _, problems = check_registration(
        _registration(second, "service", "ledger"), 3, registry
    )
    assert problems == [("key_id", f"key {second.key_id} is registered already")]
    _, problems = check_revocation(
        {"key_id": genesis.key_id, "reason": " "}, 3, registry
    )
    assert problems == [("reason", "a key revocation needs a reason")]
    revoked, problems = check_revocation(
        {"key_id": genesis.key_id, "reason": "rotation"}, 3, registry
    )
    assert (problems, revoked) == ([], replace(genesis, revoked_seq=3))
    assert revoked is not None
    registry[genesis.key_id] = revoked
    _, problems = check_revocation(
        {"key_id": genesis.key_id, "reason": "again"}, 4, registry
    )
    assert problems == [
        ("key_id", f"key {genesis.key_id} was revoked at seq 3 already")
    ]
    _, problems = check_revocation(
        {"key_id": second.key_id, "reason": "lost"}, 4, registry
    )
    assert problems == [
        ("key_id", "revoking the last ledger key would leave none in force")
    ]
    _, problems = check_revocation({"key_id": "00112233aabbccdd"}, 4, registry)
    assert [field for field, _ in problems] == ["data", "key_id", "reason"]


def test_a_key_is_in_force_from_the_event_after_its_registration_to_its_revocation() -> (
    None
):
    key = RegisteredKey(
        key_id="0" * 16,
        public_key=bytes(32),
        holder="service",
        purpose="ledger",
        registered_seq=3,
        revoked_seq=7,
    )
    assert [seq for seq in range(1, 10) if in_force_for(key, seq)] == [4, 5, 6, 7]
    assert [seq for seq in range(1, 10) if key.in_force_for(seq)] == [4, 5, 6, 7]


# --- the tamper case: an esign key held by something that is not a user id ------------


@pytest.mark.parametrize(
    "holder",
    ["u-al\nice", "u-al\x07ice", "u-al\x7fice", "u-" + "a" * 199],
    ids=["newline", "bell", "delete", "201-characters"],
)
def test_an_esign_key_held_by_no_user_id_fails_in_both_verifiers(
    tmp_path: Path, holder: str
) -> None:
    b = ChainBuilder()
    b.register(SigningKey.generate(), holder=holder, purpose="esign")  # 2
    b.add()  # 3
    folder = b.write(tmp_path / "e")
    with pytest.raises(VerificationError) as info:
        verify_export(folder, trusted_key_id=trusted_key(b), workers=1)
    assert (info.value.seq, info.value.reason) == (2, PERSON)
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--export", str(folder), "--trusted-key", trusted_key(b)])
    assert (code, out.getvalue()) == (1, f"FAIL seq=2 {PERSON}\n")
    assert verify_folder(folder, trusted_key(b)) == (False, 2, "key holder")


def test_an_esign_key_held_by_a_user_id_of_200_characters_verifies(
    tmp_path: Path,
) -> None:
    b = ChainBuilder()
    b.register(SigningKey.generate(), holder="u-" + "a" * 198, purpose="esign")
    b.add()
    folder = b.write(tmp_path / "e")
    assert verify_export(folder, trusted_key_id=trusted_key(b)).head.size == 3
    assert verify_folder(folder, trusted_key(b)) == (True, 0, "")
