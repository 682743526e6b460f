"""Blobs against a verified chain: each file against its digest, each reference against a file.

A referenced blob must be present with the size the event states, unless a
`ledger.blob_disposed` event removed it (docs/ledger-format.md section 6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ledger.errors import VerificationError
from ledger.integrity.blobs import is_digest
from ledger.integrity.export_reader import ExportReader
from ledger.integrity.verify.state import VerifiedHead, stated_sizes


def check_blob(digest: str, content: bytes) -> int:
    """Return the size of a blob whose content hashes to its digest.

    Raises:
        VerificationError: (seq 0) the content hashes to something else.
    """
    actual = hashlib.sha256(content).hexdigest()
    if actual != digest:
        raise VerificationError(
            0, f"blob {digest} does not match its digest (content hashes to {actual})"
        )
    return len(content)


def check_blob_references(
    head: VerifiedHead, present: Mapping[str, int], *, missing: str
) -> None:
    """Check every blob the chain references, unless disposed, against what is present.

    `present` maps digest to size; `missing` ends the message for an absent blob.

    Raises:
        VerificationError: (seq 0) a referenced blob is absent or of another size.
    """
    for digest, ref in sorted(head.blob_refs.items()):
        if digest in head.disposed:
            continue
        sizes = stated_sizes(ref)
        if digest not in present:
            raise VerificationError(
                0,
                f"blob {digest} referenced by event {min(sizes.values())} is {missing}",
            )
        for size, seq in sorted(sizes.items(), key=lambda item: item[1]):
            if present[digest] != size:
                raise VerificationError(
                    0,
                    f"blob {digest} has {present[digest]} bytes, event {seq} says {size}",
                )


def check_export_blobs(export: ExportReader, head: VerifiedHead) -> int:
    """Check an export's `blobs/` against the chain; return how many blobs it holds.

    Raises:
        VerificationError: (seq 0) a file is misnamed, does not match its digest, or a
            referenced blob is absent or of another size.
    """
    if not export.has_blobs():
        return 0
    present = {}
    for name in export.blob_names():
        if not is_digest(name):
            raise VerificationError(0, f"blobs/{name} is not named by a SHA-256 digest")
        actual, present[name] = export.blob_digest(name)
        if actual != name:
            raise VerificationError(
                0, f"blob {name} does not match its digest (content hashes to {actual})"
            )
    check_blob_references(head, present, missing="missing from blobs/")
    return len(present)
