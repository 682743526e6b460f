"""Reading an export (docs/ledger-format.md section 6) from a folder or a zip. Pure.

Only the standard library: a certifier's verifier reads exports with nothing else.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ledger.errors import VerificationError

_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(slots=True)
class ExportReader:
    """An opened export: event lines, the checkpoint and the blobs, folder or zip alike."""

    path: Path
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: Path) -> ExportReader:
        """Open an export folder or zip file.

        Raises:
            VerificationError: (seq 0) the path is neither, or `events.jsonl` is missing.
        """
        if path.is_dir():
            reader = cls(path)
        elif zipfile.is_zipfile(path):
            try:
                archive = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise VerificationError(0, f"cannot open {path}: {exc}") from exc
            seen: set[str] = set()
            for name in archive.namelist():
                if name in seen:
                    archive.close()
                    raise VerificationError(
                        0,
                        f"the zip holds two entries named {name}: which one is the export?",
                    )
                seen.add(name)
            reader = cls(path, archive)
        else:
            raise VerificationError(
                0, f"{path} is neither an export folder nor a zip file"
            )
        if not reader._exists("events.jsonl"):
            raise VerificationError(0, "export has no events.jsonl")
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

    def _read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            target = self.path / name
            if target.is_symlink() or not target.is_file():
                raise VerificationError(0, f"{name} is not a regular file")
            return target.read_bytes()
        except (zipfile.BadZipFile, OSError, RuntimeError, zlib.error) as exc:
            raise VerificationError(0, f"cannot read {name}: {exc}") from exc

    def count_events(self) -> int:
        """Return the number of lines in events.jsonl (for a progress bar)."""
        return sum(1 for _ in self.event_lines())

    def event_lines(self) -> Iterator[bytes]:
        """Yield each line of events.jsonl without its newline.

        Raises:
            VerificationError: (seq 0) the file does not end with a newline.
        """
        try:
            if self._zip is not None:
                handle = self._zip.open("events.jsonl")
            else:
                handle = (self.path / "events.jsonl").open("rb")
            with handle:
                last = b"\n"
                for raw in handle:
                    last = raw
                    yield raw.rstrip(b"\n")
        except (zipfile.BadZipFile, OSError, RuntimeError, zlib.error) as exc:
            raise VerificationError(0, f"cannot read events.jsonl: {exc}") from exc
        if not last.endswith(b"\n"):
            raise VerificationError(0, "events.jsonl does not end with a newline")

    def checkpoint(self) -> str | None:
        """Return the checkpoint note text, or None when the export has none."""
        if not self._exists("checkpoint"):
            return None
        return self._read("checkpoint").decode("utf-8", errors="replace")

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
        """Return the bytes of blobs/<name>."""
        return self._read(f"blobs/{name}")


def is_digest(name: str) -> bool:
    """Return whether `name` is a lowercase hex SHA-256."""
    return bool(_DIGEST.fullmatch(name))
