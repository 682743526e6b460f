"""The append's write on both dialects: a write the database refuses stores nothing.

On PostgreSQL a plain append sends its write and COMMIT together; a refused write
must still raise the store's error, and leave the ledger as it was.
"""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from ledger.errors import ConcurrencyError
from ledger.integrity.envelope import NewEvent
from ledger.store import EventStore
from ledger.store.verify import verify_store


def _finding(number: int) -> NewEvent:
    return NewEvent(
        stream="finding/F-1",
        type="finding.raised",
        data={"number": number},
        actor="u-auditor-01",
    )


def test_a_refused_write_raises_and_stores_nothing(store: EventStore) -> None:
    """A Merkle node already in the place of the next leaf makes the write fail."""
    size = store.size()
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO merkle_nodes (level, idx, hash) VALUES (0, :i, :h)"),
            {"i": size, "h": b"\0" * 32},
        )
    with pytest.raises(ConcurrencyError, match="the ledger moved during the append"):
        store.append([_finding(1)], {"finding/F-1": 0})
    assert store.size() == size
    assert list(store.read(1)) == list(store.read(1, size))
    with store.engine.connect() as connection:
        streams = connection.execute(
            sa.text("SELECT count(*) FROM ledger_streams WHERE stream = 'finding/F-1'")
        ).scalar_one()
        events = connection.execute(
            sa.text("SELECT count(*) FROM ledger_events")
        ).scalar_one()
    assert (streams, events) == (0, size)


def test_appends_after_each_other_chain_and_commit(store: EventStore) -> None:
    """Plain appends (write and COMMIT together on PostgreSQL) are all kept, in order."""
    recorded = [store.append([_finding(n)], {"finding/F-1": n})[0] for n in range(5)]
    assert [e.version for e in recorded] == [1, 2, 3, 4, 5]
    assert [e.seq for e in store.read(2)] == [e.seq for e in recorded]
    assert all(b.prev == a.hash for a, b in itertools.pairwise(recorded))
    head, _ = verify_store(store, trusted_key_id=store.signer.key_id, workers=1)
    assert (head.size, head.hash.hex()) == (recorded[-1].seq, recorded[-1].hash)
