"""Reading an export (docs/ledger-format.md section 6) from a folder or a zip. Pure.

Only the standard library: a certifier's verifier reads exports with nothing else.

An export is read only after its layout is checked: it holds `events.jsonl`,
`checkpoint` and `blobs/<sha256>` and nothing else (a partial export, "Partial export" there,
also `manifest.json` and `proofs.jsonl`), every one a regular file, and a
zip holds each name once (also after the normalisation unpacking tools apply),
stored or deflated. What is read is bounded: a line of `events.jsonl`, the
checkpoint and a blob each have a cap (section 6), checked before anything is
decompressed, so a small crafted file cannot make the verifier hold gigabytes.
Whatever a crafted archive makes the zip, zlib or lzma modules raise becomes a
`VerificationError`, never a traceback.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ledger.errors import VerificationError
from ledger.integrity.blobs import is_digest

MAX_EVENT_LINE = 1 << 20
"""Bytes in one line of events.jsonl, without its newline (1 MiB)."""
MAX_CHECKPOINT = 1 << 16
"""Bytes in the checkpoint file (64 KiB)."""
MAX_BLOB = 1 << 30
"""Bytes in one blob file (1 GiB)."""
MAX_MANIFEST = 1 << 24
"""Bytes in a partial export's manifest.json (16 MiB)."""
MAX_PROOF_LINE = 1 << 16
"""Bytes in one line of a partial export's proofs.jsonl, without its newline."""
MANIFEST = "manifest.json"
PROOFS = "proofs.jsonl"

_CHUNK = 1 << 20
_ALLOWED = "events.jsonl, checkpoint and blobs/<sha256>"
_ALLOWED_PARTIAL = (
    "manifest.json, events.jsonl, proofs.jsonl, checkpoint and blobs/<sha256>"
)
# What reading a crafted archive can raise: a damaged or truncated stream, a wrong
# CRC, a name in the local header that differs from the central directory, an
# unsupported feature (NotImplementedError), an encrypted entry (RuntimeError), an
# undecodable name (UnicodeDecodeError, a ValueError), sizes that do not fit.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    OverflowError,
)


def _normalised(name: str) -> str:
    """Return the path an unpacking tool would write `name` to, case-folded."""
    parts = name.replace("\\", "/").split("/")
    return "/".join(p for p in parts if p not in ("", ".", "..")).casefold()


def _top_files(partial: bool) -> tuple[str, ...]:
    if partial:
        return ("events.jsonl", "checkpoint", MANIFEST, PROOFS)
    return ("events.jsonl", "checkpoint")


def _not_allowed(name: str, partial: bool = False) -> VerificationError:
    if name.startswith("blobs/"):
        return VerificationError(
            0, f"{name!r} is not named by a SHA-256 digest (blobs/<64 lowercase hex>)"
        )
    if partial:
        return VerificationError(
            0,
            f"the partial export holds {name!r}; it holds only {_ALLOWED_PARTIAL}",
        )
    return VerificationError(
        0, f"the export holds {name!r}; an export holds only {_ALLOWED}"
    )


def _cap(name: str) -> int | None:
    if name == "checkpoint":
        return MAX_CHECKPOINT
    if name == MANIFEST:
        return MAX_MANIFEST
    if name.startswith("blobs/"):
        return MAX_BLOB
    return None  # events.jsonl, proofs.jsonl: each line is capped as it is read


def _too_large(name: str, size: int, cap: int) -> VerificationError:
    return VerificationError(
        0, f"{name} holds {size} bytes, more than the {cap} allowed"
    )


