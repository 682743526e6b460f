"""An independent reading of C2SP tlog-tiles, for tests: paths, and a tree root rebuilt
from tiles fetched one by one, written from the spec without the code under test.

https://c2sp.org/tlog-tiles: tile (L, N) holds the hashes at height 8*L with indexes
256*N .. 256*N+255; the rightmost tile of a level in a tree of size s has width
(s >> 8*L) - 256*N when that is below 256, and is then read at `<path>.p/<width>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

Fetch = Callable[[str], bytes]


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(bytes([0]) + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(bytes([1]) + left + right).digest()


def mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 MTH over already-hashed leaves, by its recursive definition."""
    n = len(hashes)
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def n_path(index: int) -> str:
    """N as zero-padded groups of three digits, all but the last prefixed with x."""
    digits = str(index)
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + groups[-1:])


def path(level: int | str, index: int, width: int = 256) -> str:
    """`tile/<L>/<N>` or `tile/<L>/<N>.p/<W>` (L may be `entries`)."""
    return f"tile/{level}/{n_path(index)}" + ("" if width == 256 else f".p/{width}")


def width_in(level: int, index: int, size: int) -> int:
    """The width of tile (level, index) in the tree of `size`, 0 when absent."""
    count = size // 256**level
    return max(0, min(256, count - 256 * index))


class TileReader:
    """Hashes of the tree of one size, read from tiles (each fetched once)."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self.fetch = fetch
        self.size = size
        self.fetched: dict[str, list[bytes]] = {}

    def tile(self, level: int, index: int) -> list[bytes]:
        width = width_in(level, index, self.size)
        assert width > 0, f"tile {level}/{index} is not in a tree of {self.size}"
        where = path(level, index, width)
        if where not in self.fetched:
            data = self.fetch(where)
            assert len(data) == 32 * width, f"{where}: {len(data)} bytes"
            self.fetched[where] = [data[i : i + 32] for i in range(0, len(data), 32)]
        return self.fetched[where]

    def subtree(self, height: int, index: int) -> bytes:
        """The hash of the perfect subtree of 2**height leaves number `index`."""
        level, rest = divmod(height, 8)
        first = index << rest  # its first node at height 8*level
        hashes = self.tile(level, first // 256)
        start = first % 256
        return mth(hashes[start : start + (1 << rest)])

    def root(self) -> bytes:
        """MTH of the tree: its perfect subtrees, largest (leftmost) first, folded."""
        peaks: list[bytes] = []
        start = 0
        for height in range(self.size.bit_length() - 1, -1, -1):
            if self.size >> height & 1:
                peaks.append(self.subtree(height, start >> height))
                start += 1 << height
        acc = peaks.pop()
        while peaks:
            acc = node(peaks.pop(), acc)
        return acc


def bundle_entries(data: bytes) -> list[bytes]:
    """The entries of an entry bundle: 2-byte big-endian length, then the bytes."""
    out = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 2], "big")
        out.append(data[pos + 2 : pos + 2 + length])
        assert len(out[-1]) == length, "truncated entry bundle"
        pos += 2 + length
    return out
