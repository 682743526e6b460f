"""RFC 9162 section 2.1 Merkle tree hashing, inclusion and consistency proofs. Pure.

A tree is addressed through perfect subtrees: node (level, index) covers leaves
[index * 2**level, (index + 1) * 2**level). Proof generation takes a function that
returns the hash of such a node, so a store can serve any proof from O(log n)
stored nodes; `needed_nodes` says which nodes a proof will ask for, so they can be
fetched in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeGetter = Callable[[int, int], bytes]
Range = tuple[int, int]


def leaf_hash(leaf: bytes) -> bytes:
    """Return SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """Return the largest power of two strictly smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """Return the perfect nodes (level, index) whose hashes make MTH(D[start:end]).

    `start` must be aligned as RFC 9162's recursion aligns it (every range a proof
    uses is). The nodes are listed left to right.
    """
    out: list[tuple[int, int]] = []
    while start < end:
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            out.append((size.bit_length() - 1, start // size))
            break
        k = _split(size)
        out.append((k.bit_length() - 1, start // k))
        start += k
    return out


def range_hash(start: int, end: int, node: NodeGetter) -> bytes:
    """Return MTH(D[start:end]) from perfect-node hashes."""
    if end <= start:
        return EMPTY_ROOT
    peaks = [node(level, index) for level, index in perfect_nodes(start, end)]
    acc = peaks[-1]
    for peak in reversed(peaks[:-1]):
        acc = node_hash(peak, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Return the leaf ranges whose MTHs form PATH(index, D[size]), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """Return the leaf ranges whose MTHs form PROOF(size1, D[size2])."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    out: list[Range] = []
    lo, hi, m, complete = 0, size2, size1, True
    while True:
        if m == hi - lo:
            if not complete:
                out.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def needed_nodes(ranges: Iterable[Range]) -> set[tuple[int, int]]:
    """Return every perfect node the given ranges are made of."""
    return {n for start, end in ranges for n in perfect_nodes(start, end)}


def inclusion_proof(index: int, size: int, node: NodeGetter) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf `index` in the tree of `size`."""
    return [range_hash(s, e, node) for s, e in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, node: NodeGetter) -> list[bytes]:
    """Return the RFC 9162 consistency proof from `size1` to `size2`."""
    return [range_hash(s, e, node) for s, e in consistency_ranges(size1, size2)]


def root_from_leaves(leaves: Iterable[bytes]) -> bytes:
    """Return MTH over the given leaf data (event hashes)."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof as RFC 9162 section 2.1.3.2 says; `leaf` is the leaf data."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """Check a consistency proof as RFC 9162 section 2.1.4.2 says.

    The trivial cases are accepted with an empty proof only: size1 == size2 with equal
    roots, and size1 == 0.
    """
    if size1 < 0 or size1 > size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


class Frontier:
    """The right edge of a growing tree: one perfect subtree per set bit of its size.

    `append` returns every node it completes, leaf included, as (level, index, hash),
    which is exactly what a store keeps.
    """

    __slots__ = ("_peaks", "size")

    def __init__(self, size: int = 0, peaks: Sequence[bytes] = ()) -> None:
        if len(peaks) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} peaks")
        self.size = size
        self._peaks = list(peaks)  # left (highest level) to right

    @staticmethod
    def peak_nodes(size: int) -> list[tuple[int, int]]:
        """Return the (level, index) of each peak of a tree of `size`, left to right."""
        return perfect_nodes(0, size) if size else []

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add leaf data (an event hash); return the nodes it completes."""
        index = self.size
        h = leaf_hash(leaf)
        done = [(0, index, h)]
        level = 0
        while (index >> level) & 1:
            h = node_hash(self._peaks.pop(), h)
            level += 1
            done.append((level, index >> level, h))
        self._peaks.append(h)
        self.size += 1
        return done

    def push(self, leaf: bytes) -> None:
        """Add a leaf by its leaf hash (`leaf_hash` of the event hash), as `append`
        does, without listing the nodes it completes (a verifier needs only the root)."""
        index = self.size
        h = leaf
        while index & 1:
            h = node_hash(self._peaks.pop(), h)
            index >>= 1
        self._peaks.append(h)
        self.size += 1

    def peaks(self) -> list[bytes]:
        """Return the peak hashes, left to right."""
        return list(self._peaks)

    def root(self) -> bytes:
        """Return MTH of the tree so far."""
        if not self._peaks:
            return EMPTY_ROOT
        acc = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc

    def copy(self) -> Frontier:
        """Return an independent copy."""
        return Frontier(self.size, self._peaks)