def _check_zip_entry(info: zipfile.ZipInfo, partial: bool) -> None:
    """Refuse a zip entry that is not one of the export's files, stored plainly.

    Raises:
        VerificationError: (seq 0) the entry's name, kind, method or size is refused.
    """
    name = info.filename
    mode = info.external_attr >> 16  # Unix mode and file type, when the zip has them
    if info.flag_bits & 0x1:
        raise VerificationError(0, f"{name!r} is encrypted")
    if info.extract_version > zipfile.MAX_EXTRACT_VERSION:
        raise VerificationError(
            0,
            f"{name!r} needs zip version {info.extract_version / 10:.1f}, "
            "which is not supported",
        )
    if name == "blobs/":  # the folder's own entry, as `zip -r` writes it
        if stat.S_IFMT(mode) not in (0, stat.S_IFDIR) or info.file_size:
            raise VerificationError(0, "blobs/ is not a folder")
        return
    if name not in _top_files(partial) and not (
        name.startswith("blobs/") and is_digest(name.removeprefix("blobs/"))
    ):
        raise _not_allowed(name, partial)
    if info.external_attr & 0x10 or stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        raise VerificationError(0, f"{name} is not a regular file")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise VerificationError(
            0,
            f"{name} uses compression method {info.compress_type}; only stored (0) "
            "and deflate (8) are allowed",
        )
    cap = _cap(name)
    if cap is not None and info.file_size > cap:
        raise _too_large(name, info.file_size, cap)


def _check_zip(archive: zipfile.ZipFile, partial: bool) -> None:
    """Refuse a zip whose entries are not exactly an export's files.

    Raises:
        VerificationError: (seq 0) two entries unpack to one path, or an entry is
            refused by `_check_zip_entry`.
    """
    seen: dict[str, str] = {}
    for info in archive.infolist():
        key = _normalised(info.filename)
        if key in seen:
            names = (
                info.filename
                if seen[key] == info.filename
                else f"{key} ({seen[key]!r} and {info.filename!r})"
            )
            raise VerificationError(
                0, f"the zip holds two entries named {names}: which one is the export?"
            )
        seen[key] = info.filename
    for info in archive.infolist():
        _check_zip_entry(info, partial)


def _check_folder(path: Path, partial: bool) -> None:
    """Refuse a folder that holds anything but an export's files.

    Raises:
        VerificationError: (seq 0) an entry is not allowed, or not a regular file
            where a file belongs, or a blob is larger than its cap.
    """
    try:
        with os.scandir(path) as entries:
            top = sorted(entries, key=lambda e: e.name)
        for entry in top:
            if entry.name in _top_files(partial):
                if not entry.is_file(follow_symlinks=False):
                    raise VerificationError(0, f"{entry.name} is not a regular file")
            elif entry.name == "blobs":
                if not entry.is_dir(follow_symlinks=False):
                    raise VerificationError(0, "blobs is not a folder")
                with os.scandir(entry.path) as blobs:
                    inside = sorted(blobs, key=lambda e: e.name)
                for blob in inside:
                    name = f"blobs/{blob.name}"
                    if not is_digest(blob.name):
                        raise _not_allowed(name)
                    if not blob.is_file(follow_symlinks=False):
                        raise VerificationError(0, f"{name} is not a regular file")
                    size = blob.stat(follow_symlinks=False).st_size
                    if size > MAX_BLOB:
                        raise _too_large(name, size, MAX_BLOB)
            else:
                raise _not_allowed(entry.name, partial)
    except OSError as exc:
        raise VerificationError(0, f"cannot read {path}: {exc}") from exc


