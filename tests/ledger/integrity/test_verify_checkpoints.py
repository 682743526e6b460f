"""The offline verifier's checkpoint check and `checkpoint.verify_checkpoint` accept the same notes."""

from __future__ import annotations

import base64

from ledger.errors import VerificationError
from ledger.integrity.checkpoint import parse_note, verify_checkpoint
from ledger.integrity.signing import note_key_id
from ledger.integrity.verify import check_checkpoint, verify_lines
from tests.support.chainbuilder import ChainBuilder, esign_chain, trusted_key

DASH = "\u2014"


def _with_line(b: ChainBuilder, blob: bytes) -> str:
    """The chain's checkpoint with one more signature line of the ledger key before its own."""
    body, _, sigs = b.checkpoint().partition("\n\n")
    line = f"{DASH} {b.origin} {base64.b64encode(blob).decode()}\n"
    return f"{body}\n\n{line}{sigs}"


def _both(b: ChainBuilder, text: str) -> tuple[object, object]:
    head = verify_lines(b.lines(), trusted_key_id=trusted_key(b), workers=1)
    results: list[object] = []
    for check in (
        lambda: check_checkpoint(text, head, size=head.size),
        lambda: (
            verify_checkpoint(text, head.origin, head.ledger_keys_after(head.size)).size
        ),
    ):
        try:
            results.append(check())
        except VerificationError as exc:
            results.append(exc.reason)
    return results[0], results[1]


def test_a_good_checkpoint_passes_both() -> None:
    b = esign_chain()
    assert _both(b, b.checkpoint()) == (8, 8)


def test_a_failing_64_byte_signature_of_the_ledger_key_fails_both() -> None:
    b = esign_chain()
    kid = note_key_id(b.origin, b.key.public_raw)
    assert _both(b, _with_line(b, kid + bytes(64))) == (
        "checkpoint signature does not verify",
        "checkpoint signature does not verify",
    )


def test_a_signature_of_another_length_of_the_ledger_key_fails_both() -> None:
    b = esign_chain()
    kid = note_key_id(b.origin, b.key.public_raw)
    assert _both(b, _with_line(b, kid + bytes(10))) == (
        "checkpoint signature does not verify",
        "checkpoint signature does not verify",
    )
    only_short = b.checkpoint().partition("\n\n")[0] + (
        f"\n\n{DASH} {b.origin} {base64.b64encode(kid + bytes(10)).decode()}\n"
    )
    parse_note(only_short)
    assert _both(b, only_short) == (
        "checkpoint signature does not verify",
        "checkpoint signature does not verify",
    )


def test_only_the_verifier_compares_the_size_with_the_export_s() -> None:
    b = esign_chain()
    assert _both(b, b.checkpoint(size=3)) == (
        "checkpoint is for size 3, but the export holds 8 events",
        3,
    )
