"""A full export (docs/ledger-format.md section 6) as a zip written to a stream, for a download.

The same files as `write_export(..., as_zip=True)`: `events.jsonl` up to the
checkpoint the export ends at (`export_checkpoint`), that `checkpoint` and
`blobs/<sha256>`. The zip is produced piece by piece while the events are read page
by page, so memory stays flat however long the ledger is: `zipfile` writes to a
stream that cannot seek (with data descriptors after each entry), and what it has
written so far is handed out as the next chunk. `stream_files_zip` does the same
for any files given as (name, chunks of bytes), such as a partial export's.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ledger.integrity.checkpoint import parse_note
from ledger.store import EventStore
from ledger.store.export import export_checkpoint

CHUNK = 1 << 20  # hand out what the zip holds once it reaches about 1 MiB


class _Pipe:
    """A write-only, non-seekable file whose written bytes are taken out in chunks."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._held = 0
        self._offset = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._held += len(data)
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        """Nothing to flush: the bytes wait for `take`."""

    def close(self) -> None:
        """Nothing to close: the bytes wait for `take`."""

    def full(self) -> bool:
        return self._held >= CHUNK

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self._held = 0
        return data


@dataclass(frozen=True, slots=True)
class ZipExport:
    """A full export ready to stream: its size, its checkpoint and the bytes to come."""

    size: int
    checkpoint: str
    chunks: Iterator[bytes]


def stream_export_zip(store: EventStore) -> ZipExport:
    """Return the export of the ledger up to its latest checkpoint as zip chunks.

    The checkpoint is chosen (and signed, when the head has none yet) before the
    first byte, so a failure there is raised here, not in the middle of a download.

    Raises:
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
        StorageError: the database failed.
    """
    note = export_checkpoint(store)
    size = parse_note(note)[0].size
    return ZipExport(size, note, _chunks(store, note, size))


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16  # a regular file, as unzip tools expect
    return info


def _chunks(store: EventStore, note: str, size: int) -> Iterator[bytes]:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(_entry("events.jsonl"), "w", force_zip64=True) as handle:
            for line in store.read_lines(1, size):
                handle.write(line)
                handle.write(b"\n")
                if pipe.full():
                    yield pipe.take()
        archive.writestr(_entry("checkpoint"), note.encode("utf-8"))
        for digest, content in store.checked_blobs():
            with archive.open(_entry(f"blobs/{digest}"), "w", force_zip64=True) as blob:
                blob.write(content)
            if pipe.full():
                yield pipe.take()
    yield pipe.take()


def stream_files_zip(files: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    """Yield a zip of `files` (name, chunks of bytes) piece by piece, about `CHUNK`
    bytes at a time: each file's chunks are read while the zip is handed out."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in files:
            with archive.open(_entry(name), "w", force_zip64=True) as handle:
                for chunk in chunks:
                    view = memoryview(chunk)
                    for start in range(0, len(view), CHUNK):  # a large chunk in pieces
                        handle.write(view[start : start + CHUNK])
                        if pipe.full():
                            yield pipe.take()
    yield pipe.take()
