"""Reading stored envelopes through a connection that is open already."""

from __future__ import annotations

from ledger.store import EventStore, envelope_rows
from tests.support.builders import new_event


def test_envelope_rows_give_a_seq_range_in_pages_inside_a_transaction(
    store: EventStore,
) -> None:
    for _ in range(6):
        store.append([new_event()])
    lines = [line.decode() for line in store.read_lines(2, 6)]
    with store.engine.begin() as connection:
        rows = list(envelope_rows(connection, 2, 6, batch=2))
        assert list(envelope_rows(connection, 5, 4)) == []
    assert [seq for seq, _ in rows] == [2, 3, 4, 5, 6]
    assert [text for _, text in rows] == lines
