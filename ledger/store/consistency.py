"""A checkpoint kept earlier against the ledger now: can both be true?

A certifier keeps a signed checkpoint (size m, root r). Later the ledger's latest
checkpoint says size n, root R. Both are true only when the kept note is signed by
a ledger key of ours in force for event m+1, m <= n, the stored tree of size m has
root r, and the RFC 9162 consistency proof from (m, r) to (n, R) verifies. The
check here takes the proof from the stored Merkle nodes and verifies it with the
pure `merkle.verify_consistency`, as the certifier's own tools would.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.errors import VerificationError
from ledger.integrity import merkle
from ledger.integrity.checkpoint import (
    Checkpoint,
    check_origin,
    check_signatures,
    parse_note,
)
from ledger.integrity.keys import in_force_for
from ledger.store import EventStore

MAX_NOTE = 64 * 1024  # a checkpoint note is a few hundred bytes

# Why a kept checkpoint and ours cannot both be true (or the text is not one).
MALFORMED = "malformed"
OTHER_ORIGIN = "origin"
BAD_SIGNATURE = "signature"
LARGER = "larger"
ROOT_MISMATCH = "root"
PROOF_FAILS = "proof"


@dataclass(frozen=True, slots=True)
class KeptCheck:
    """The outcome: `problem` is None when both checkpoints hold, else why not."""

    latest_size: int
    latest_root: bytes
    latest_note: str
    size: int | None = None
    root: bytes | None = None
    problem: str | None = None
    detail: str = ""
    proof: list[bytes] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the kept checkpoint is consistent with the latest one."""
        return self.problem is None


def check_kept_checkpoint(store: EventStore, text: str, latest_note: str) -> KeptCheck:
    """Check the kept checkpoint `text` against `latest_note` (a checkpoint of ours).

    Raises:
        StorageError: the database failed.
    """
    latest, _sigs = parse_note(latest_note)

    def outcome(
        kept: Checkpoint | None,
        problem: str | None,
        detail: str = "",
        proof: list[bytes] | None = None,
    ) -> KeptCheck:
        return KeptCheck(
            latest_size=latest.size,
            latest_root=latest.root,
            latest_note=latest_note,
            size=None if kept is None else kept.size,
            root=None if kept is None else kept.root,
            problem=problem,
            detail=detail,
            proof=proof or [],
        )

    text = text.replace("\r\n", "\n")
    if len(text) > MAX_NOTE:
        return outcome(None, MALFORMED, "longer than a checkpoint")
    try:
        kept, signatures = parse_note(text)
    except VerificationError as exc:
        return outcome(None, MALFORMED, exc.reason)
    try:
        check_origin(kept, store.origin)
    except VerificationError as exc:
        return outcome(kept, OTHER_ORIGIN, exc.reason)
    ledger_keys = [k for k in store.key_records() if k.purpose == "ledger"]
    # A checkpoint of size m is signed by a key in force for event m+1; for a size
    # beyond ours any ledger key of ours counts: the signature is ours either way.
    keys = [
        k.public_key
        for k in ledger_keys
        if kept.size >= latest.size or in_force_for(k, kept.size + 1)
    ]
    try:
        check_signatures(kept, signatures, keys)
    except VerificationError as exc:
        return outcome(kept, BAD_SIGNATURE, exc.reason)
    if kept.size > latest.size:
        return outcome(kept, LARGER)
    if kept.size == 0:
        return outcome(kept, MALFORMED, "an empty tree")
    if store.root(kept.size) != kept.root:
        return outcome(kept, ROOT_MISMATCH)
    proof = store.consistency_proof(kept.size, latest.size)
    if not merkle.verify_consistency(
        kept.size, latest.size, proof, kept.root, latest.root
    ):
        return outcome(kept, PROOF_FAILS, proof=proof)
    return outcome(kept, None, proof=proof)
