"""Verifying an export folder or zip end to end (docs/ledger-format.md section 6).

The events, then the export's checkpoint, a kept older checkpoint and a consistency
proof when given, then the blobs.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import VerificationError
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.export_reader import ExportReader
from ledger.integrity.verify.blobs import check_export_blobs
from ledger.integrity.verify.checkpoints import check_checkpoint, check_consistency
from ledger.integrity.verify.chunks import CHUNK
from ledger.integrity.verify.state import VerifiedHead
from ledger.integrity.verify.walk import Progress, Verifier, verify_lines


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A verified export."""

    head: VerifiedHead
    checkpoint_size: int
    old_checkpoint_size: int | None
    blobs_checked: int

    def to_json(self) -> dict[str, object]:
        """Return a summary for machines."""
        return {
            "ok": True,
            "size": self.head.size,
            "root": base64.b64encode(self.head.root).decode(),
            "origin": self.head.origin,
            "genesis_key": self.head.genesis_key,
            "covered": [1, self.head.size],
            "checkpoint_size": self.checkpoint_size,
            "old_checkpoint_size": self.old_checkpoint_size,
            "esignatures": self.head.esignatures,
            "blobs_checked": self.blobs_checked,
            "keys": sorted(
                (
                    {
                        "key_id": k.key_id,
                        "holder": k.holder,
                        "purpose": k.purpose,
                        "registered_seq": k.registered_seq,
                        "revoked_seq": k.revoked_seq,
                    }
                    for k in self.head.keys.values()
                ),
                key=lambda k: (k["registered_seq"], k["key_id"]),
            ),
        }


def _verify_events(
    export: ExportReader,
    *,
    trusted_key_id: str | None,
    roots_at: tuple[int, ...],
    workers: int,
    progress: Progress | None,
) -> VerifiedHead:
    """Walk the export's events: in a folder, each worker reads the lines it checks
    (`ExportReader.event_line_ranges`); in a zip, this process reads them in order.

    Raises:
        VerificationError: at the first failure, a failure of an event read before
            an unreadable line winning.
    """
    scanned = export.event_line_ranges(CHUNK)
    if scanned is None:
        lines = export.event_lines()
        try:
            return verify_lines(
                lines,
                trusted_key_id=trusted_key_id,
                roots_at=roots_at,
                workers=workers,
                progress=progress,
            )
        finally:
            lines.close()  # a failure leaves the file open inside the generator
    ranges, error = scanned
    verifier = Verifier(
        trusted_key=trusted_key_id,
        roots_at=frozenset(roots_at),
        workers=workers,
        progress=progress,
    )
    verifier.feed_ranges(ranges, ranges.lines)
    if error is not None:
        raise error
    return verifier.finish()


def verify_export(
    path: Path,
    *,
    trusted_key_id: str | None,
    old_checkpoint: str | None = None,
    consistency_proof: Mapping[str, object] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Verify an export folder or zip as docs/ledger-format.md section 6 says.

    Raises:
        VerificationError: at the first failure (seq 0 for checkpoint, proof, blobs).
    """
    old_size: int | None = None
    if old_checkpoint is not None:
        old_size = parse_note(old_checkpoint)[0].size
    if consistency_proof is not None and old_checkpoint is None:
        raise VerificationError(
            0, "a consistency proof needs the kept (old) checkpoint"
        )
    with ExportReader.open(path) as export:
        if export.partial:
            raise VerificationError(
                0,
                "this is a partial export (it holds manifest.json): it is verified "
                "against its own checkpoint, not as a whole ledger",
            )
        head = _verify_events(
            export,
            trusted_key_id=trusted_key_id,
            roots_at=() if old_size is None else (old_size,),
            workers=os.cpu_count() or 1 if workers is None else workers,
            progress=progress,
        )
        text = export.checkpoint()
        if text is None:
            raise VerificationError(0, "export has no checkpoint")
        size = check_checkpoint(text, head, size=head.size)
        if old_checkpoint is not None and old_size is not None:
            if old_size > head.size:
                raise VerificationError(
                    0,
                    f"the kept checkpoint is for size {old_size}, but the export holds "
                    f"only {head.size} events: the ledger was truncated",
                )
            check_checkpoint(old_checkpoint, head)
            old_root = head.roots.get(old_size, head.root)
            if consistency_proof is not None:
                check_consistency(consistency_proof, old_size, old_root, head)
        blobs = check_export_blobs(export, head)
    return ExportResult(head, size, old_size, blobs)
