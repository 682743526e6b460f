"""Signed checkpoints of the tree: signing one under a ledger key in force, storing and reading them."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

from ledger.clock import Clock
from ledger.errors import ConfigError, EventRejectedError
from ledger.integrity.checkpoint import Checkpoint, sign_checkpoint
from ledger.integrity.envelope import format_time
from ledger.integrity.signing import SigningKey
from ledger.store.engine import storage_errors
from ledger.store.keys import check_signer, load_keys
from ledger.store.proofs import tree_root
from ledger.store.reads import HEAD, event_from_text
from ledger.store.tables import checkpoints, events


@lru_cache(maxsize=2)
def _insert(dialect: str) -> Insert:
    """INSERT of a checkpoint that does nothing when its size has one already."""
    insert = pg_dialect.insert if dialect == "postgresql" else sqlite_dialect.insert
    return insert(checkpoints).on_conflict_do_nothing(
        index_elements=[checkpoints.c.size]
    )


def stored_checkpoint(
    connection: Connection, size: int | None
) -> tuple[int, str | None]:
    """Return the size meant (default: the head) and its stored note, if any.

    Raises:
        EventRejectedError: the ledger is not initialized, or `size` is not in it.
    """
    head = int(connection.execute(HEAD).one()[0])
    if head == 0:
        raise EventRejectedError(
            "the ledger is not initialized",
            {"ledger": "run initialize() first"},
        )
    if size is not None and not 1 <= size <= head:
        raise EventRejectedError(
            f"no tree of size {size} in a ledger of {head} events",
            {"size": f"must be between 1 and {head}"},
        )
    size = head if size is None else size
    existing = connection.execute(
        select(checkpoints.c.note).where(checkpoints.c.size == size)
    ).scalar_one_or_none()
    return size, None if existing is None else str(existing)


def existing_checkpoint(reader: Engine, size: int | None) -> str | None:
    """Return the stored note of `size` (default: the head), or None."""
    with storage_errors("reading a checkpoint"), reader.connect() as connection:
        _size, existing = stored_checkpoint(connection, size)
    return existing


def make_checkpoint(
    engine: Engine,
    wanted: int | None,
    signer: SigningKey,
    *,
    origin: str,
    clock: Clock,
) -> str:
    """Sign and store a checkpoint of `wanted` (default: the head) with `signer`.

    A size with a stored checkpoint returns that note.
    """
    with storage_errors("making a checkpoint"), engine.begin() as connection:
        size, existing = stored_checkpoint(connection, wanted)
        if existing is not None:
            return existing
        genesis = connection.execute(
            select(events.c.envelope).where(events.c.seq == 1)
        ).scalar_one()
        named = event_from_text(genesis, 1).data.get("origin")
        if named != origin:
            raise ConfigError(
                f"this store's origin {origin!r} is not the ledger's {named!r}"
            )
        # A checkpoint of size n is signed by a ledger key in force for event n+1.
        state = load_keys(connection, [signer.key_id])
        check_signer(state, signer, size + 1)
        root = tree_root(connection, size)
        note = sign_checkpoint(Checkpoint(origin, size, root), signer)
        connection.execute(
            _insert(engine.dialect.name),
            {"size": size, "note": note, "created_at": format_time(clock.now())},
        )
        stored = connection.execute(
            select(checkpoints.c.note).where(checkpoints.c.size == size)
        ).scalar_one()
    return str(stored)


def checkpoint_for(reader: Engine, size: int) -> str | None:
    """Return the stored checkpoint note of exactly `size`, or None."""
    query = select(checkpoints.c.note).where(checkpoints.c.size == size)
    with storage_errors("reading a checkpoint"), reader.connect() as connection:
        note = connection.execute(query).scalar_one_or_none()
    return None if note is None else str(note)


def all_checkpoints(reader: Engine) -> list[tuple[int, str]]:
    """Return every stored checkpoint as (size, note), smallest size first."""
    query = select(checkpoints.c.size, checkpoints.c.note).order_by(checkpoints.c.size)
    with storage_errors("reading checkpoints"), reader.connect() as connection:
        return [(int(size), str(note)) for size, note in connection.execute(query)]


def latest_checkpoint(reader: Engine) -> tuple[int, str, str] | None:
    """Return the stored checkpoint of the largest size as (size, note, created_at), or None."""
    query = (
        select(checkpoints.c.size, checkpoints.c.note, checkpoints.c.created_at)
        .order_by(checkpoints.c.size.desc())
        .limit(1)
    )
    with storage_errors("reading checkpoints"), reader.connect() as connection:
        row = connection.execute(query).one_or_none()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


def latest_stored(reader: Engine) -> str | None:
    """Return the stored checkpoint note of the largest size, or None."""
    query = select(checkpoints.c.note).order_by(checkpoints.c.size.desc()).limit(1)
    with storage_errors("reading a checkpoint"), reader.connect() as connection:
        note = connection.execute(query).scalar_one_or_none()
    return None if note is None else str(note)
