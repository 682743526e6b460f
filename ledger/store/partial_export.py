"""Writing a partial export (docs/ledger-format.md, "Partial export") from the store.

A partial export holds the streams a caller names (the records of some units, as the
read side knows them) as far as a period reaches: every stream with an event recorded
in the period, from version 1 to its last event recorded before the period's end, so
the certifier can check that no version is missing. With them go the streams
`ledger/keys` and `ledger/blobs` whole up to the checkpoint (the keys that sign and
their revocations, the blob disposals), each event's inclusion proof against that one
checkpoint (the latest, signed at export time), the checkpoint itself, a manifest of
the scope and the blobs the events reference.

`iter_partial_export` yields the files one by one as chunks of bytes, so a web view
can stream them into a zip (`stream_partial_zip`, a download whose memory stays
flat); `write_partial_zip` writes that zip into a file and
`write_partial_export` the command line's folder or zip, verified before it is put in
place. Everything is read through indexes: the (stream, version) index for the
streams, stored Merkle nodes for the proofs, in batches; no event outside the scope
is read.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from pathlib import Path
from typing import IO, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ledger.errors import (
    EventRejectedError,
    NotFoundError,
    StorageError,
    VerificationError,
)
from ledger.integrity import merkle
from ledger.integrity.blobs import blob_refs
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.envelope import format_time
from ledger.integrity.export_reader import MANIFEST, PROOFS
from ledger.integrity.verify.partial import (
    KEY_STREAMS,
    PARTIAL_FORMAT,
    verify_partial_export,
)
from ledger.store import EventStore
from ledger.store.engine import storage_errors
from ledger.store.export import export_checkpoint
from ledger.store.export_zip import stream_files_zip
from ledger.store.tables import events, merkle_nodes

_STREAM_CHUNK: Final = 500  # streams per IN list
_EVENT_BATCH: Final = 1000  # events whose proofs are built together
_NODE_CHUNK: Final = 900  # node indexes of one level per IN list

FileChunks = tuple[str, Iterable[bytes]]
"""A file of the export: its name inside the export and its bytes, in chunks."""


@dataclass(frozen=True, slots=True)
class PartialScope:
    """What a partial export covers: the units (as stated) and their record streams.

    `start` and `end` are days, both included, in UTC: events recorded from `start`
    00:00 UTC until before the day after `end`.
    """

    unit: str
    subtree: bool
    units: tuple[str, ...]
    streams: tuple[str, ...]
    start: date
    end: date

    @property
    def recorded_from(self) -> str:
        """The first instant of the period, in the ledger's time format."""
        return format_time(datetime.combine(self.start, time(), UTC))

    @property
    def recorded_before(self) -> str:
        """The first instant after the period."""
        return format_time(datetime.combine(self.end + timedelta(days=1), time(), UTC))


@dataclass(frozen=True, slots=True)
class PartialSummary:
    """What a written partial export holds."""

    path: Path
    events: int
    streams: int
    checkpoint_size: int


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _STREAM_CHUNK):
        yield items[start : start + _STREAM_CHUNK]


def _select(
    connection: Connection, scope: PartialScope, size: int
) -> tuple[dict[str, int], list[int]]:
    """Return (stream -> last version, the seqs to export, ascending).

    One pass over the scope's streams through the (stream, version) index: a record
    stream counts when an event up to `size` was recorded in the period, and
    contributes its versions 1.. up to its last event recorded before the period's
    end; the key streams contribute every event up to `size`.
    """
    since, before = scope.recorded_from, scope.recorded_before
    ends: dict[str, int] = {}
    seqs: list[int] = []
    record_streams = sorted(set(scope.streams) - set(KEY_STREAMS))
    chunks = [*_chunks(record_streams), KEY_STREAMS]
    for number, chunk in enumerate(chunks):
        keys = number == len(chunks) - 1
        rows = connection.execute(
            select(
                events.c.stream, events.c.version, events.c.seq, events.c.recorded_at
            ).where(events.c.stream.in_(chunk), events.c.seq <= size)
        )
        found: dict[str, list[tuple[int, int]]] = {}
        touched: set[str] = set()
        for stream, version, seq, recorded_at in rows:
            if keys or recorded_at < before:
                found.setdefault(str(stream), []).append((int(version), int(seq)))
                if keys or recorded_at >= since:
                    touched.add(str(stream))
        for stream in touched:
            versions = found[stream]
            ends[stream] = max(v for v, _ in versions)
            seqs.extend(seq for _, seq in versions)
    return ends, sorted(seqs)


