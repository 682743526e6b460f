"""C2SP tlog-proof files: an event's inclusion proof with the checkpoint it leads to. Pure.

Layout (https://c2sp.org/tlog-proof):

    c2sp.org/tlog-proof@v1
    [extra <base64>]
    index <zero-based leaf index>
    <base64 proof hash, leaf's sibling first>   (zero or more lines)
    <blank line>
    <the signed checkpoint note, verbatim>

The leaf of event `seq` is index `seq - 1`; its data is the event's 32-byte hash.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.errors import VerificationError
from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.checkpoint import Checkpoint, parse_note, verify_checkpoint
from ledger.integrity.merkle import verify_inclusion

HEADER: Final = "c2sp.org/tlog-proof@v1"
FILE_EXTENSION: Final = ".tlog-proof"
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True, slots=True)
class TlogProof:
    """The parts of a proof file: leaf `index`, proof `hashes`, checkpoint `note`."""

    index: int
    hashes: tuple[bytes, ...]
    note: str
    extra: bytes | None = None


def format_proof(proof: TlogProof) -> str:
    """Return the text of a proof file."""
    lines = [HEADER]
    if proof.extra is not None:
        lines.append(f"extra {base64.b64encode(proof.extra).decode()}")
    lines.append(f"index {proof.index}")
    lines += [base64.b64encode(h).decode() for h in proof.hashes]
    return "\n".join(lines) + "\n\n" + proof.note


def parse_proof(text: str) -> TlogProof:
    """Parse a proof file without checking anything it states.

    Raises:
        VerificationError: (seq 0) the text is not a tlog-proof file.
    """

    def bad(why: str) -> VerificationError:
        return VerificationError(0, f"tlog-proof malformed: {why}")

    head, sep, note = text.partition("\n\n")
    if not sep:
        raise bad("no blank line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise bad(f"the first line is not {HEADER!r}")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        try:
            extra = b64decode_canonical(lines[pos][len("extra ") :])
        except ValueError as exc:
            raise bad("the extra data is not base64") from exc
        pos += 1
    match = _INDEX.fullmatch(lines[pos]) if pos < len(lines) else None
    if match is None:
        raise bad("no 'index <decimal>' line")
    hashes = []
    for line in lines[pos + 1 :]:
        try:
            hashes.append(b64decode_canonical(line, 32))
        except ValueError as exc:
            raise bad(f"proof line {line!r} is not base64 of 32 bytes") from exc
    parse_note(note)  # the checkpoint must at least be a note
    return TlogProof(int(match.group(1)), tuple(hashes), note, extra)


def check_proof(proof: TlogProof, checkpoint: Checkpoint, leaf: bytes) -> None:
    """Check that `leaf` (an event hash) is at `proof.index` in the tree `checkpoint` states.

    Raises:
        VerificationError: (seq index+1) the proof does not lead to the checkpoint's root.
    """
    hashes: Sequence[bytes] = proof.hashes
    if not verify_inclusion(
        leaf, proof.index, checkpoint.size, hashes, checkpoint.root
    ):
        raise VerificationError(
            proof.index + 1,
            f"the inclusion proof of leaf {proof.index} does not lead to the root of "
            f"the checkpoint of size {checkpoint.size}",
        )


def verify_proof(
    text: str, leaf: bytes, origin: str, keys: Iterable[bytes]
) -> tuple[TlogProof, Checkpoint]:
    """Verify a proof file for `leaf` against ledger keys; return it and its checkpoint.

    Raises:
        VerificationError: the file is malformed, its checkpoint is not signed by one
            of `keys` for `origin`, or the proof does not lead to its root.
    """
    proof = parse_proof(text)
    checkpoint = verify_checkpoint(proof.note, origin, keys)
    check_proof(proof, checkpoint, leaf)
    return proof, checkpoint
