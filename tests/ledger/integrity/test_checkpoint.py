"""ledger.checkpoint: C2SP tlog-checkpoints signed as C2SP signed-notes."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import VerificationError
from ledger.integrity.checkpoint import (
    Checkpoint,
    parse_note,
    parse_verifier_key,
    sign_checkpoint,
    valid_origin,
    verifier_key,
    verify_checkpoint,
)
from ledger.integrity.merkle import EMPTY_ROOT
from ledger.integrity.signing import SigningKey, decode_public_key, note_key_id

ORIGIN = "qms.example.gov.cn/ledger"
SPEC_ROOT = base64.b64decode("jYTqEX86lqQBqAyL8MAQpX5u/qZqMCB0gvDs0vhiZZU=")
DASH = "\u2014"  # the em dash that opens a signed-note signature line


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey(
        Ed25519PrivateKey.from_private_bytes(
            hashlib.sha256(b"checkpoint tests").digest()
        )
    )


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey(
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"another key").digest())
    )


@pytest.fixture(scope="module")
def note(key: SigningKey) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, 52, SPEC_ROOT), key)


def _signature_line(name: str, key: SigningKey, body: str) -> str:
    blob = note_key_id(name, key.public_raw) + key.sign(body.encode())
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


# --- an independent verifier, written from the C2SP signed-note spec alone -------


def c2sp_verify(note_text: str, vkey: str) -> bool:
    """Verify `note_text` with a signed-note verifier key, without ledger.checkpoint.

    Verifier key: <name>+<hex key id>+<base64(0x01 || 32-byte Ed25519 key)>, with
    key id = SHA-256(name || 0x0A || 0x01 || key)[:4]. A note is text ending in a
    newline, a blank line, then lines "— <name> <base64(key id || signature)>"; the
    Ed25519 signature covers the text (every line before the blank line, with its
    newline).
    """
    name, hex_id, b64 = vkey.strip().split("+")
    typed_key = base64.b64decode(b64)
    if typed_key[0] != 0x01 or len(typed_key) != 33:
        return False
    key_hash = hashlib.sha256(name.encode() + b"\x0a" + typed_key).digest()[:4]
    if key_hash.hex() != hex_id:
        return False
    public = Ed25519PublicKey.from_public_bytes(typed_key[1:])
    split = note_text.rindex("\n\n")
    text, signature_block = note_text[: split + 1], note_text[split + 2 :]
    for line in signature_block.splitlines():
        prefix = DASH + " " + name + " "
        if not line.startswith(prefix):
            continue
        blob = base64.b64decode(line[len(prefix) :])
        if blob[:4] != key_hash:
            continue
        try:
            public.verify(blob[4:], text.encode())
        except InvalidSignature:
            return False
        return True
    return False


def test_independent_verifier_accepts_the_spec_checkpoints(spec_vectors: Path) -> None:
    vkey = (spec_vectors / "valid-side" / "vkey").read_text()
    assert c2sp_verify((spec_vectors / "valid" / "checkpoint").read_text(), vkey)
    assert c2sp_verify(
        (spec_vectors / "valid-side" / "checkpoint.old").read_text(), vkey
    )
    bad = (spec_vectors / "tamper-bad_checkpoint_sig" / "checkpoint").read_text()
    assert not c2sp_verify(bad, vkey)


@given(
    st.integers(0, 2**63),
    st.binary(min_size=32, max_size=32),
)
def test_independent_verifier_accepts_our_notes(size: int, root: bytes) -> None:
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    text = sign_checkpoint(Checkpoint(ORIGIN, size, root), key)
    assert c2sp_verify(text, verifier_key(ORIGIN, key.public_raw))
    tampered = text.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    assert not c2sp_verify(tampered, verifier_key(ORIGIN, key.public_raw))


# --- the spec's vectors ----------------------------------------------------------


def test_spec_checkpoint_verifies_with_the_published_verifier_key(
    spec_vectors: Path,
) -> None:
    vkey = (spec_vectors / "valid-side" / "vkey").read_text()
    name, kid, public = parse_verifier_key(vkey)
    assert name == ORIGIN
    assert kid == note_key_id(ORIGIN, public)
    text = (spec_vectors / "valid" / "checkpoint").read_text()
    assert verify_checkpoint(text, ORIGIN, [public]) == Checkpoint(
        ORIGIN, 52, SPEC_ROOT
    )
    old = verify_checkpoint(
        (spec_vectors / "valid-side" / "checkpoint.old").read_text(), ORIGIN, [public]
    )
    assert old.size == 40


def test_verifier_key_reproduces_the_spec_string(spec_vectors: Path) -> None:
    vkey = (spec_vectors / "valid-side" / "vkey").read_text().strip()
    name, _, public = parse_verifier_key(vkey)
    assert verifier_key(name, public) == vkey


def test_spec_checkpoint_is_signed_by_the_rotated_ledger_key(
    spec_vectors: Path, spec_lines: list[bytes]
) -> None:
    """The key in force after event 52 is the one registered at seq 30."""
    registered = json.loads(spec_lines[29])["data"]
    public = decode_public_key(registered["public_key"])
    text = (spec_vectors / "valid" / "checkpoint").read_text()
    assert verify_checkpoint(text, ORIGIN, [public]).size == 52
    first = decode_public_key(json.loads(spec_lines[0])["data"]["public_key"])
    with pytest.raises(VerificationError, match="no ledger key in force"):
        verify_checkpoint(text, ORIGIN, [first])


def test_spec_checkpoint_with_a_bad_signature_fails(spec_vectors: Path) -> None:
    _, _, public = parse_verifier_key(
        (spec_vectors / "valid-side" / "vkey").read_text()
    )
    text = (spec_vectors / "tamper-bad_checkpoint_sig" / "checkpoint").read_text()
    with pytest.raises(VerificationError, match="does not verify") as caught:
        verify_checkpoint(text, ORIGIN, [public])
    assert caught.value.seq == 0


# --- sign, parse, verify ---------------------------------------------------------


def test_signed_note_layout(key: SigningKey, note: str) -> None:
    body, signature = note.split("\n\n")
    assert body + "\n" == f"{ORIGIN}\n52\n{base64.b64encode(SPEC_ROOT).decode()}\n"
    assert signature.startswith(f"{DASH} {ORIGIN} ")
    assert signature.endswith("\n")
    blob = base64.b64decode(signature.split(" ")[2])
    assert len(blob) == 68
    assert blob[:4] == note_key_id(ORIGIN, key.public_raw)


@given(
    st.from_regex(r"[\x21-\x2a\x2c-\x7e]{1,40}", fullmatch=True),
    st.integers(0, 10**19),
    st.binary(min_size=32, max_size=32),
)
def test_sign_then_verify_round_trips(origin: str, size: int, root: bytes) -> None:
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(32)))
    text = sign_checkpoint(Checkpoint(origin, size, root), key)
    assert verify_checkpoint(text, origin, [key.public_raw]) == Checkpoint(
        origin, size, root
    )
    parsed, signatures = parse_note(text)
    assert parsed == Checkpoint(origin, size, root)
    assert [s.name for s in signatures] == [origin]


def test_empty_tree_checkpoint(key: SigningKey) -> None:
    text = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), key)
    assert verify_checkpoint(text, ORIGIN, [key.public_raw]).size == 0


def test_wrong_origin_fails(key: SigningKey, note: str) -> None:
    with pytest.raises(VerificationError, match="is not the ledger's") as caught:
        verify_checkpoint(note, "other.example/ledger", [key.public_raw])
    assert caught.value.seq == 0


def test_unknown_key_fails(note: str, other_key: SigningKey) -> None:
    with pytest.raises(VerificationError, match="signed by no ledger key in force"):
        verify_checkpoint(note, ORIGIN, [other_key.public_raw])
    with pytest.raises(VerificationError, match="signed by no ledger key in force"):
        verify_checkpoint(note, ORIGIN, [])


def test_a_changed_body_fails(key: SigningKey, note: str) -> None:
    changed = note.replace("\n52\n", "\n51\n", 1)
    with pytest.raises(VerificationError, match="does not verify"):
        verify_checkpoint(changed, ORIGIN, [key.public_raw])


def test_a_signature_of_the_wrong_length_fails(key: SigningKey) -> None:
    body = Checkpoint(ORIGIN, 1, SPEC_ROOT).body()
    blob = note_key_id(ORIGIN, key.public_raw) + key.sign(body.encode())[:60]
    text = f"{body}\n{DASH} {ORIGIN} {base64.b64encode(blob).decode()}\n"
    with pytest.raises(VerificationError, match="does not verify"):
        verify_checkpoint(text, ORIGIN, [key.public_raw])


def test_signatures_by_other_keys_are_ignored(
    key: SigningKey, other_key: SigningKey
) -> None:
    body = Checkpoint(ORIGIN, 7, SPEC_ROOT).body()
    text = (
        body
        + "\n"
        + _signature_line("witness.example", other_key, body)
        + _signature_line(ORIGIN, other_key, body)
        + _signature_line(ORIGIN, key, body)
    )
    assert verify_checkpoint(text, ORIGIN, [key.public_raw]).size == 7
    assert verify_checkpoint(text, ORIGIN, [other_key.public_raw]).size == 7


def test_a_short_signature_of_a_known_key_rejects_the_note_despite_a_good_one(
    key: SigningKey,
) -> None:
    body = Checkpoint(ORIGIN, 7, SPEC_ROOT).body()
    short = note_key_id(ORIGIN, key.public_raw) + bytes(10)
    text = (
        body
        + "\n"
        + f"{DASH} {ORIGIN} {base64.b64encode(short).decode()}\n"
        + _signature_line(ORIGIN, key, body)
    )
    with pytest.raises(VerificationError, match="does not verify"):
        verify_checkpoint(text, ORIGIN, [key.public_raw])


class TestExtensionLines:
    def test_extension_lines_are_kept_and_signed(self, key: SigningKey) -> None:
        body = Checkpoint(ORIGIN, 9, SPEC_ROOT).body() + "ext one\next two\n"
        text = body + "\n" + _signature_line(ORIGIN, key, body)
        checkpoint = verify_checkpoint(text, ORIGIN, [key.public_raw])
        assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
            ORIGIN,
            9,
            SPEC_ROOT,
        )
        assert checkpoint.body() == body
        assert c2sp_verify(text, verifier_key(ORIGIN, key.public_raw))

    def test_a_changed_extension_line_fails(self, key: SigningKey) -> None:
        body = Checkpoint(ORIGIN, 9, SPEC_ROOT).body() + "ext one\n"
        text = body + "\n" + _signature_line(ORIGIN, key, body)
        for changed in (
            text.replace("ext one", "ext two"),
            text.replace("ext one\n", ""),
            text.replace("ext one\n", "ext one\nadded\n"),
        ):
            with pytest.raises(VerificationError, match="does not verify"):
                verify_checkpoint(changed, ORIGIN, [key.public_raw])

    def test_resigning_a_parsed_note_keeps_its_extensions(
        self, key: SigningKey
    ) -> None:
        body = Checkpoint(ORIGIN, 9, SPEC_ROOT).body() + "ext\n"
        parsed, _ = parse_note(body + "\n" + _signature_line(ORIGIN, key, body))
        assert sign_checkpoint(parsed, key).startswith(body + "\n")


# --- malformed notes -------------------------------------------------------------

ROOT_B64 = base64.b64encode(SPEC_ROOT).decode()
SIG = f"{DASH} {ORIGIN} " + base64.b64encode(bytes(68)).decode() + "\n"

MALFORMED = {
    "no-final-newline": (f"{ORIGIN}\n1\n{ROOT_B64}\n\n{SIG}"[:-1], "newline"),
    "no-blank-line": (f"{ORIGIN}\n1\n{ROOT_B64}\n{SIG}", "no blank line"),
    "two-lines": (f"{ORIGIN}\n1\n\n{SIG}", "fewer than three lines"),
    "empty-origin": (f"\n1\n{ROOT_B64}\n\n{SIG}", "origin"),
    "origin-with-space": (f"qms ledger\n1\n{ROOT_B64}\n\n{SIG}", "origin"),
    "origin-with-plus": (f"qms+ledger\n1\n{ROOT_B64}\n\n{SIG}", "origin"),
    "origin-non-ascii": (f"qms.例子/ledger\n1\n{ROOT_B64}\n\n{SIG}", "origin"),
    "size-negative": (f"{ORIGIN}\n-1\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-leading-zero": (f"{ORIGIN}\n01\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-empty": (f"{ORIGIN}\n\n{ROOT_B64}\n\n{SIG}", "fewer than three lines"),
    "size-decimal-point": (f"{ORIGIN}\n1.0\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-hex": (f"{ORIGIN}\n0x10\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-superscript": (f"{ORIGIN}\n\u00b2\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-arabic-digit": (f"{ORIGIN}\n\u0663\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-too-long": (f"{ORIGIN}\n{'9' * 5000}\n{ROOT_B64}\n\n{SIG}", "size"),
    "size-space": (f"{ORIGIN}\n 1\n{ROOT_B64}\n\n{SIG}", "size"),
    "root-not-base64": (f"{ORIGIN}\n1\n!!!!\n\n{SIG}", "root is not base64"),
    "root-31-bytes": (
        f"{ORIGIN}\n1\n{base64.b64encode(bytes(31)).decode()}\n\n{SIG}",
        "root is not base64 of 32 bytes",
    ),
    "root-unpadded": (f"{ORIGIN}\n1\n{ROOT_B64.rstrip('=')}\n\n{SIG}", "root"),
    "root-hex": (f"{ORIGIN}\n1\n{SPEC_ROOT.hex()}\n\n{SIG}", "root"),
    "no-signature": (f"{ORIGIN}\n1\n{ROOT_B64}\n\n", "no signature"),
    "blank-signature-line": (f"{ORIGIN}\n1\n{ROOT_B64}\n\n\n", "signature line"),
    "hyphen-not-em-dash": (
        f"{ORIGIN}\n1\n{ROOT_B64}\n\n- {ORIGIN} AAAA\n",
        "signature line",
    ),
    "signature-without-name": (
        f"{ORIGIN}\n1\n{ROOT_B64}\n\n{DASH} AAAA\n",
        "signature line",
    ),
    "signature-bad-padding": (
        f"{ORIGIN}\n1\n{ROOT_B64}\n\n{DASH} {ORIGIN} AAAAA\n",
        "signature is not base64",
    ),
    "signature-too-short": (
        f"{ORIGIN}\n1\n{ROOT_B64}\n\n{DASH} {ORIGIN} AAAA\n",
        "signature is too short",
    ),
    "signature-then-garbage": (
        f"{ORIGIN}\n1\n{ROOT_B64}\n\n{SIG}garbage\n",
        "signature line",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_note_fails_with_a_reason(name: str, key: SigningKey) -> None:
    text, reason = MALFORMED[name]
    with pytest.raises(VerificationError, match=reason) as caught:
        verify_checkpoint(text, ORIGIN, [key.public_raw])
    assert caught.value.seq == 0
    assert "checkpoint malformed" in caught.value.reason


# --- verifier keys and origins ---------------------------------------------------


def test_verifier_key_round_trips(key: SigningKey) -> None:
    vkey = verifier_key(ORIGIN, key.public_raw)
    assert vkey.startswith(f"{ORIGIN}+{note_key_id(ORIGIN, key.public_raw).hex()}+")
    assert parse_verifier_key(vkey + "\n") == (
        ORIGIN,
        note_key_id(ORIGIN, key.public_raw),
        key.public_raw,
    )


@pytest.mark.parametrize(
    ("vkey", "reason"),
    [
        ("qms.example+2e2050b6", "is not <name>"),
        ("a+b+c+d", "is not <name>"),
        ("qms.example+zzzzzzzz+ASvs", "is not <name>"),
        ("qms.example+2e2050b6+!!!!", "is not <name>"),
        (
            "qms.example+2e20+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
            "signed-note key",
        ),
        (
            "qms.example+2e2050b6+" + base64.b64encode(bytes(33)).decode(),
            "signed-note key",
        ),
        (
            "qms.example+2e2050b6+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
            "signed-note key",
        ),
        (
            "qms.example+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode(),
            "does not match",
        ),
    ],
)
def test_parse_verifier_key_rejects_malformed_strings(vkey: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_verifier_key(vkey)


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        (ORIGIN, True),
        ("example.com/log!~", True),
        ("", False),
        ("has space", False),
        ("has+plus", False),
        ("tab\there", False),
        ("日本/ledger", False),
    ],
)
def test_valid_origin(origin: str, ok: bool) -> None:
    assert valid_origin(origin) is ok
