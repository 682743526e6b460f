"""The tamper matrix on stored rows: the database owner edits behind the triggers' back."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, text

from ledger.errors import VerificationError
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.chain import event_hash, signature_message
from ledger.integrity.envelope import NewEvent
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore
from ledger.store.verify import verify_store


@contextmanager
def owner_without_triggers(store: EventStore) -> Iterator[Connection]:
    """A connection of the database owner with the append-only triggers out of the way."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
            yield conn
            conn.execute(text("SET session_replication_role = DEFAULT"))
            conn.commit()
            return
        triggers = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _ in triggers:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield conn
        for _, sql in triggers:
            conn.exec_driver_sql(sql)
        conn.commit()


def _envelope(conn: Connection, seq: int) -> dict[str, Any]:
    row = conn.execute(
        text("SELECT envelope FROM ledger_events WHERE seq = :s"), {"s": seq}
    ).one()
    return dict(json.loads(row[0]))


def _put(conn: Connection, seq: int, env: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE ledger_events SET envelope = :e WHERE seq = :s"),
        {"e": canonical_bytes(env).decode(), "s": seq},
    )


def _resign(env: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    env = dict(env, key=key.key_id)
    digest = event_hash(env)
    env["hash"] = digest.hex()
    env["sig"] = base64.b64encode(key.sign(signature_message(digest))).decode()
    return env


@pytest.fixture
def ledger(store: EventStore) -> dict[str, Any]:
    """17 events: documents, findings, an esign key, a key rotation, a blob; one checkpoint."""
    first = store.signer
    esign = SigningKey.generate()
    store.register_key(esign.public_raw, holder="u-alice", purpose="esign")  # 2
    for i in range(3, 11):
        stream = "document/QP-07" if i % 2 else "finding/2026-0001"
        kind = stream.split("/")[0]
        store.append(
            [
                NewEvent(
                    stream=stream,
                    type=f"{kind}.drafted",
                    data={"title": f"doc {i}"},
                    actor="u-bob",
                )
            ]
        )
    store.checkpoint()  # size 10
    new = SigningKey.generate()
    store.rotate_ledger_key(new)  # 11, 12
    digest = store.put_blob(b"QP-07 revision A")
    ref = {"blob": digest, "size": 16, "name": "qp-07.txt", "media_type": "text/plain"}
    store.append(
        [
            NewEvent(
                stream="document/QP-08",
                type="document.drafted",
                data={"content": ref},
                actor="u-bob",
            )
        ]
    )  # 13
    for i in range(14, 18):
        store.append(
            [
                NewEvent(
                    stream="document/QP-09",
                    type="document.drafted",
                    data={"title": f"doc {i}"},
                    actor="u-bob",
                )
            ]
        )
    store.checkpoint()  # size 17
    return {"first": first, "new": new, "trusted": first.key_id, "blob": digest}


Tamper = Callable[[Connection, dict[str, Any]], None]


def _edit_data(conn: Connection, info: dict[str, Any]) -> None:
    env = _envelope(conn, 5)
    env["data"]["title"] = "doc edited"
    _put(conn, 5, env)


def _edit_recorded_at(conn: Connection, info: dict[str, Any]) -> None:
    env = _envelope(conn, 6)
    env["recorded_at"] = "2020-01-01T00:00:00.000000Z"
    _put(conn, 6, env)


def _delete_middle(conn: Connection, info: dict[str, Any]) -> None:
    conn.execute(text("DELETE FROM ledger_events WHERE seq = 7"))


def _swap(conn: Connection, info: dict[str, Any]) -> None:
    a, b = _envelope(conn, 4), _envelope(conn, 5)
    _put(conn, 4, b)
    _put(conn, 5, a)


def _insert_forged(conn: Connection, info: dict[str, Any]) -> None:
    last = _envelope(conn, 17)
    forged = dict(
        last,
        seq=18,
        version=last["version"] + 1,
        prev=last["hash"],
        data={"title": "forged"},
    )
    forged = _resign(forged, SigningKey.generate())
    conn.execute(
        text(
            "INSERT INTO ledger_events (seq, stream, version, type, schema, actor, command_id, occurred_at,"
            " recorded_at, key_id, hash, envelope) VALUES (18, :st, :v, :t, 1, 'u-bob', 'forged', :o, :r, :k, :h, :e)"
        ),
        {
            "st": forged["stream"],
            "v": forged["version"],
            "t": forged["type"],
            "o": forged["occurred_at"],
            "r": forged["recorded_at"],
            "k": forged["key"],
            "h": bytes.fromhex(forged["hash"]),
            "e": canonical_bytes(forged).decode(),
        },
    )
    conn.execute(
        text("UPDATE ledger_head SET size = 18, hash = :h"),
        {"h": bytes.fromhex(forged["hash"])},
    )


def _replace_sig(conn: Connection, info: dict[str, Any]) -> None:
    env = _envelope(conn, 4)
    env["sig"] = _envelope(conn, 5)["sig"]
    _put(conn, 4, env)


def _unregistered_key(conn: Connection, info: dict[str, Any]) -> None:
    _put(conn, 14, _resign(_envelope(conn, 14), SigningKey.generate()))


def _revoked_key(conn: Connection, info: dict[str, Any]) -> None:
    _put(conn, 15, _resign(_envelope(conn, 15), info["first"]))


def _break_version(conn: Connection, info: dict[str, Any]) -> None:
    env = _envelope(conn, 16)
    env["version"] = 7
    _put(conn, 16, _resign(env, info["new"]))


def _alter_checkpoint(conn: Connection, info: dict[str, Any]) -> None:
    note = conn.execute(
        text("SELECT note FROM ledger_checkpoints WHERE size = 10")
    ).scalar_one()
    lines = note.split("\n")
    lines[2] = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    conn.execute(
        text("UPDATE ledger_checkpoints SET note = :n WHERE size = 10"),
        {"n": "\n".join(lines)},
    )


def _alter_blob(conn: Connection, info: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE ledger_blobs SET data = :d WHERE digest = :g"),
        {"d": b"QP-07 revision B", "g": info["blob"]},
    )


def _alter_merkle_node(conn: Connection, info: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE merkle_nodes SET hash = :h WHERE level = 4 AND idx = 0"),
        {"h": bytes(32)},
    )


def _rewrite_other_key(conn: Connection, info: dict[str, Any]) -> None:
    other = SigningKey.generate()
    prev = "0" * 64
    for seq in range(1, 18):
        env = _envelope(conn, seq)
        if seq == 1:
            env["data"]["public_key"] = other.public_b64
        env["prev"] = prev
        env = _resign(env, other)
        _put(conn, seq, env)
        prev = env["hash"]


def _edit_stream_column(conn: Connection, info: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE ledger_events SET stream = 'document/QP-99' WHERE seq = 9")
    )


def _head_moved_back(conn: Connection, info: dict[str, Any]) -> None:
    seven = _envelope(conn, 7)
    conn.execute(
        text("UPDATE ledger_head SET size = 7, hash = :h"),
        {"h": bytes.fromhex(seven["hash"])},
    )


def _key_cache_unrevoked(conn: Connection, info: dict[str, Any]) -> None:
    conn.execute(text("UPDATE ledger_keys SET revoked_seq = NULL"))


def _stream_cache_rewound(conn: Connection, info: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE ledger_streams SET version = 1 WHERE stream = 'document/QP-09'")
    )


MATRIX: dict[str, tuple[Tamper, int, str]] = {
    "head_moved_back_hides_events": (
        _head_moved_back,
        8,
        "events are hidden behind the head",
    ),
    "key_table_unrevoked": (_key_cache_unrevoked, 0, "stored key table disagrees"),
    "stream_table_rewound": (_stream_cache_rewound, 0, "stream document/QP-09"),
    "edit_indexed_column_only": (
        _edit_stream_column,
        9,
        "stored column stream is 'document/QP-99'",
    ),
    "edit_data_value": (_edit_data, 5, "hash mismatch"),
    "edit_recorded_at": (_edit_recorded_at, 6, "recorded_at"),
    "delete_middle_event": (_delete_middle, 7, "seq is 8, expected 7"),
    "swap_two_events": (_swap, 4, "seq is 5, expected 4"),
    "insert_forged_event": (_insert_forged, 18, "is not registered"),
    "replace_signature": (_replace_sig, 4, "signature does not verify"),
    "sign_with_unregistered_key": (_unregistered_key, 14, "is not registered"),
    "use_revoked_key": (_revoked_key, 15, "was revoked at seq 12"),
    "break_stream_version": (_break_version, 16, "version is 7, expected 3"),
    "alter_checkpoint": (_alter_checkpoint, 0, "checkpoint signature does not verify"),
    "alter_blob": (_alter_blob, 0, "does not match its digest"),
    "alter_merkle_node": (_alter_merkle_node, 0, "Merkle nodes"),
    "rewrite_all_with_another_key": (_rewrite_other_key, 1, "is not the trusted key"),
}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_tampered_rows_fail_at_the_first_bad_seq(
    store: EventStore, ledger: dict[str, Any], case: str
) -> None:
    head, sizes = verify_store(store, trusted_key_id=ledger["trusted"], workers=1)
    assert (head.size, sizes) == (17, [10, 17])
    tamper, seq, reason = MATRIX[case]
    with owner_without_triggers(store) as conn:
        tamper(conn, ledger)
        conn.commit()
    with pytest.raises(VerificationError) as info:
        verify_store(store, trusted_key_id=ledger["trusted"], workers=1)
    assert (info.value.seq, reason in info.value.reason) == (seq, True), (
        info.value.reason
    )
