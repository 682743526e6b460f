"""Writing an export (docs/ledger-format.md section 6) from the store.

The export is written into a temporary folder next to the target and renamed into
place at the end, so a failed export never leaves a half-written folder behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.checkpoint import parse_note
from ledger.errors import (
    EventRejectedError,
    KeyMaterialError,
    StorageError,
    VerificationError,
)
from ledger.store import EventStore
from ledger.verify import verify_export


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export holds."""

    path: Path
    size: int
    blobs: int
    checkpoint: str


def _check(folder: Path, store: EventStore) -> None:
    genesis = next(store.read(1, 1))
    try:
        verify_export(folder, trusted_key_id=genesis.key)
    except VerificationError as exc:
        raise StorageError(
            f"the export does not verify ({exc}); nothing was written, run it again"
        ) from exc


def write_export(
    store: EventStore,
    out: Path,
    *,
    as_zip: bool = False,
    with_blobs: bool = True,
    check: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write events 1..n, the signed checkpoint for n and the blobs to `out`.

    With `check` (the default) the export is verified before it is put in place, so
    an export that would not verify (a blob disposed while it was written, say) is
    never published. Without the service key (a read replica, a copy of the
    database) no new checkpoint can be signed: the export then ends at the latest
    stored checkpoint.

    Raises:
        EventRejectedError: `out` exists already.
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
        StorageError: the written export does not verify; nothing is left behind.
    """
    if out.exists():
        raise EventRejectedError(f"{out} exists already", {"out": ["exists already"]})
    try:
        note = store.checkpoint()
    except KeyMaterialError as exc:
        kept = store.checkpoints()
        if not kept:
            raise KeyMaterialError(
                f"{exc}; no signed checkpoint is stored to export up to"
            ) from exc
        note = kept[-1][1]
    size = parse_note(note)[0].size
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".qms-export-", dir=out.parent))
    try:
        with (work / "events.jsonl").open("wb") as handle:
            for count, line in enumerate(store.read_lines(1, size), start=1):
                handle.write(line)
                handle.write(b"\n")
                if progress is not None and count % 5000 == 0:
                    progress(count)
        (work / "checkpoint").write_text(note, encoding="utf-8")
        blobs = 0
        if with_blobs:
            (work / "blobs").mkdir()
            for digest in store.blob_digests():
                (work / "blobs" / digest).write_bytes(store.get_blob(digest))
                blobs += 1
        if progress is not None:
            progress(size)
        if check:
            _check(work, store)
        if as_zip:
            tmp_zip = work.with_suffix(".zip")
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(work.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(work).as_posix())
            os.replace(tmp_zip, out)
        else:
            os.replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportSummary(out, size, blobs, note)
