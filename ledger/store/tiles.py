"""C2SP tlog-tiles and tlog-proof files read from the stored tree.

A hash tile is one range of the primary key of the stored Merkle nodes (the nodes at
height 8*L), an entry bundle one range of the events' `hash` column: at most 256 rows
either way, never all events. Full tiles are served for any part of the current tree
(they never change); a partial tile only for a tree size that has a stored checkpoint,
so that every partial tile a client can ask for belongs to a signed tree head.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.engine import Connection, Engine

from ledger.errors import EventRejectedError, NotFoundError
from ledger.integrity import merkle, tiles
from ledger.integrity.checkpoint import parse_note
from ledger.integrity.tlog_proof import TlogProof, format_proof
from ledger.store.engine import storage_errors
from ledger.store.proofs import fetch_nodes
from ledger.store.reads import HEAD
from ledger.store.tables import checkpoints, events, merkle_nodes


def _served(connection: Connection, tile: tiles.TileRef) -> bool:
    """Whether `tile` is part of the current tree (full) or of a checkpointed one."""
    size = int(connection.execute(HEAD).one()[0])
    width = tiles.tile_width(tile.level or 0, tile.index, size)
    if not tile.partial:
        return width == tiles.TILE_WIDTH
    lo, hi = tiles.sizes_with_partial(tile)
    query = select(exists().where(checkpoints.c.size >= lo, checkpoints.c.size < hi))
    return bool(connection.execute(query).scalar())


def _missing(tile: tiles.TileRef) -> NotFoundError:
    return NotFoundError(f"no {tile.path()} in this ledger")


def hash_tile(reader: Engine, tile: tiles.TileRef) -> bytes:
    """Return the bytes of hash tile `tile`: its node hashes, 32 bytes each, in order.

    Raises:
        NotFoundError: the tile is beyond the tree, or partial at no checkpointed size.
        StorageError: the database failed.
        VerificationError: (seq 0) a stored Merkle node is missing.
    """
    if tile.entries:
        raise ValueError("an entry bundle is not a hash tile")
    level, first = tile.node_level, tile.first
    query = (
        select(merkle_nodes.c.idx, merkle_nodes.c.hash)
        .where(
            merkle_nodes.c.level == level,
            merkle_nodes.c.idx >= first,
            merkle_nodes.c.idx < first + tile.width,
        )
        .order_by(merkle_nodes.c.idx)
    )
    with storage_errors("reading a tile"), reader.connect() as connection:
        if not _served(connection, tile):
            raise _missing(tile)
        rows = [(int(idx), bytes(h)) for idx, h in connection.execute(query)]
        if [idx for idx, _ in rows] != list(range(first, first + tile.width)):
            fetch_nodes(connection, [(level, first + i) for i in range(tile.width)])
    return b"".join(h for _, h in rows)


def entry_bundle(reader: Engine, tile: tiles.TileRef) -> bytes:
    """Return entry bundle `tile`: the leaves (event hashes) under level-0 tile N.

    Raises:
        NotFoundError: the bundle is beyond the tree, or partial at no checkpointed size.
        StorageError: the database failed.
    """
    if not tile.entries:
        raise ValueError("a hash tile is not an entry bundle")
    first = tile.first + 1  # leaf i is event seq i + 1
    query = (
        select(events.c.hash)
        .where(events.c.seq >= first, events.c.seq < first + tile.width)
        .order_by(events.c.seq)
    )
    with storage_errors("reading an entry bundle"), reader.connect() as connection:
        if not _served(connection, tile):
            raise _missing(tile)
        leaves = [bytes(h) for (h,) in connection.execute(query)]
    return tiles.encode_bundle(leaves)


def tlog_proof(reader: Engine, seq: int, note: str) -> str:
    """Return the C2SP tlog-proof file of event `seq` against the checkpoint `note`.

    Raises:
        NotFoundError: no event `seq` in the ledger.
        EventRejectedError: the checkpoint's tree does not hold event `seq`.
        StorageError: the database failed.
        VerificationError: (seq 0) the note is malformed or a Merkle node is missing.
    """
    checkpoint, _signatures = parse_note(note)
    size = checkpoint.size
    with storage_errors("building a proof file"), reader.connect() as connection:
        current = int(connection.execute(HEAD).one()[0])
        if type(seq) is not int or not 1 <= seq <= current:
            raise NotFoundError(f"no event {seq!r} in a ledger of {current} events")
        if not seq <= size <= current:
            raise EventRejectedError(
                f"event {seq} is not in the tree of size {size}",
                {"size": f"must be at least {seq}"},
            )
        ranges = merkle.inclusion_ranges(seq - 1, size)
        found = fetch_nodes(connection, merkle.needed_nodes(ranges))
    hashes = merkle.inclusion_proof(seq - 1, size, lambda lv, ix: found[(lv, ix)])
    return format_proof(TlogProof(seq - 1, tuple(hashes), note))
