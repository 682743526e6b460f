"""ledger.merkle: RFC 9162 tree heads, inclusion and consistency proofs.

The proofs are checked three ways: against a direct transcription of RFC 9162's
recursive definitions (MTH, PATH, PROOF/SUBPROOF) written below, by the module's own
verifiers, and against the spec's vector proofs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ledger.integrity import merkle
from ledger.integrity.chain import event_hash
from ledger.integrity.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    consistency_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    needed_nodes,
    node_hash,
    perfect_nodes,
    range_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 520
LEAVES = tuple(hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(MAX_SIZE))
SPEC_ROOT_52 = "jYTqEX86lqQBqAyL8MAQpX5u/qZqMCB0gvDs0vhiZZU="


# --- RFC 9162 section 2.1, transcribed literally --------------------------------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) over LEAVES (section 2.1.1)."""
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + LEAVES[lo]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(lo, lo + k) + ref_mth(lo + k, hi)).digest()


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """PATH(m, D[lo:hi]) (section 2.1.3.1)."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), ref_mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), ref_mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) (section 2.1.4.1)."""
    n = hi - lo
    if m == n:
        return [] if b else [ref_mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, b), ref_mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), ref_mth(lo, lo + k)]


def ref_proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m < n."""
    return ref_subproof(m, 0, n, True)


# --- the store's view: every completed node, built by a Frontier ----------------


def _all_nodes() -> dict[tuple[int, int], bytes]:
    frontier = Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for leaf in LEAVES:
        for level, index, digest in frontier.append(leaf):
            nodes[(level, index)] = digest
    return nodes


NODES = _all_nodes()


def node(level: int, index: int) -> bytes:
    return NODES[(level, index)]


def root(size: int) -> bytes:
    return ref_mth(0, size)


def flip(digest: bytes, bit: int) -> bytes:
    out = bytearray(digest)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 512))
    return size, draw(st.integers(0, size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(2, 512))
    return draw(st.integers(1, size2 - 1)), size2


# --- hashing ---------------------------------------------------------------------


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = LEAVES[0], LEAVES[1]
    assert leaf_hash(a) == hashlib.sha256(b"\x00" + a).digest()
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert leaf_hash(a + b) != node_hash(a, b)


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root_from_leaves([]) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT
    assert range_hash(5, 5, node) == EMPTY_ROOT


@given(st.integers(1, MAX_SIZE))
def test_root_equals_rfc_mth(size: int) -> None:
    assert root_from_leaves(LEAVES[:size]) == ref_mth(0, size)
    assert range_hash(0, size, node) == ref_mth(0, size)


def test_roots_of_sizes_1_to_8_are_built_as_the_rfc_draws_them() -> None:
    h = [leaf_hash(x) for x in LEAVES[:8]]
    assert root(1) == h[0]
    assert root(2) == node_hash(h[0], h[1])
    assert root(3) == node_hash(node_hash(h[0], h[1]), h[2])
    left4 = node_hash(node_hash(h[0], h[1]), node_hash(h[2], h[3]))
    assert root(4) == left4
    assert root(5) == node_hash(left4, h[4])
    assert root(7) == node_hash(left4, node_hash(node_hash(h[4], h[5]), h[6]))
    assert root(8) == node_hash(
        left4, node_hash(node_hash(h[4], h[5]), node_hash(h[6], h[7]))
    )
    for size in range(1, 9):
        assert root_from_leaves(LEAVES[:size]) == root(size)


# --- inclusion -------------------------------------------------------------------


@given(size_and_index())
def test_inclusion_proof_equals_rfc_path_and_verifies(case: tuple[int, int]) -> None:
    size, index = case
    proof = inclusion_proof(index, size, node)
    assert proof == ref_path(index, 0, size)
    assert verify_inclusion(LEAVES[index], index, size, proof, root(size))


@given(size_and_index())
def test_inclusion_proof_needs_only_the_nodes_it_names(case: tuple[int, int]) -> None:
    size, index = case
    wanted = needed_nodes(inclusion_ranges(index, size))
    subset = {n: NODES[n] for n in wanted}
    assert inclusion_proof(index, size, lambda lv, ix: subset[(lv, ix)]) == (
        inclusion_proof(index, size, node)
    )


@given(st.data(), size_and_index())
def test_inclusion_proof_with_a_flipped_bit_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    size, index = case
    proof = inclusion_proof(index, size, node)
    assume(proof)
    at = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    bad = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
    assert not verify_inclusion(LEAVES[index], index, size, bad, root(size))


@given(st.data(), size_and_index())
def test_inclusion_proof_of_another_leaf_or_root_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    size, index = case
    proof = inclusion_proof(index, size, node)
    bit = data.draw(st.integers(0, 255))
    assert not verify_inclusion(
        flip(LEAVES[index], bit), index, size, proof, root(size)
    )
    assert not verify_inclusion(
        LEAVES[index], index, size, proof, flip(root(size), bit)
    )


@given(st.data(), size_and_index())
def test_inclusion_proof_at_another_index_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    size, index = case
    assume(size > 1)
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    proof = inclusion_proof(index, size, node)
    assert not verify_inclusion(LEAVES[index], other, size, proof, root(size))


@given(st.data(), size_and_index())
def test_inclusion_proof_in_a_tree_of_another_size_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    """Claimed with the real root of the other size, as a signed checkpoint gives it."""
    size, index = case
    other = data.draw(st.integers(index + 1, MAX_SIZE).filter(lambda s: s != size))
    proof = inclusion_proof(index, size, node)
    assert not verify_inclusion(LEAVES[index], index, other, proof, root(other))


@given(size_and_index())
def test_inclusion_proof_with_a_hash_added_or_removed_fails(
    case: tuple[int, int],
) -> None:
    size, index = case
    proof = inclusion_proof(index, size, node)
    assert not verify_inclusion(
        LEAVES[index],
        index,
        size,
        [*proof, proof[-1] if proof else LEAVES[0]],
        root(size),
    )
    if proof:
        assert not verify_inclusion(LEAVES[index], index, size, proof[:-1], root(size))


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (5, 3), (-1, 4)])
def test_inclusion_index_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_ranges(index, size)
    assert not verify_inclusion(LEAVES[0], index, size, [], root(max(size, 1)))


def test_single_leaf_tree_has_an_empty_inclusion_proof() -> None:
    assert inclusion_proof(0, 1, node) == []
    assert verify_inclusion(LEAVES[0], 0, 1, [], leaf_hash(LEAVES[0]))
    assert not verify_inclusion(LEAVES[1], 0, 1, [], leaf_hash(LEAVES[0]))


def test_every_bit_of_every_inclusion_proof_matters_up_to_size_8() -> None:
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof(index, size, node)
            assert verify_inclusion(LEAVES[index], index, size, proof, root(size))
            for at in range(len(proof)):
                for bit in range(256):
                    bad = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
                    assert not verify_inclusion(
                        LEAVES[index], index, size, bad, root(size)
                    )


# --- consistency -----------------------------------------------------------------


@given(two_sizes())
def test_consistency_proof_equals_rfc_proof_and_verifies(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = consistency_proof(size1, size2, node)
    assert proof == ref_proof(size1, size2)
    assert verify_consistency(size1, size2, proof, root(size1), root(size2))


@given(two_sizes())
def test_consistency_proof_needs_only_the_nodes_it_names(case: tuple[int, int]) -> None:
    size1, size2 = case
    subset = {n: NODES[n] for n in needed_nodes(consistency_ranges(size1, size2))}
    assert consistency_proof(size1, size2, lambda lv, ix: subset[(lv, ix)]) == (
        consistency_proof(size1, size2, node)
    )


@given(st.data(), two_sizes())
def test_consistency_proof_with_a_flipped_bit_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    size1, size2 = case
    proof = consistency_proof(size1, size2, node)
    at = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    bad = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
    assert not verify_consistency(size1, size2, bad, root(size1), root(size2))


@given(st.data(), two_sizes())
def test_consistency_proof_against_a_forked_root_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    size1, size2 = case
    proof = consistency_proof(size1, size2, node)
    bit = data.draw(st.integers(0, 255))
    assert not verify_consistency(
        size1, size2, proof, flip(root(size1), bit), root(size2)
    )
    assert not verify_consistency(
        size1, size2, proof, root(size1), flip(root(size2), bit)
    )
    assert not verify_consistency(size1, size2, proof, root(size2), root(size1))


@given(st.data(), two_sizes())
def test_consistency_proof_for_other_sizes_fails(
    data: st.DataObject, case: tuple[int, int]
) -> None:
    """Claimed with the real roots of the other sizes, as checkpoints give them."""
    size1, size2 = case
    assume(size2 > 2)
    proof = consistency_proof(size1, size2, node)
    other1 = data.draw(st.integers(1, size2 - 1).filter(lambda s: s != size1))
    assert not verify_consistency(other1, size2, proof, root(other1), root(size2))
    other2 = data.draw(st.integers(size1 + 1, MAX_SIZE).filter(lambda s: s != size2))
    assert not verify_consistency(size1, other2, proof, root(size1), root(other2))


@given(two_sizes())
def test_consistency_proof_with_a_hash_added_or_removed_fails(
    case: tuple[int, int],
) -> None:
    size1, size2 = case
    proof = consistency_proof(size1, size2, node)
    r1, r2 = root(size1), root(size2)
    assert not verify_consistency(size1, size2, [*proof, proof[-1]], r1, r2)
    assert not verify_consistency(size1, size2, proof[:-1], r1, r2)
    assert not verify_consistency(size1, size2, [], r1, r2)


def test_every_bit_of_every_consistency_proof_matters_up_to_size_8() -> None:
    for size2 in range(2, 9):
        for size1 in range(1, size2):
            proof = consistency_proof(size1, size2, node)
            r1, r2 = root(size1), root(size2)
            assert verify_consistency(size1, size2, proof, r1, r2)
            for at in range(len(proof)):
                for bit in range(256):
                    bad = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
                    assert not verify_consistency(size1, size2, bad, r1, r2)


class TestConsistencyEdges:
    @pytest.mark.parametrize("size", [1, 2, 7, 52])
    def test_equal_sizes_need_an_empty_proof_and_equal_roots(self, size: int) -> None:
        assert consistency_ranges(size, size) == []
        assert consistency_proof(size, size, node) == []
        assert verify_consistency(size, size, [], root(size), root(size))
        assert not verify_consistency(size, size, [], root(size), root(size + 1))
        assert not verify_consistency(size, size, [root(size)], root(size), root(size))

    @pytest.mark.parametrize("size", [0, 1, 9])
    def test_from_the_empty_tree_needs_an_empty_proof(self, size: int) -> None:
        assert consistency_proof(0, size, node) == []
        assert verify_consistency(0, size, [], EMPTY_ROOT, root(size))
        assert not verify_consistency(0, size, [EMPTY_ROOT], EMPTY_ROOT, root(size))

    @pytest.mark.parametrize(("size1", "size2"), [(5, 4), (-1, 3), (1, 0)])
    def test_impossible_sizes(self, size1: int, size2: int) -> None:
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_ranges(size1, size2)
        assert not verify_consistency(size1, size2, [], root(1), root(1))


# --- frontier --------------------------------------------------------------------


def test_frontier_append_returns_exactly_the_completed_nodes() -> None:
    frontier = Frontier()
    for size in range(1, 200):
        done = frontier.append(LEAVES[size - 1])
        expected = []
        level = 0
        while size % (1 << level) == 0:
            expected.append((level, size // (1 << level) - 1))
            level += 1
        assert [(lv, ix) for lv, ix, _ in done] == expected
        for lv, ix, digest in done:
            assert digest == ref_mth(ix << lv, (ix + 1) << lv)
        assert frontier.size == size
        assert frontier.root() == root(size)
        assert frontier.peaks() == [NODES[n] for n in Frontier.peak_nodes(size)]


def test_frontier_resumes_from_its_peaks() -> None:
    for size in (0, 1, 6, 7, 8, 45):
        resumed = Frontier(size, [NODES[n] for n in Frontier.peak_nodes(size)])
        for leaf in LEAVES[size : size + 20]:
            resumed.append(leaf)
        assert resumed.root() == root(size + 20)


def test_frontier_copy_is_independent() -> None:
    frontier = Frontier()
    for leaf in LEAVES[:5]:
        frontier.append(leaf)
    copy = frontier.copy()
    copy.append(LEAVES[5])
    assert frontier.size == 5
    assert frontier.root() == root(5)
    assert copy.root() == root(6)


def test_frontier_refuses_the_wrong_number_of_peaks() -> None:
    with pytest.raises(ValueError, match="has 2 peaks"):
        Frontier(6, [LEAVES[0]])
    assert Frontier.peak_nodes(0) == []
    assert Frontier.peak_nodes(13) == [(3, 0), (2, 2), (0, 12)]


def test_perfect_nodes_cover_a_range_left_to_right() -> None:
    assert perfect_nodes(0, 8) == [(3, 0)]
    assert perfect_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert perfect_nodes(4, 7) == [(1, 2), (0, 6)]
    assert perfect_nodes(3, 3) == []


# --- the spec's vectors ----------------------------------------------------------


def _vector_leaves(path: Path) -> list[bytes]:
    lines = path.read_bytes().splitlines()
    return [bytes.fromhex(json.loads(line)["hash"]) for line in lines]


def _checkpoint_root(path: Path) -> tuple[int, bytes]:
    lines = path.read_text().split("\n")
    return int(lines[1]), base64.b64decode(lines[2])


@pytest.fixture(scope="module")
def spec_nodes(spec_vectors: Path) -> tuple[list[bytes], dict[tuple[int, int], bytes]]:
    leaves = _vector_leaves(spec_vectors / "valid" / "events.jsonl")
    frontier = Frontier()
    nodes = {}
    for leaf in leaves:
        nodes.update({(lv, ix): h for lv, ix, h in frontier.append(leaf)})
    return leaves, nodes


def test_spec_vector_root(
    spec_nodes: tuple[list[bytes], dict[tuple[int, int], bytes]], spec_vectors: Path
) -> None:
    leaves, _ = spec_nodes
    assert len(leaves) == 52
    assert base64.b64encode(root_from_leaves(leaves)).decode() == SPEC_ROOT_52
    assert _checkpoint_root(spec_vectors / "valid" / "checkpoint") == (
        52,
        base64.b64decode(SPEC_ROOT_52),
    )
    size, old_root = _checkpoint_root(spec_vectors / "valid-side" / "checkpoint.old")
    assert size == 40
    assert root_from_leaves(leaves[:40]) == old_root


def test_spec_inclusion_proof_verifies(
    spec_nodes: tuple[list[bytes], dict[tuple[int, int], bytes]], spec_vectors: Path
) -> None:
    leaves, nodes = spec_nodes
    proof_json = json.loads(
        (spec_vectors / "valid-side" / "inclusion.json").read_text()
    )
    index, size = proof_json["leaf_index"], proof_json["tree_size"]
    proof = [bytes.fromhex(h) for h in proof_json["hashes"]]
    assert (index, size) == (34, 52)
    spec_root = base64.b64decode(SPEC_ROOT_52)
    assert verify_inclusion(leaves[index], index, size, proof, spec_root)
    assert inclusion_proof(index, size, lambda lv, ix: nodes[(lv, ix)]) == proof
    assert not verify_inclusion(leaves[index + 1], index, size, proof, spec_root)
    assert not verify_inclusion(leaves[index], index + 1, size, proof, spec_root)


def test_spec_consistency_proof_verifies(
    spec_nodes: tuple[list[bytes], dict[tuple[int, int], bytes]], spec_vectors: Path
) -> None:
    _, nodes = spec_nodes
    proof_json = json.loads(
        (spec_vectors / "valid-side" / "consistency.json").read_text()
    )
    size1, size2 = proof_json["size1"], proof_json["size2"]
    proof = [bytes.fromhex(h) for h in proof_json["hashes"]]
    _, old_root = _checkpoint_root(spec_vectors / "valid-side" / "checkpoint.old")
    _, new_root = _checkpoint_root(spec_vectors / "valid" / "checkpoint")
    assert (size1, size2) == (40, 52)
    assert verify_consistency(size1, size2, proof, old_root, new_root)
    assert consistency_proof(size1, size2, lambda lv, ix: nodes[(lv, ix)]) == proof
    for at in range(len(proof)):
        bad = [*proof[:at], flip(proof[at], 7), *proof[at + 1 :]]
        assert not verify_consistency(size1, size2, bad, old_root, new_root)


@pytest.mark.parametrize(
    "folder",
    ["tamper-data", "tamper-delete_middle", "tamper-reorder", "tamper-wrong_prev"],
)
def test_spec_tampered_ledgers_do_not_reach_the_checkpoint_root(
    spec_vectors: Path, folder: str
) -> None:
    """The tree over the recomputed event hashes no longer has the signed root."""
    lines = (spec_vectors / folder / "events.jsonl").read_bytes().splitlines()
    leaves = [event_hash(json.loads(line)) for line in lines]
    assert base64.b64encode(root_from_leaves(leaves)).decode() != SPEC_ROOT_52


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=70))
def test_a_frontier_fed_leaf_hashes_gives_the_roots_of_one_fed_event_hashes(
    hashes: list[bytes],
) -> None:
    fed, pushed = merkle.Frontier(), merkle.Frontier()
    for digest in hashes:
        fed.append(digest)
        pushed.push(merkle.leaf_hash(digest))
        assert (pushed.size, pushed.root(), pushed.peaks()) == (
            fed.size,
            fed.root(),
            fed.peaks(),
        )
