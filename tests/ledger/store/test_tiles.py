"""Hash tiles, entry bundles and proof files read from the stored tree, on both dialects."""

from __future__ import annotations

import pytest

from ledger.errors import EventRejectedError, NotFoundError
from ledger.integrity.checkpoint import verify_checkpoint
from ledger.integrity.signing import SigningKey
from ledger.integrity.tiles import TileRef, parse_path
from ledger.integrity.tlog_proof import verify_proof
from ledger.store import EventStore
from tests.support import tlog_tiles as tt
from tests.support.builders import chain_of


def _grow(store: EventStore, size: int) -> None:
    while (n := store.size()) < size:
        store.append(chain_of(min(500, size - n)))


def test_tiles_rebuild_the_root_of_every_checkpoint(
    store: EventStore, signer: SigningKey, origin: str
) -> None:
    for size in (1, 300, 513):
        _grow(store, size)
        store.checkpoint()

    def fetch(where: str) -> bytes:
        ref = parse_path(where)
        return store.entry_bundle(ref) if ref.entries else store.hash_tile(ref)

    for size in (1, 300, 513):
        note = store.checkpoint_for(size)
        assert note is not None
        checkpoint = verify_checkpoint(note, origin, [signer.public_raw])
        assert tt.TileReader(fetch, size).root() == checkpoint.root
    entries = tt.bundle_entries(fetch("tile/entries/001"))
    assert entries == [bytes.fromhex(e.hash) for e in store.read(257, 512)]
    assert fetch("tile/0/001") == b"".join(tt.leaf(e) for e in entries)


def test_partial_tiles_only_at_checkpointed_sizes(store: EventStore) -> None:
    _grow(store, 300)
    store.checkpoint()
    _grow(store, 310)
    assert len(store.hash_tile(TileRef(0, 1, 44))) == 44 * 32
    assert len(store.hash_tile(TileRef(1, 0, 1))) == 32  # the sizes 256..511
    for missing in (
        TileRef(0, 1, 54),
        TileRef(0, 1),
        TileRef(None, 1),
        TileRef(1, 0, 2),
    ):
        read = store.entry_bundle if missing.entries else store.hash_tile
        with pytest.raises(NotFoundError, match="no tile/"):
            read(missing)


def test_a_proof_file_against_the_latest_or_a_given_checkpoint(
    store: EventStore, signer: SigningKey, origin: str
) -> None:
    _grow(store, 40)
    store.checkpoint(20)
    leaf = bytes.fromhex(next(store.read(7, 7)).hash)
    proof, checkpoint = verify_proof(
        store.tlog_proof(7), leaf, origin, [signer.public_raw]
    )
    assert (proof.index, checkpoint.size) == (6, 40)
    _, earlier = verify_proof(
        store.tlog_proof(7, 20), leaf, origin, [signer.public_raw]
    )
    assert earlier.size == 20
    with pytest.raises(EventRejectedError, match="not in the tree of size 20"):
        store.tlog_proof(21, 20)
    with pytest.raises(NotFoundError):
        store.tlog_proof(41)


def test_without_a_key_the_latest_stored_checkpoint_is_used(
    store: EventStore, origin: str
) -> None:
    _grow(store, 10)
    note = store.checkpoint()
    _grow(store, 12)
    reader = EventStore(store.engine, None, origin)
    assert reader.latest_checkpoint() == note
    with pytest.raises(EventRejectedError, match="not in the tree of size 10"):
        reader.tlog_proof(11)
