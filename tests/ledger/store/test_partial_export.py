"""Writing a partial export: which events it holds, streamed as a zip, on both dialects."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import pytest

from ledger.clock import FixedClock
from ledger.errors import EventRejectedError, VerificationError
from ledger.integrity.envelope import NewEvent
from ledger.integrity.verify import verify_export, verify_partial_export
from ledger.store import EventStore
from ledger.store.partial_export import (
    PartialScope,
    iter_partial_export,
    stream_partial_zip,
    write_partial_export,
    write_partial_zip,
)


class _NoSeek(io.RawIOBase):
    """A binary stream that cannot seek, as an HTTP response body."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]  # buffer protocol
        self.data += b
        return len(b)


def _record(store: EventStore, stream: str, **data: object) -> None:
    store.append(
        [NewEvent(stream=stream, type="document.drafted", data=data, actor="u-a")]
    )


def _scope(*streams: str) -> PartialScope:
    return PartialScope(
        unit="BJ",
        subtree=True,
        units=("BJ",),
        streams=streams,
        start=date(2026, 2, 1),
        end=date(2026, 2, 28),
    )


@pytest.fixture
def ledger(store: EventStore, clock: FixedClock) -> EventStore:
    """Streams A and B begin in January; A and C move in February, A again in March."""
    digest = store.put_blob(b"QP-01 revision A")
    ref = {"blob": digest, "size": 16, "name": "qp.txt", "media_type": "text/plain"}
    _record(store, "document/A", content=ref)
    _record(store, "document/B", n=1)
    clock.advance(days=30)  # 2026-02-04
    _record(store, "document/A", n=2)
    _record(store, "document/C", n=1)
    clock.advance(days=30)  # 2026-03-06
    _record(store, "document/A", n=3)
    return store


def test_streams_touched_in_the_period_from_version_1_with_the_key_stream(
    ledger: EventStore,
) -> None:
    files = {
        name: b"".join(chunks)
        for name, chunks in iter_partial_export(
            ledger, _scope("document/A", "document/B")
        )
    }
    envelopes = [json.loads(line) for line in files["events.jsonl"].splitlines()]
    assert [(e["stream"], e["version"]) for e in envelopes] == [
        ("ledger/keys", 1),
        ("document/A", 1),
        ("document/A", 2),
    ]
    manifest = json.loads(files["manifest.json"])
    assert manifest["streams"] == [
        {"stream": "document/A", "first_version": 1, "last_version": 2},
        {"stream": "ledger/keys", "first_version": 1, "last_version": 1},
    ]
    assert manifest["checkpoint"]["size"] == ledger.size()
    assert len([n for n in files if n.startswith("blobs/")]) == 1
    proofs = [json.loads(line) for line in files["proofs.jsonl"].splitlines()]
    assert [p["seq"] for p in proofs] == [e["seq"] for e in envelopes]


def test_a_zip_streamed_to_a_stream_that_cannot_seek_verifies(
    ledger: EventStore, tmp_path: Path
) -> None:
    sink = _NoSeek()
    write_partial_zip(iter_partial_export(ledger, _scope("document/A")), sink)
    out = tmp_path / "p.zip"
    out.write_bytes(bytes(sink.data))
    assert zipfile.is_zipfile(out)
    result = verify_partial_export(out, trusted_key_id=ledger.signer.key_id)
    assert (result.events, result.blobs_checked) == (3, 1)
    assert dict(result.streams) == {"document/A": 2, "ledger/keys": 1}


def test_the_zip_for_a_download_is_handed_out_while_it_is_read(
    ledger: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger.append(
        [
            NewEvent(
                stream=f"document/D-{i}",
                type="document.drafted",
                data={"n": i},
                actor="u-a",
            )
            for i in range(2000)
        ]
    )
    streams = tuple(f"document/D-{i}" for i in range(2000))
    monkeypatch.setattr("ledger.store.export_zip.CHUNK", 4096)
    sizes, parts = [], []
    march = PartialScope(
        unit="BJ",
        subtree=True,
        units=("BJ",),
        streams=streams,
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    )
    for chunk in stream_partial_zip(ledger, march):
        sizes.append(len(chunk))
        parts.append(chunk)
    # Many chunks, none larger than CHUNK and what deflate keeps back between two
    # outputs: the zip is never held whole.
    assert len(sizes) >= 5
    assert max(sizes) < 4096 + 65536
    out = tmp_path / "p.zip"
    out.write_bytes(b"".join(parts))
    result = verify_partial_export(out, trusted_key_id=ledger.signer.key_id)
    assert result.events == 2000 + 1  # and the key stream


def test_a_reversed_period_is_refused_before_the_first_byte(
    ledger: EventStore,
) -> None:
    reversed_scope = PartialScope(
        unit="BJ",
        subtree=True,
        units=("BJ",),
        streams=("document/A",),
        start=date(2026, 3, 1),
        end=date(2026, 2, 1),
    )
    with pytest.raises(EventRejectedError, match="before it starts"):
        stream_partial_zip(ledger, reversed_scope)


def test_the_written_folder_verifies_and_a_reversed_period_is_refused(
    ledger: EventStore, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    summary = write_partial_export(ledger, _scope("document/C"), exports / "p")
    assert (summary.events, summary.streams) == (2, 2)
    reversed_scope = PartialScope(
        unit="BJ",
        subtree=True,
        units=("BJ",),
        streams=("document/C",),
        start=date(2026, 3, 1),
        end=date(2026, 2, 1),
    )
    with pytest.raises(EventRejectedError, match="before it starts"):
        write_partial_export(ledger, reversed_scope, exports / "q")
    assert [p.name for p in exports.iterdir()] == ["p"]


def test_a_partial_export_holds_only_its_files_and_is_not_a_full_export(
    ledger: EventStore, tmp_path: Path
) -> None:
    out = tmp_path / "exports" / "p"
    write_partial_export(ledger, _scope("document/A"), out)
    key = ledger.signer.key_id
    with pytest.raises(VerificationError, match="verified against its own checkpoint"):
        verify_export(out, trusted_key_id=key)
    (out / "notes.txt").write_text("hello\n")
    with pytest.raises(VerificationError) as info:
        verify_partial_export(out, trusted_key_id=key)
    assert info.value.reason == (
        "the partial export holds 'notes.txt'; it holds only manifest.json, "
        "events.jsonl, proofs.jsonl, checkpoint and blobs/<sha256>"
    )
    (out / "notes.txt").unlink()
    (out / "proofs.jsonl").unlink()
    with pytest.raises(VerificationError, match=r"export has no proofs\.jsonl"):
        verify_partial_export(out, trusted_key_id=key)
