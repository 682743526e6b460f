"""Writing exports: what is published always verifies."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledger.errors import EventRejectedError, StorageError
from ledger.integrity.envelope import NewEvent
from ledger.integrity.verify import verify_export
from ledger.store import EventStore
from ledger.store.export import write_export


def _attach(store: EventStore, content: bytes, *, keep: bool = True) -> None:
    digest = store.put_blob(content) if keep else hashlib.sha256(content).hexdigest()
    ref = {
        "blob": digest,
        "size": len(content),
        "name": "qp.txt",
        "media_type": "text/plain",
    }
    store.append(
        [
            NewEvent(
                stream="document/QP-01",
                type="document.drafted",
                data={"content": ref},
                actor="u-alice",
            )
        ]
    )


@pytest.mark.parametrize("as_zip", [False, True])
def test_export_verifies_with_the_genesis_key(
    store: EventStore, tmp_path: Path, as_zip: bool
) -> None:
    _attach(store, b"QP-01 revision A")
    out = tmp_path / ("e.zip" if as_zip else "e")
    summary = write_export(store, out, as_zip=as_zip)
    result = verify_export(out, trusted_key_id=store.signer.key_id)
    assert (summary.size, summary.blobs, result.blobs_checked) == (store.size(), 1, 1)


def test_an_export_that_would_not_verify_is_not_published(
    store: EventStore, tmp_path: Path
) -> None:
    _attach(store, b"bytes the store never received", keep=False)
    exports = tmp_path / "exports"
    with pytest.raises(StorageError, match="is missing from blobs/"):
        write_export(store, exports / "e")
    assert list(exports.iterdir()) == []


def test_an_existing_target_is_refused(store: EventStore, tmp_path: Path) -> None:
    (tmp_path / "e").mkdir()
    with pytest.raises(EventRejectedError, match="exists already"):
        write_export(store, tmp_path / "e")
