"""Workers read the chunks they check: the same head and the same first failure as
reading every row in this process, at and across the chunks' edges."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Connection, text

from ledger.errors import VerificationError
from ledger.integrity.envelope import NewEvent
from ledger.integrity.verify.chunks import CHUNK
from ledger.integrity.verify.signatures import POOL_AFTER
from ledger.store import EventStore
from ledger.store import verify as store_verify
from ledger.store.verify import verify_store
from tests.ledger.store.test_verify import owner_without_triggers

SIZE = POOL_AFTER + CHUNK + 900  # two chunks inline, then two in workers
EDGE = POOL_AFTER + CHUNK  # the last seq of the first chunk a worker reads


def _fill(store: EventStore) -> None:
    seq = store.size()
    while seq < SIZE:
        n = min(1000, SIZE - seq)
        store.append(
            [
                NewEvent(
                    stream=f"finding/2026-{(seq + i) % 97:04d}",
                    type="finding.raised",
                    data={"title": f"finding {seq + i}"},
                    actor="u-bob",
                )
                for i in range(n)
            ]
        )
        seq += n


Outcome = tuple[int, int | str]


def _outcome(store: EventStore, *, workers: int) -> Outcome:
    try:
        head, _ = verify_store(
            store, trusted_key_id=store.signer.key_id, workers=workers
        )
    except VerificationError as exc:
        return exc.seq, exc.reason
    return head.size, head.root.hex()


def _deleted(
    first: int, last: int
) -> Callable[[Connection], Callable[[Connection], None]]:
    def tamper(conn: Connection) -> Callable[[Connection], None]:
        rows = (
            conn.execute(
                text("SELECT * FROM ledger_events WHERE seq BETWEEN :a AND :b"),
                {"a": first, "b": last},
            )
            .mappings()
            .all()
        )
        conn.execute(
            text("DELETE FROM ledger_events WHERE seq BETWEEN :a AND :b"),
            {"a": first, "b": last},
        )

        def restore(conn: Connection) -> None:
            columns = list(rows[0])
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            conn.execute(
                text(f"INSERT INTO ledger_events ({names}) VALUES ({marks})"),
                [dict(r) for r in rows],
            )

        return restore

    return tamper


def _stream_edited(seq: int) -> Callable[[Connection], Callable[[Connection], None]]:
    def tamper(conn: Connection) -> Callable[[Connection], None]:
        was = conn.execute(
            text("SELECT stream FROM ledger_events WHERE seq = :s"), {"s": seq}
        ).scalar_one()
        edit = text("UPDATE ledger_events SET stream = :v WHERE seq = :s")
        conn.execute(edit, {"v": "finding/2026-9999", "s": seq})

        def restore(conn: Connection) -> None:
            conn.execute(edit, {"v": was, "s": seq})

        return restore

    return tamper


CASES = {
    "the last event of a worker's chunk deleted": (
        _deleted(EDGE, EDGE),
        (EDGE, f"seq is {EDGE + 1}, expected {EDGE}"),
    ),
    "events deleted across two chunks": (
        _deleted(EDGE - 500, EDGE + 300),
        (EDGE - 500, f"seq is {EDGE + 301}, expected {EDGE - 500}"),
    ),
    "the tail deleted behind the head": (_deleted(EDGE, SIZE), None),
    "an indexed column edited in a worker's chunk": (
        _stream_edited(EDGE + 7),
        (EDGE + 7, "stored column stream is 'finding/2026-9999'"),
    ),
}


def test_workers_reading_their_chunks_give_what_reading_every_row_gives(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(store)
    assert store.size() == SIZE

    def every_row(workers: int) -> Outcome:
        with monkeypatch.context() as patch:
            patch.setattr(store_verify.StoredChunks, "of", lambda _store: None)
            return _outcome(store, workers=workers)

    intact = every_row(1)
    assert intact[0] == SIZE
    assert _outcome(store, workers=2) == _outcome(store, workers=1) == intact

    for case, (tamper, expected) in CASES.items():
        with owner_without_triggers(store) as conn:
            restore = tamper(conn)
            conn.commit()
        try:
            by_rows = every_row(1)
            if expected is not None:
                assert (by_rows[0], expected[1] in str(by_rows[1])) == (
                    expected[0],
                    True,
                ), (case, by_rows)
            else:
                assert by_rows[0] == SIZE + 1, (case, by_rows)
            for workers in (2, 1):
                assert _outcome(store, workers=workers) == by_rows, (case, workers)
        finally:
            with owner_without_triggers(store) as conn:
                restore(conn)
                conn.commit()
        assert _outcome(store, workers=2) == intact, f"not restored after {case}"