@dataclass(slots=True)
class ExportReader:
    """An opened export: event lines, the checkpoint and the blobs, folder or zip alike."""

    path: Path
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    partial: bool = False
    """Whether this is a partial export (it holds manifest.json)."""

    @classmethod
    def open(cls, path: Path) -> ExportReader:
        """Open an export folder or zip file and check its layout.

        Raises:
            VerificationError: (seq 0) the path is neither, `events.jsonl` is missing,
                or the export holds what section 6 does not allow.
        """
        if path.is_dir():
            partial = (path / MANIFEST).exists() or (path / MANIFEST).is_symlink()
            _check_folder(path, partial)
            reader = cls(path, partial=partial)
        elif zipfile.is_zipfile(path):
            try:
                archive = zipfile.ZipFile(path)
            except _READ_ERRORS as exc:
                raise VerificationError(0, f"cannot open {path}: {exc}") from exc
            try:
                partial = MANIFEST in archive.namelist()
                _check_zip(archive, partial)
            except VerificationError:
                archive.close()
                raise
            reader = cls(path, archive, partial)
        else:
            raise VerificationError(
                0, f"{path} is neither an export folder nor a zip file"
            )
        for name in ("events.jsonl", *((PROOFS,) if reader.partial else ())):
            if not reader._exists(name):
                reader.close()
                raise VerificationError(0, f"export has no {name}")
        return reader

    def close(self) -> None:
        """Release the zip file, if any."""
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exists(self, name: str) -> bool:
        if self._zip is not None:
            try:
                self._zip.getinfo(name)
            except KeyError:
                return False
            return True
        return (self.path / name).is_file()

    def _open(self, name: str) -> IO[bytes]:
        """Open one of the export's files for reading.

        Raises:
            VerificationError: (seq 0) the file is not a regular file.
            OSError, and whatever a crafted zip raises (see _READ_ERRORS).
        """
        if self._zip is not None:
            return self._zip.open(name)
        target = self.path / name
        if target.is_symlink() or not target.is_file():
            raise VerificationError(0, f"{name} is not a regular file")
        return target.open("rb")

    def _read(self, name: str, cap: int) -> bytes:
        """Return the bytes of `name`, refusing more than `cap` of them.

        Raises:
            VerificationError: (seq 0) the file cannot be read or is too large.
        """
        try:
            with self._open(name) as handle:
                content = handle.read(cap + 1)
        except _READ_ERRORS as exc:
            raise VerificationError(0, f"cannot read {name}: {exc}") from exc
        if len(content) > cap:
            raise VerificationError(
                0, f"{name} holds more than the {cap} bytes allowed"
            )
        return content

    def count_events(self, budget: int = 1 << 30) -> int | None:
        """Return the number of lines in events.jsonl (for a progress bar).

        Counts newlines in chunks; gives up and returns None once `budget` bytes have
        been read, or when the file cannot be read (the verification says why).
        """
        count = read = 0
        try:
            with self._open("events.jsonl") as handle:
                while chunk := handle.read(_CHUNK):
                    count += chunk.count(b"\n")
                    read += len(chunk)
                    if read > budget:
                        return None
        except (VerificationError, *_READ_ERRORS):
            return None
        return count

    def event_lines(self) -> Generator[bytes, None, None]:
        """Yield each line of events.jsonl without its newline.

        Raises:
            VerificationError: a line is longer than MAX_EVENT_LINE (at its seq); the
                file does not end with a newline or cannot be read (seq 0).
        """
        return self._lines("events.jsonl", MAX_EVENT_LINE)

    def event_line_ranges(
        self, per: int
    ) -> tuple[LineRanges, VerificationError | None] | None:
        """Scan a folder's events.jsonl once, as `event_lines` reads it, for where each
        run of `per` lines starts, so that workers can read their own runs.

        Returns the ranges of the lines `event_lines` would yield and the error it
        would raise after them (None when it would raise none); None for a zip, whose
        lines are read in order.
        """
        if self._zip is not None:
            return None
        name = "events.jsonl"
        target = self.path / name
        starts: list[int] = []
        seq = 0  # lines passed
        offset = 0  # where the next line starts
        error: VerificationError | None = None
        lines = self._lines(name, MAX_EVENT_LINE)
        try:
            for line in lines:
                if seq % per == 0:
                    starts.append(offset)
                seq += 1
                offset += len(line) + 1
        except VerificationError as exc:
            error = exc
        finally:
            lines.close()
        end = offset  # a last line without its newline ends at the end of the file
        try:
            end = min(offset, target.stat().st_size)
        except OSError as exc:
            error = error or VerificationError(0, f"cannot read {name}: {exc}")
        return LineRanges(str(target), per, tuple(starts), end, seq), error

    def proof_lines(self) -> Generator[bytes, None, None]:
        """Yield each line of a partial export's proofs.jsonl without its newline.

        Raises:
            VerificationError: as `event_lines` (the number is the line's).
        """
        return self._lines(PROOFS, MAX_PROOF_LINE)

    def manifest(self) -> bytes:
        """Return the bytes of a partial export's manifest.json.

        Raises:
            VerificationError: (seq 0) it cannot be read or exceeds MAX_MANIFEST.
        """
        return self._read(MANIFEST, MAX_MANIFEST)

    def _lines(self, name: str, cap: int) -> Generator[bytes, None, None]:
        seq = 0
        rest = b""
        try:
            with self._open(name) as handle:
                while chunk := handle.read(_CHUNK):
                    lines = (rest + chunk).split(b"\n")
                    rest = lines.pop()
                    for line in lines:
                        seq += 1
                        if len(line) > cap:
                            raise _line_too_long(seq, name, cap)
                        yield line
                    if len(rest) > cap:
                        raise _line_too_long(seq + 1, name, cap)
        except _READ_ERRORS as exc:
            raise VerificationError(0, f"cannot read {name}: {exc}") from exc
        if rest:
            yield rest
            raise VerificationError(0, f"{name} does not end with a newline")

    def checkpoint(self) -> str | None:
        """Return the checkpoint note text, or None when the export has none.

        Raises:
            VerificationError: (seq 0) it cannot be read or exceeds MAX_CHECKPOINT.
        """
        if not self._exists("checkpoint"):
            return None
        return self._read("checkpoint", MAX_CHECKPOINT).decode(
            "utf-8", errors="replace"
        )

    def has_blobs(self) -> bool:
        """Return whether the export carries a blobs/ folder."""
        if self._zip is not None:
            return any(n.startswith("blobs/") for n in self._zip.namelist())
        return (self.path / "blobs").is_dir()

    def blob_names(self) -> list[str]:
        """Return the file names inside blobs/."""
        if self._zip is not None:
            return sorted(
                n.removeprefix("blobs/")
                for n in self._zip.namelist()
                if n.startswith("blobs/") and n != "blobs/"
            )
        folder = self.path / "blobs"
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []

    def blob(self, name: str) -> bytes:
        """Return the bytes of blobs/<name>.

        Raises:
            VerificationError: (seq 0) it cannot be read or exceeds MAX_BLOB.
        """
        return self._read(f"blobs/{name}", MAX_BLOB)

    def blob_digest(self, name: str) -> tuple[str, int]:
        """Return the hex SHA-256 and the size of blobs/<name>, read in chunks.

        Raises:
            VerificationError: (seq 0) it cannot be read or exceeds MAX_BLOB.
        """
        digest = hashlib.sha256()
        size = 0
        try:
            with self._open(f"blobs/{name}") as handle:
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    if size > MAX_BLOB:
                        raise VerificationError(
                            0,
                            f"blobs/{name} holds more than the {MAX_BLOB} bytes allowed",
                        )
                    digest.update(chunk)
        except _READ_ERRORS as exc:
            raise VerificationError(0, f"cannot read blobs/{name}: {exc}") from exc
        return digest.hexdigest(), size


