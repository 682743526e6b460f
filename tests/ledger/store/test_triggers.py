"""The database itself refuses to change the record: append-only triggers, both dialects."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from ledger.store import EventStore
from tests.support.builders import chain_of, recheck

APPEND_ONLY = [
    "ledger_events",
    "merkle_nodes",
    "ledger_checkpoints",
    "ledger_blob_disposals",
]

# One column each table has, to write an UPDATE against.
_COLUMN = {
    "ledger_events": "actor",
    "merkle_nodes": "hash",
    "ledger_checkpoints": "note",
    "ledger_blob_disposals": "digest",
}


@pytest.fixture
def full_store(store: EventStore) -> EventStore:
    """A store with a row in every append-only table."""
    store.append(chain_of(3))
    store.checkpoint()
    digest = store.put_blob(b"obsolete form")
    store.dispose_blob(digest, "superseded and past retention", actor="u-admin")
    return store


def _run(store: EventStore, statement: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text(statement))


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_update_is_refused(full_store: EventStore, table: str) -> None:
    column = _COLUMN[table]
    with pytest.raises(DBAPIError, match=f"{table} is append-only"):
        _run(full_store, f"UPDATE {table} SET {column} = {column}")
    recheck(full_store)


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_delete_is_refused(full_store: EventStore, table: str) -> None:
    with pytest.raises(DBAPIError, match=f"{table} is append-only"):
        _run(full_store, f"DELETE FROM {table}")
    assert full_store.size() == 5
    recheck(full_store)


@pytest.mark.parametrize(
    "engine_url",
    [pytest.param("postgresql", marks=pytest.mark.postgresql)],
    indirect=True,
)
@pytest.mark.parametrize("table", [*APPEND_ONLY, "ledger_blobs"])
def test_truncate_is_refused_on_postgresql(full_store: EventStore, table: str) -> None:
    with pytest.raises(DBAPIError, match=f"{table} is append-only"):
        _run(full_store, f"TRUNCATE {table} CASCADE")
    assert full_store.size() == 5
    recheck(full_store)


def test_blob_bytes_are_deleted_only_after_a_recorded_disposal(
    store: EventStore,
) -> None:
    digest = store.put_blob(b"audit evidence")
    with pytest.raises(DBAPIError, match="disposal is recorded"):
        _run(store, f"DELETE FROM ledger_blobs WHERE digest = '{digest}'")
    with pytest.raises(DBAPIError, match="ledger_blobs is append-only"):
        _run(store, "UPDATE ledger_blobs SET data = data")
    assert store.get_blob(digest) == b"audit evidence"
    store.dispose_blob(digest, "retention ended", actor="u-admin")
    assert store.blob_digests() == []


def test_the_head_row_and_the_caches_stay_writable(store: EventStore) -> None:
    """Only the record is append-only; the store's bookkeeping is not."""
    store.append(chain_of(2))
    with store.engine.begin() as connection:
        connection.execute(sa.text("UPDATE ledger_streams SET version = version"))
        connection.execute(sa.text("UPDATE ledger_head SET size = size"))
    assert store.size() == 3


@pytest.mark.parametrize(
    "statement",
    ["UPDATE ledger_head SET size = size - 1", "DELETE FROM ledger_head"],
)
def test_the_head_never_moves_back(full_store: EventStore, statement: str) -> None:
    with pytest.raises(DBAPIError, match="ledger_head only moves forward"):
        _run(full_store, statement)
    assert full_store.size() == 5
    recheck(full_store)
