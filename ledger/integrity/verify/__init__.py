"""The offline verifier: the event chain, keys, e-signatures, Merkle root, checkpoints, blobs.

Pure: imports only the standard library, `cryptography` and the integrity core, so a
certifier can run it on an export with no database driver installed
(`python -m ledger.verify --export DIR --trusted-key ID`). The numbered checks follow
docs/ledger-format.md section 6. Verification stops at the first failure, because later
links prove nothing, and raises `VerificationError(seq, reason)`; `seq` 0 stands for a
failure that belongs to no single event (checkpoint, proofs, blobs).

This package's face; the parts:

- `lines`: a line of events.jsonl into its envelope and body, checks (1)-(2);
- `walk`: the chain walk, checks (3)-(12), `Verifier` and `verify_lines`;
- `signatures`: Ed25519 event signatures, inline or in worker processes;
- `state`: the key registry, blob references and disposals; `VerifiedHead`;
- `checkpoints`: checkpoints and consistency proofs against a verified chain;
- `blobs`: blob files and references against a verified chain;
- `export`: an export folder or zip end to end, `verify_export`;
- `partial`: a partial export ("Partial export" in the format), `verify_partial_export`;
- `cli`: `main`, the command line.
"""

from __future__ import annotations

from ledger.integrity.verify.blobs import check_blob, check_blob_references
from ledger.integrity.verify.checkpoints import check_checkpoint, check_consistency
from ledger.integrity.verify.cli import main
from ledger.integrity.verify.export import ExportResult, verify_export
from ledger.integrity.verify.partial import (
    CANNOT_SHOW,
    PartialResult,
    is_partial_export,
    partial_report,
    verify_partial_export,
)
from ledger.integrity.verify.state import KeyInfo, VerifiedHead
from ledger.integrity.verify.walk import Progress, Verifier, verify_lines

__all__ = [
    "CANNOT_SHOW",
    "ExportResult",
    "KeyInfo",
    "PartialResult",
    "Progress",
    "VerifiedHead",
    "Verifier",
    "check_blob",
    "check_blob_references",
    "check_checkpoint",
    "check_consistency",
    "is_partial_export",
    "main",
    "partial_report",
    "verify_export",
    "verify_lines",
    "verify_partial_export",
]