@dataclass(frozen=True, slots=True)
class LineRanges:
    """Where each run of `per` lines of a file starts: a verifier's row source
    (`verify.chunks.RowSource`) that workers can be sent, each reading its own run.

    `starts[k]` is the byte offset of line `1 + k * per`; `end` the offset after the
    last line's bytes; `lines` the number of lines (a last one without its newline
    included).
    """

    path: str
    per: int
    starts: tuple[int, ...]
    end: int
    lines: int

    def __call__(self, first: int, last: int) -> tuple[list[bytes], list[object]]:
        """Return lines first..last (a run's first line to, at most, its last), and
        no stored copies.

        Raises:
            VerificationError: at `first`: the file changed since it was scanned, or
                cannot be read.
        """
        run = (first - 1) // self.per
        if (first - 1) % self.per or not 0 <= run < len(self.starts):
            raise ValueError(f"line {first} does not start a run of {self.per}")
        start = self.starts[run]
        stop = self.starts[run + 1] if run + 1 < len(self.starts) else self.end
        try:
            with open(self.path, "rb") as handle:
                handle.seek(start)
                block = handle.read(stop - start)
        except OSError as exc:
            raise VerificationError(first, f"cannot read events.jsonl: {exc}") from exc
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()  # the empty string after the last newline
        lines = lines[: last - first + 1]
        if (
            len(block) != stop - start
            or len(lines) != min(last, self.lines) - first + 1
        ):
            raise VerificationError(first, "events.jsonl changed while it was read")
        return lines, []


def _line_too_long(seq: int, name: str, cap: int) -> VerificationError:
    if name == "events.jsonl":
        return VerificationError(
            seq, f"line is longer than the {cap} bytes an event may take"
        )
    return VerificationError(
        0, f"line {seq} of {name} is longer than the {cap} bytes allowed"
    )
