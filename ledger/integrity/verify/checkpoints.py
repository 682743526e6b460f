"""Checkpoints and consistency proofs against a verified chain (docs/ledger-format.md section 4).

A checkpoint is checked by the steps of `ledger.integrity.checkpoint.verify_checkpoint`
with the chain's own checks between them: its size against the chain's, and its root
against the root the events give.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from ledger.errors import VerificationError
from ledger.integrity import merkle
from ledger.integrity.checkpoint import check_origin, check_signatures, parse_note
from ledger.integrity.verify.state import VerifiedHead


def check_checkpoint(text: str, head: VerifiedHead, *, size: int | None = None) -> int:
    """Check a signed checkpoint against a verified chain; return its size.

    The checkpoint must name the chain's origin, a size no larger than the chain's (or
    exactly `size`), the root of that prefix, and carry a signature of a ledger key in
    force after that event.

    Raises:
        VerificationError: (seq 0) any of these fails.
    """
    note, signatures = parse_note(text)
    check_origin(note, head.origin)
    if size is not None and note.size != size:
        raise VerificationError(
            0, f"checkpoint is for size {note.size}, but the export holds {size} events"
        )
    if note.size > head.size:
        raise VerificationError(
            0,
            f"checkpoint is for size {note.size}, but the ledger holds only "
            f"{head.size} events (truncated)",
        )
    root = head.root if note.size == head.size else head.roots.get(note.size)
    if root is None:
        raise VerificationError(0, f"root of size {note.size} was not computed")
    check_signatures(note, signatures, head.ledger_keys_after(note.size))
    if note.root != root:
        raise VerificationError(
            0,
            f"checkpoint root for size {note.size} is "
            f"{base64.b64encode(note.root).decode()}, the events give "
            f"{base64.b64encode(root).decode()}",
        )
    return note.size


def check_consistency(
    proof_json: Mapping[str, object], old_size: int, old_root: bytes, head: VerifiedHead
) -> None:
    """Check an RFC 9162 consistency proof from a kept checkpoint to the verified head.

    Raises:
        VerificationError: (seq 0) the proof is malformed, names other sizes, or fails.
    """
    try:
        size1 = proof_json["size1"]
        size2 = proof_json["size2"]
        hashes = [bytes.fromhex(str(h)) for h in proof_json["hashes"]]  # type: ignore[attr-defined]  # checked below
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationError(
            0, "consistency proof is not {size1, size2, hashes}"
        ) from exc
    if size1 != old_size or size2 != head.size:
        raise VerificationError(
            0,
            f"consistency proof is for sizes {size1} -> {size2}, "
            f"expected {old_size} -> {head.size}",
        )
    if any(len(h) != 32 for h in hashes):
        raise VerificationError(0, "consistency proof hashes must be 32 bytes")
    if not merkle.verify_consistency(old_size, head.size, hashes, old_root, head.root):
        raise VerificationError(
            0,
            f"consistency proof {old_size} -> {head.size} does not verify: the ledger "
            "was rewritten or forked since the kept checkpoint",
        )