def _fetch_nodes(
    connection: Connection, wanted: set[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Return the stored Merkle nodes `wanted`, level by level: one primary-key IN
    list per level and chunk (one compiled statement, however many nodes).

    Raises:
        VerificationError: (seq 0) a wanted node is missing.
    """
    by_level: dict[int, list[int]] = {}
    for level, idx in wanted:
        by_level.setdefault(level, []).append(idx)
    found: dict[tuple[int, int], bytes] = {}
    for level, indexes in sorted(by_level.items()):
        indexes.sort()
        for start in range(0, len(indexes), _NODE_CHUNK):
            query = select(merkle_nodes.c.idx, merkle_nodes.c.hash).where(
                merkle_nodes.c.level == level,
                merkle_nodes.c.idx.in_(indexes[start : start + _NODE_CHUNK]),
            )
            for idx, node in connection.execute(query):
                found[(level, int(idx))] = bytes(node)
    if len(found) != len(wanted):
        level, idx = min(wanted - set(found))
        raise VerificationError(
            0, f"Merkle node (level {level}, index {idx}) is missing"
        )
    return found


def _batch_lines(
    connection: Connection, seqs: Sequence[int], size: int
) -> tuple[list[bytes], list[bytes]]:
    """Return the event lines and proof lines of `seqs`, from stored nodes at once."""
    rows = connection.execute(
        select(events.c.seq, events.c.envelope)
        .where(events.c.seq.in_(seqs))
        .order_by(events.c.seq)
    ).all()
    wanted: set[tuple[int, int]] = set()
    for seq in seqs:
        wanted |= merkle.needed_nodes(merkle.inclusion_ranges(seq - 1, size))
    nodes = _fetch_nodes(connection, wanted)
    event_lines, proof_lines = [], []
    for seq, envelope in rows:
        proof = merkle.inclusion_proof(
            int(seq) - 1, size, lambda level, idx: nodes[(level, idx)]
        )
        event_lines.append(str(envelope).encode() + b"\n")
        proof_lines.append(
            json.dumps(
                {"seq": int(seq), "hashes": [h.hex() for h in proof]},
                separators=(",", ":"),
            ).encode()
            + b"\n"
        )
    return event_lines, proof_lines


def iter_partial_export(store: EventStore, scope: PartialScope) -> Iterator[FileChunks]:
    """Yield the files of a partial export of `scope`: (name, chunks of bytes).

    The checkpoint is the latest, signed now (or the latest stored, without the
    service key). Files come in this order: `checkpoint`, `manifest.json`,
    `events.jsonl`, `proofs.jsonl`, then `blobs/<sha256>`; consume each file's
    chunks before asking for the next file.

    Raises:
        EventRejectedError: the period ends before it starts.
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
        StorageError: the database failed.
    """
    if scope.end < scope.start:
        raise EventRejectedError(
            f"the period ends ({scope.end}) before it starts ({scope.start})",
            {"to": ["must not be before from"]},
        )
    note = export_checkpoint(store)
    checkpoint = parse_note(note)[0]
    size = checkpoint.size
    with storage_errors("reading a partial export"), store.engine.connect() as conn:
        ends, seqs = _select(conn, scope, size)
    manifest = {
        "format": PARTIAL_FORMAT,
        "origin": checkpoint.origin,
        "checkpoint": {
            "size": size,
            "root": base64.b64encode(checkpoint.root).decode(),
        },
        "scope": {
            "unit": scope.unit,
            "subtree": scope.subtree,
            "units": sorted(scope.units),
            "from": scope.start.isoformat(),
            "to": scope.end.isoformat(),
            "recorded_from": scope.recorded_from,
            "recorded_before": scope.recorded_before,
        },
        "streams": [
            {"stream": s, "first_version": 1, "last_version": v}
            for s, v in sorted(ends.items())
        ],
        "events": len(seqs),
    }
    yield "checkpoint", [note.encode()]
    yield MANIFEST, [json.dumps(manifest, indent=1, ensure_ascii=False).encode()]
    proofs: list[bytes] = []
    digests: set[str] = set()

    def event_chunks() -> Iterator[bytes]:
        for start in range(0, len(seqs), _EVENT_BATCH):
            batch = seqs[start : start + _EVENT_BATCH]
            with (
                storage_errors("reading a partial export"),
                store.engine.connect() as conn,
            ):
                lines, proof_lines = _batch_lines(conn, batch, size)
            proofs.extend(proof_lines)
            for line in lines:
                if b'"blob"' in line:
                    data = json.loads(line)["data"]
                    digests.update(str(ref["blob"]) for _, ref in blob_refs(data))
            yield b"".join(lines)

    def proof_chunks() -> Iterator[bytes]:
        if len(proofs) != len(seqs):
            raise RuntimeError("read events.jsonl to its end before proofs.jsonl")
        for start in range(0, len(proofs), _EVENT_BATCH):
            yield b"".join(proofs[start : start + _EVENT_BATCH])

    yield "events.jsonl", event_chunks()
    yield PROOFS, proof_chunks()
    for digest in sorted(digests):
        try:
            content = store.get_blob(digest)
        except NotFoundError:  # disposed: the disposal is in ledger/blobs
            continue
        yield f"blobs/{digest}", [content]


def stream_partial_zip(store: EventStore, scope: PartialScope) -> Iterator[bytes]:
    """Return the partial export of `scope` as zip chunks, for a download.

    The checkpoint is signed and the scope's events are chosen before the first
    byte, so a failure there is raised here, not in the middle of a download.

    Raises:
        EventRejectedError: the period ends before it starts.
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
        StorageError: the database failed.
    """
    files = iter_partial_export(store, scope)
    first = next(files)  # the checkpoint: the whole selection is made by now
    return stream_files_zip(chain([first], files))


def write_partial_zip(files: Iterable[FileChunks], handle: IO[bytes]) -> None:
    """Write the files of `iter_partial_export` as a zip into `handle` (which may be
    a stream that cannot seek, such as an HTTP response)."""
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in files:
            with archive.open(name, "w", force_zip64=True) as entry:
                for chunk in chunks:
                    entry.write(chunk)


def _write_folder(files: Iterable[FileChunks], folder: Path) -> None:
    for name, chunks in files:
        target = folder / name
        target.parent.mkdir(exist_ok=True)
        with target.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)


def write_partial_export(
    store: EventStore, scope: PartialScope, out: Path, *, as_zip: bool = False
) -> PartialSummary:
    """Write a partial export of `scope` to the folder (or zip) `out`, verified.

    Raises:
        EventRejectedError: `out` exists already, or the period is reversed.
        KeyMaterialError: no key to sign a checkpoint with, and none is stored.
        StorageError: the export does not verify, or cannot be written; nothing is
            left behind.
    """
    if out.exists():
        raise EventRejectedError(f"{out} exists already", {"out": ["exists already"]})
    genesis = next(store.read(1, 1))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".qms-partial-", dir=out.parent))
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    target = work / ("export.zip" if as_zip else "export")
    try:
        files = iter_partial_export(store, scope)
        if as_zip:
            with target.open("wb") as handle:
                write_partial_zip(files, handle)
        else:
            target.mkdir()
            _write_folder(files, target)
        try:
            result = verify_partial_export(target, trusted_key_id=genesis.key)
        except VerificationError as exc:
            raise StorageError(
                f"the partial export does not verify ({exc}); nothing was written"
            ) from exc
        os.replace(target, out)
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return PartialSummary(out, result.events, len(result.streams), result.head.size)
