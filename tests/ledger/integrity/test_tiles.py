"""Tile paths, entry bundles and tlog-proof files: the pure parts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import VerificationError
from ledger.integrity import tiles
from ledger.integrity.checkpoint import Checkpoint, sign_checkpoint
from ledger.integrity.merkle import Frontier, inclusion_proof
from ledger.integrity.signing import SigningKey
from ledger.integrity.tiles import TileRef
from ledger.integrity.tlog_proof import (
    TlogProof,
    format_proof,
    parse_proof,
    verify_proof,
)
from tests.support import tlog_tiles as tt
from tests.support.origin import ORIGIN


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        (TileRef(0, 0), "tile/0/000"),
        (TileRef(1, 1234067), "tile/1/x001/x234/067"),
        (TileRef(2, 1000, 7), "tile/2/x001/000.p/7"),
        (TileRef(None, 5, 255), "tile/entries/005.p/255"),
        (TileRef(63, 999), "tile/63/999"),
    ],
)
def test_paths_of_the_spec(ref: TileRef, path: str) -> None:
    assert ref.path() == path
    assert tiles.parse_path(path) == ref


@given(
    level=st.one_of(st.none(), st.integers(0, 63)),
    index=st.integers(0, 2**64 - 1),
    width=st.integers(1, 256),
)
def test_paths_round_trip_and_match_an_independent_writer(
    level: int | None, index: int, width: int
) -> None:
    ref = TileRef(level, index, width)
    assert ref.path() == tt.path("entries" if level is None else level, index, width)
    assert tiles.parse_path(ref.path()) == ref


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/0/x000/001",
        "tile/0/001/x002",
        "tile/0/x1/001",
        "tile/0/001.p/256",
        "tile/0/001.p/0",
        "tile/0/001.p/01",
        "tile/0/001.p",
        "tile/01/001",
        "tile/64/001",
        "tile/0",
        "tiles/0/001",
        "tile/0/001/",
        "tile/0/x018/x446/x744/x073/x709/x551/616",  # 2**64
    ],
)
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match=r"tile path|level|width|index"):
        tiles.parse_path(path)


def test_widths_in_a_tree() -> None:
    assert tiles.tile_width(0, 0, 255) == 255
    assert tiles.tile_width(0, 1, 256) == 0
    assert tiles.tile_width(1, 0, 70_000) == 256
    assert tiles.tile_width(1, 1, 70_000) == 17
    assert tiles.sizes_with_partial(TileRef(1, 1, 17)) == (69_888, 70_144)


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_bundles_round_trip(entries: list[bytes]) -> None:
    data = tiles.encode_bundle(entries)
    assert tiles.decode_bundle(data) == entries == tt.bundle_entries(data)


@pytest.mark.parametrize("data", [b"\x00", b"\x00\x20" + b"x" * 31])
def test_a_truncated_bundle_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match="truncated"):
        tiles.decode_bundle(data)


def _proof_of(index: int, size: int) -> tuple[str, bytes, SigningKey]:
    key = SigningKey.generate()
    leaves = [bytes([i % 256, i // 256]) * 16 for i in range(size)]
    frontier = Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in leaves:
        nodes.update({(lv, ix): h for lv, ix, h in frontier.append(leaf)})
    note = sign_checkpoint(Checkpoint(ORIGIN, size, frontier.root()), key)
    hashes = inclusion_proof(index, size, lambda lv, ix: nodes[(lv, ix)])
    text = format_proof(TlogProof(index, tuple(hashes), note))
    return text, leaves[index], key


def test_a_proof_file_verifies_and_reads_back() -> None:
    text, leaf, key = _proof_of(5, 13)
    proof, checkpoint = verify_proof(text, leaf, ORIGIN, [key.public_raw])
    assert (proof.index, len(proof.hashes), checkpoint.size) == (5, 4, 13)
    assert format_proof(parse_proof(text)) == text
    with_extra = TlogProof(proof.index, proof.hashes, proof.note, b"context")
    assert parse_proof(format_proof(with_extra)) == with_extra


def test_a_proof_file_of_another_key_or_leaf_fails() -> None:
    text, leaf, key = _proof_of(0, 1)
    assert text.startswith("c2sp.org/tlog-proof@v1\nindex 0\n\n")
    with pytest.raises(VerificationError, match="signed by no ledger key"):
        verify_proof(text, leaf, ORIGIN, [SigningKey.generate().public_raw])
    with pytest.raises(VerificationError, match="does not lead to the root"):
        verify_proof(text, b"\x01" * 32, ORIGIN, [key.public_raw])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("@v1", "@v0"), "first line"),
        (lambda t: t.replace("index 5", "index 05"), "index"),
        (lambda t: t.replace("index 5\n", "index 5\nnot-base64\n"), "proof line"),
        (lambda t: t.replace("\n\n", "\n", 1), "malformed"),
        (
            lambda t: t.replace(
                "c2sp.org/tlog-proof@v1\n", "c2sp.org/tlog-proof@v1\nextra %\n"
            ),
            "extra",
        ),
    ],
)
def test_malformed_proof_files_are_refused(
    change: Callable[[str], str], message: str
) -> None:
    text, leaf, key = _proof_of(5, 13)
    with pytest.raises(VerificationError, match=message):
        verify_proof(change(text), leaf, ORIGIN, [key.public_raw])
