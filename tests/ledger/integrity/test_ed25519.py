"""libsodium's Ed25519 gives OpenSSL's answers: the same signatures, the same verdicts."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given
from hypothesis import strategies as st

from ledger.integrity import ed25519
from ledger.integrity.signing import SigningKey, public_raw

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=300)


def _openssl(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_libsodium_does_the_work_where_it_is_installed() -> None:
    assert ed25519.SODIUM


@given(seed=seeds, message=messages)
def test_a_signature_is_the_same_bytes_as_openssls(seed: bytes, message: bytes) -> None:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    assert SigningKey(private).sign(message) == private.sign(message)


@given(
    seed=seeds, message=messages, flip=st.integers(min_value=0, max_value=8 * 64 - 1)
)
def test_a_signature_with_one_bit_flipped_is_refused_as_openssl_refuses_it(
    seed: bytes, message: bytes, flip: int
) -> None:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = public_raw(private)
    signature = bytearray(private.sign(message))
    assert ed25519.verifies(public, bytes(signature), message)
    signature[flip // 8] ^= 1 << (flip % 8)
    forged = bytes(signature)
    assert ed25519.verifies(public, forged, message) == _openssl(
        public, forged, message
    )
    assert not ed25519.verifies(public, forged, message)


@given(seed=seeds, message=messages, other=messages)
def test_a_signature_of_another_message_is_refused(
    seed: bytes, message: bytes, other: bytes
) -> None:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = public_raw(private)
    signature = private.sign(message)
    assert ed25519.verifies(public, signature, other) == (other == message)


@pytest.mark.parametrize(
    ("public", "signature"),
    [
        (bytes(31), bytes(64)),
        (bytes(32), bytes(63)),
        (bytes(32), bytes(65)),
        (bytes(32), bytes(64)),  # the all-zero key: a small-order point
        (b"\xff" * 32, bytes(64)),  # not a point's encoding
    ],
)
def test_keys_and_signatures_of_the_wrong_shape_are_refused_on_both_paths(
    public: bytes, signature: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not ed25519.verifies(public, signature, b"message")
    monkeypatch.setattr(ed25519, "SODIUM", False)
    assert not ed25519.verifies(public, signature, b"message")


@given(seed=seeds, message=messages)
def test_without_libsodium_openssl_gives_the_same_signatures_and_verdicts(
    seed: bytes, message: bytes
) -> None:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ed25519, "SODIUM", False)
        signer = ed25519.Signer(private)
        signature = signer.sign(message)
        assert ed25519.verifies(public_raw(private), signature, message)
    assert signature == SigningKey(private).sign(message)
