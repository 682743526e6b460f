"""The Merkle tree from its stored nodes: tree heads, inclusion and consistency proofs, the frontier."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ledger.errors import EventRejectedError, NotFoundError, VerificationError
from ledger.integrity import merkle
from ledger.store.engine import storage_errors
from ledger.store.reads import HEAD
from ledger.store.tables import merkle_nodes as nodes_table

_NODE_CHUNK: Final = 200  # (level, idx) pairs per query when fetching Merkle nodes
_NODE_COLUMNS: Final = (nodes_table.c.level, nodes_table.c.idx, nodes_table.c.hash)


def _nodes_query(pairs: Sequence[tuple[int, int]]) -> sa.Select[int, int, bytes]:
    # OR-ed (level = ? AND idx = ?) terms: SQLite answers each from the primary key,
    # while a row-value IN list makes it scan the table. Statements of equal length
    # share one compiled form.
    return select(*_NODE_COLUMNS).where(
        sa.or_(
            *(
                sa.and_(nodes_table.c.level == level, nodes_table.c.idx == idx)
                for level, idx in pairs
            )
        )
    )


def fetch_nodes(
    connection: Connection, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Return the stored nodes (level, idx) -> hash of `wanted`.

    Raises:
        VerificationError: (seq 0) a wanted node is missing.
    """
    pairs = sorted(set(wanted))
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(pairs), _NODE_CHUNK):
        chunk = pairs[start : start + _NODE_CHUNK]
        for level, idx, node in connection.execute(_nodes_query(chunk)):
            found[(int(level), int(idx))] = bytes(node)
    missing = [p for p in pairs if p not in found]
    if missing:
        level, idx = missing[0]
        raise VerificationError(
            0, f"Merkle node (level {level}, index {idx}) is missing"
        )
    return found


def load_frontier(connection: Connection, size: int) -> merkle.Frontier:
    """Return the frontier (the O(log n) peaks) of the tree of `size` leaves."""
    wanted = merkle.Frontier.peak_nodes(size)
    found = fetch_nodes(connection, wanted)
    return merkle.Frontier(size, [found[n] for n in wanted])


def tree_size(
    connection: Connection, size: int | None, what: str = "size"
) -> tuple[int, int]:
    """Return (requested size, current size), checking 0 <= requested <= current."""
    current = int(connection.execute(HEAD).one()[0])
    if size is None:
        return current, current
    if type(size) is not int or not 0 <= size <= current:
        raise EventRejectedError(
            f"{what} {size!r} is not between 0 and the ledger size {current}",
            {what: f"must be between 0 and {current}"},
        )
    return size, current


def tree_root(connection: Connection, size: int) -> bytes:
    """Return the RFC 9162 tree head over the first `size` events."""
    found = fetch_nodes(connection, merkle.needed_nodes([(0, size)]))
    return merkle.range_hash(0, size, lambda level, idx: found[(level, idx)])


def root(reader: Engine, size: int | None) -> bytes:
    """Return the tree head over the first `size` events (default: all)."""
    with storage_errors("computing the tree head"), reader.connect() as connection:
        size, _ = tree_size(connection, size)
        return tree_root(connection, size)


def inclusion_proof(reader: Engine, seq: int, size: int | None) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of event `seq` (leaf seq-1) in `size`."""
    with storage_errors("building an inclusion proof"), reader.connect() as connection:
        size, current = tree_size(connection, size)
        if type(seq) is not int or not 1 <= seq <= current:
            raise NotFoundError(f"no event {seq!r} in a ledger of {current} events")
        if seq > size:
            raise EventRejectedError(
                f"event {seq} is not in the tree of size {size}",
                {"size": f"must be at least {seq}"},
            )
        ranges = merkle.inclusion_ranges(seq - 1, size)
        found = fetch_nodes(connection, merkle.needed_nodes(ranges))
    return merkle.inclusion_proof(seq - 1, size, lambda level, idx: found[(level, idx)])


def consistency_proof(reader: Engine, size1: int, size2: int | None) -> list[bytes]:
    """Return the RFC 9162 consistency proof from tree `size1` to `size2` (or now)."""
    with (
        storage_errors("building a consistency proof"),
        reader.connect() as connection,
    ):
        size2, _ = tree_size(connection, size2, "size2")
        size1, _ = tree_size(connection, size1, "size1")
        if size1 > size2:
            raise EventRejectedError(
                f"no consistency proof from size {size1} to smaller size {size2}",
                {"size1": f"must be at most {size2}"},
            )
        ranges = merkle.consistency_ranges(size1, size2)
        found = fetch_nodes(connection, merkle.needed_nodes(ranges))
    return merkle.consistency_proof(
        size1, size2, lambda level, idx: found[(level, idx)]
    )
