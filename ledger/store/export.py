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

from ledger.errors import (
    ConfigError,
    EventRejectedError,
    KeyMaterialError,
    StorageError,
    VerificationError,
)
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.verify import verify_export
from ledger.store import EventStore
from ledger.store.engine import is_read_only


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


def export_checkpoint(store: EventStore) -> str:
    """Return the checkpoint an export ends at: the current size, signed now, or
    without the service key the latest stored one.

    Raises:
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
    """
    try:
        return store.checkpoint()
    except KeyMaterialError as exc:
        kept = store.checkpoints()
        if not kept:
            raise KeyMaterialError(
                f"{exc}; no signed checkpoint is stored to export up to"
            ) from exc
        return kept[-1][1]


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

    A read-only copy of the ledger (an archive) cannot sign: it exports with the
    checkpoint it holds of its own size.

    Raises:
        EventRejectedError: `out` exists already.
        ConfigError: the database is a read-only copy without a stored checkpoint of
            its size.
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
        StorageError: the written export does not verify, or it cannot be written
            (`cannot write <out>: <reason>`); nothing is left behind.
    """
    if out.exists():
        raise EventRejectedError(f"{out} exists already", {"out": ["exists already"]})
    if is_read_only(store.engine) and store.checkpoint_for(store.size()) is None:
        raise ConfigError(
            f"this read-only copy holds no signed checkpoint of its {store.size()} "
            "events, which an export needs: export from the ledger itself, or run "
            "`qms checkpoint` there before copying it"
        )
    note = export_checkpoint(store)
    size = parse_note(note)[0].size
    try:
        return _write(store, out, note, size, as_zip, with_blobs, check, progress)
    except OSError as exc:
        reason = (
            "part of the path is a file, not a folder"
            if isinstance(exc, FileExistsError)
            else exc.strerror or type(exc).__name__
        )
        raise StorageError(f"cannot write {out}: {reason}") from exc


def _write(
    store: EventStore,
    out: Path,
    note: str,
    size: int,
    as_zip: bool,
    with_blobs: bool,
    check: bool,
    progress: Callable[[int], None] | None,
) -> ExportSummary:
    """Write the export of size `size` beside `out` and rename it into place.

    Raises:
        OSError: the file system refused; the work files are removed.
        StorageError: the written export does not verify.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".qms-export-", dir=out.parent))
    tmp_zip = work.with_suffix(".zip")
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
            for digest, content in store.checked_blobs():
                (work / "blobs" / digest).write_bytes(content)
                blobs += 1
        if progress is not None:
            progress(size)
        if check:
            _check(work, store)
        if as_zip:
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(work.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(work).as_posix())
            os.replace(tmp_zip, out)
        else:
            os.replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        tmp_zip.unlink(missing_ok=True)
    return ExportSummary(out, size, blobs, note)
