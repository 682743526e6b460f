"""Base64 in ledger format v1 is canonical: no second spelling of a key or signature.

Standard padded base64 leaves padding bits that decoders ignore; re-encoding a `sig`,
a public key or the checkpoint's signature with those bits set changes the file and
must fail in every verifier (`verify_export`, the independent verifier of the tests,
`python -m ledger.verify`).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.errors import KeyMaterialError, VerificationError
from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.signing import SigningKey, decode_public_key
from ledger.integrity.verify import verify_export
from tests.support.chainbuilder import ChainBuilder, esign_chain, trusted_key
from tests.support.independent_verifier import verify_folder

REPO = Path(__file__).resolve().parents[3]
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@pytest.fixture
def chain() -> ChainBuilder:
    """A ledger of 8 events: an esign key, documents, an e-signature, a blob."""
    return esign_chain()


def _odd_padding(text: str) -> str:
    """Re-encode base64 with non-zero padding bits: the same bytes, another file."""
    body = text.rstrip("=")
    last = _ALPHABET.index(body[-1])
    return body[:-1] + _ALPHABET[last | 1] + text[len(body) :]


def test_canonical_base64_refuses_every_other_spelling_of_the_same_bytes() -> None:
    raw = bytes(range(64))
    good = base64.b64encode(raw).decode()
    assert b64decode_canonical(good, 64) == raw
    odd = _odd_padding(good)
    assert base64.b64decode(odd, validate=True) == raw  # what the old check accepted
    for bad in (
        odd,
        good.rstrip("="),
        good + "=",
        " " + good,
        good[:-3] + "\n" + good[-3:],
    ):
        with pytest.raises(ValueError, match="base64"):
            b64decode_canonical(bad, 64)
    with pytest.raises(ValueError, match="64"):
        b64decode_canonical(base64.b64encode(bytes(32)).decode(), 64)
    key = SigningKey.generate()
    with pytest.raises(KeyMaterialError, match="not base64"):
        decode_public_key(_odd_padding(key.public_b64))


def _event_sig(b: ChainBuilder, out: Path) -> Path:
    note = b.checkpoint()  # the sig is outside the hash: the checkpoint still holds
    b.envs[3]["sig"] = _odd_padding(b.envs[3]["sig"])
    return b.write(out, checkpoint=note)


def _checkpoint_sig(b: ChainBuilder, out: Path) -> Path:
    note = b.checkpoint()
    head, _, sig = note.rstrip("\n").rpartition(" ")
    return b.write(out, checkpoint=f"{head} {_odd_padding(sig)}\n")


def _esig_sig(b: ChainBuilder, out: Path) -> Path:
    esig = b.envs[6]["data"]["esig"]
    esig["sig"] = _odd_padding(esig["sig"])
    b.reseal(7)  # the service re-signs the event holding the re-encoded e-signature
    return b.write(out)


def _registered_key(b: ChainBuilder, out: Path) -> Path:
    data = b.envs[1]["data"]
    data["public_key"] = _odd_padding(data["public_key"])
    b.reseal(2)
    return b.write(out)


def _genesis_key(b: ChainBuilder, out: Path) -> Path:
    data = b.envs[0]["data"]
    data["public_key"] = _odd_padding(data["public_key"])
    b.reseal(1)
    return b.write(out)


BASE64: dict[str, tuple[Callable[[ChainBuilder, Path], Path], int, str]] = {
    "event_sig": (_event_sig, 4, "sig is not padded base64 of 64 bytes"),
    "checkpoint_sig": (_checkpoint_sig, 0, "signature is not base64"),
    "esig_sig": (_esig_sig, 7, "e-signature of u-alice does not verify"),
    "registered_key": (_registered_key, 2, "public_key is not base64"),
    "genesis_key": (_genesis_key, 1, "public_key is not base64"),
}


@pytest.mark.parametrize("case", sorted(BASE64))
def test_base64_reencoded_with_padding_bits_fails_in_every_verifier(
    chain: ChainBuilder, tmp_path: Path, case: str
) -> None:
    tamper, seq, reason = BASE64[case]
    folder = tamper(chain, tmp_path / "e")
    with pytest.raises(VerificationError) as info:
        verify_export(folder, trusted_key_id=trusted_key(chain), workers=1)
    error = info.value
    assert (error.seq, reason in error.reason) == (seq, True), error.reason
    ok, bad_seq, _why = verify_folder(folder, trusted_key(chain))
    assert (ok, bad_seq) == (False, seq)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.verify",
            "--export",
            str(folder),
            "--trusted-key",
            trusted_key(chain),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )
    assert (run.returncode, run.stdout.startswith(f"FAIL seq={seq} ")) == (1, True)
