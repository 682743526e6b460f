"""C2SP tlog-tiles: tile coordinates, their URL paths, and entry bundles. Pure.

The tree is cut into tiles of height 8: tile (L, N) holds the hashes of the nodes at
height 8*L with indexes N*256 .. N*256+255, so a level-0 tile holds 256 leaf hashes
and a level-1 tile the roots of 256 subtrees of 256 leaves. The rightmost tile of a
level is partial while the tree grows: its width W (1..255) is how many of those
nodes the tree of a given size has. Entry bundle N holds the leaves (not their
hashes) under level-0 tile N, each as a 2-byte big-endian length then its bytes.

Paths (https://c2sp.org/tlog-tiles): `tile/<L>/<N>[.p/<W>]` and
`tile/entries/<N>[.p/<W>]`, where N is written in groups of three digits, all but the
last prefixed with `x`: 1234067 is `x001/x234/067`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT  # 256 hashes in a full tile
MAX_LEVEL: Final = 63  # the spec's bound: a level fits in a tree of 2**64 leaves
HASH_SIZE: Final = 32

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_GROUP = re.compile(r"[0-9]{3}")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_MAX_INDEX: Final = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class TileRef:
    """A hash tile (`level` >= 0) or an entry bundle (`level` None) of `width` items."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def entries(self) -> bool:
        """Whether this names an entry bundle rather than a hash tile."""
        return self.level is None

    @property
    def partial(self) -> bool:
        """Whether this is a partial tile (fewer than 256 items)."""
        return self.width < TILE_WIDTH

    @property
    def node_level(self) -> int:
        """The Merkle level (height) of the nodes a hash tile holds; 0 for entries."""
        return TILE_HEIGHT * (self.level or 0)

    @property
    def first(self) -> int:
        """The index, at `node_level`, of the tile's first node (or leaf)."""
        return self.index * TILE_WIDTH

    def path(self) -> str:
        """Return the tile's path below the log's prefix, e.g. `tile/0/x001/234`."""
        level = "entries" if self.level is None else str(self.level)
        suffix = f".p/{self.width}" if self.partial else ""
        return f"tile/{level}/{format_index(self.index)}{suffix}"


def format_index(index: int) -> str:
    """Return N in the path form: three-digit groups, all but the last with `x`."""
    if not 0 <= index <= _MAX_INDEX:
        raise ValueError(f"tile index {index} is out of range")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_path(path: str) -> TileRef:
    """Parse `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (no leading slash).

    Only the canonical form is accepted: no leading zeros in L or W, no empty leading
    groups of N (`x000/...`), W between 1 and 255.

    Raises:
        ValueError: the path is not a tile path.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise ValueError(f"{path!r} is not a tile path")
    level: int | None
    if parts[1] == "entries":
        level = None
    elif _LEVEL.fullmatch(parts[1]) and int(parts[1]) <= MAX_LEVEL:
        level = int(parts[1])
    else:
        raise ValueError(f"{path!r}: the level is not a number from 0 to {MAX_LEVEL}")
    rest = parts[2:]
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise ValueError(f"{path!r}: a partial width is 1 to {TILE_WIDTH - 1}")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][:-2]]
    *upper, last = rest
    if not _GROUP.fullmatch(last) or not all(
        g.startswith("x") and _GROUP.fullmatch(g[1:]) for g in upper
    ):
        raise ValueError(f"{path!r}: the index is not in x001/x234/067 form")
    if upper and upper[0] == "x000":
        raise ValueError(f"{path!r}: the index has a leading zero group")
    index = int("".join(g.lstrip("x") for g in upper) + last)
    if index > _MAX_INDEX:
        raise ValueError(f"{path!r}: the index is out of range")
    return TileRef(level, index, width)


def level_width(level: int, size: int) -> int:
    """Return how many nodes at tile level `level` (height 8*level) a tree of `size` has."""
    return size >> (TILE_HEIGHT * level)


def tile_width(level: int, index: int, size: int) -> int:
    """Return the width of tile (level, index) in the tree of `size` (0: not in it)."""
    return max(0, min(TILE_WIDTH, level_width(level, size) - index * TILE_WIDTH))


def sizes_with_partial(tile: TileRef) -> tuple[int, int]:
    """Return the tree sizes [lo, hi) whose rightmost tile at this level is `tile`."""
    count = tile.index * TILE_WIDTH + tile.width
    shift = TILE_HEIGHT * (tile.level or 0)
    return count << shift, (count + 1) << shift


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    """Return an entry bundle: each entry as a 2-byte big-endian length, then its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise ValueError("an entry of a bundle is at most 65535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    """Split an entry bundle into its entries.

    Raises:
        ValueError: the bundle is truncated.
    """
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("entry bundle truncated in a length")
        length = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + length > len(data):
            raise ValueError("entry bundle truncated in an entry")
        out.append(data[pos : pos + length])
        pos += length
    return out


def split_hashes(data: bytes) -> list[bytes]:
    """Split a hash tile into its 32-byte hashes.

    Raises:
        ValueError: the length is not a multiple of 32.
    """
    if len(data) % HASH_SIZE:
        raise ValueError("a hash tile is a whole number of 32-byte hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
