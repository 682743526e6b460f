"""Contract suite of the event store: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from ledger.clock import FixedClock
from ledger.errors import (
    ConcurrencyError,
    ConfigError,
    EventRejectedError,
    KeyMaterialError,
    NotFoundError,
    VerificationError,
)
from ledger.integrity import merkle
from ledger.integrity.checkpoint import parse_note, verify_checkpoint
from ledger.integrity.envelope import RecordedEvent
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore, KeyRecord, migrate
from ledger.store.tables import metadata
from tests.support.builders import chain_of, new_event, recheck
from tests.support.origin import ORIGIN


def _leaves(store: EventStore) -> list[bytes]:
    return [bytes.fromhex(event.hash) for event in store.read()]


def _key_records(store: EventStore) -> dict[str, KeyRecord]:
    records = store.key_records()
    return {record.key_id: record for record in records}


def _event_store_names(name: str | None, kind: str, parents: dict[str, str]) -> bool:
    if kind == "schema":
        return True
    table = name if kind == "table" else parents.get("table_name")
    return table in metadata.tables


class _Recorder:
    """A projector that remembers what it saw and what its connection could read."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.visible_size: int | None = None

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        self.seen.extend(event.seq for event in events)
        self.visible_size = connection.execute(
            sa.text("SELECT count(*) FROM ledger_events")
        ).scalar_one()


class _Failing:
    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        raise EventRejectedError("projection refused", {"data": "no"})


# --------------------------------------------------------------------------- genesis


def test_initialize_records_the_signer_as_first_ledger_key(
    store: EventStore, signer: SigningKey
) -> None:
    (genesis,) = store.read()
    assert genesis.seq == 1
    assert genesis.stream == "ledger/keys"
    assert genesis.type == "ledger.initialized"
    assert genesis.actor == "system"
    assert genesis.data == {
        "format": 1,
        "origin": ORIGIN,
        "public_key": signer.public_b64,
    }
    assert genesis.prev == "0" * 64
    assert genesis.key == signer.key_id
    assert store.is_initialized()
    (key,) = store.key_records()
    assert (key.key_id, key.holder, key.purpose) == (signer.key_id, "service", "ledger")
    assert (key.registered_seq, key.revoked_seq) == (1, None)
    assert key.public_key == signer.public_raw
    recheck(store, signer.key_id)


def test_initialize_twice_is_rejected(store: EventStore) -> None:
    with pytest.raises(EventRejectedError, match="initialized already"):
        store.initialize()
    assert store.size() == 1


def test_append_before_initialize_is_rejected(
    engine: Engine, signer: SigningKey
) -> None:
    store = EventStore(engine, signer, ORIGIN)
    assert not store.is_initialized()
    assert store.head() == (0, bytes(32))
    assert store.root() == merkle.EMPTY_ROOT
    with pytest.raises(EventRejectedError, match="not initialized"):
        store.append([new_event()])
    assert store.size() == 0


def test_origin_must_be_a_valid_note_name(engine: Engine, signer: SigningKey) -> None:
    with pytest.raises(ConfigError, match="origin"):
        EventStore(engine, signer, "has space")


def test_migrate_twice_changes_nothing_and_matches_the_tables(
    store: EventStore, engine: Engine
) -> None:
    migrate(engine)
    assert store.size() == 1
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": "ledger_alembic_version",
                "include_name": _event_store_names,  # later revisions add other tables
            },
        )
        diff = compare_metadata(context, metadata)
    assert diff == []


# --------------------------------------------------------------------------- append


def test_append_assigns_seq_version_prev_hash_and_signature(
    store: EventStore, signer: SigningKey, clock: FixedClock
) -> None:
    (genesis,) = store.read()
    first, second = store.append(
        [new_event(), new_event(data={"title": "y"})], {"document/QP-07": 0}
    )
    assert (first.seq, first.version, second.seq, second.version) == (2, 1, 3, 2)
    assert first.prev == genesis.hash
    assert second.prev == first.hash
    assert {first.key, second.key} == {signer.key_id}
    assert first.recorded_at == "2026-01-05T08:00:00.000000Z"
    assert first.occurred_at == first.recorded_at
    assert first.meta["command_id"] == second.meta["command_id"]
    assert store.stream_version("document/QP-07") == 2
    assert store.head() == (3, bytes.fromhex(second.hash))
    head = recheck(store, signer.key_id)
    assert head.size == 3


def test_append_returns_exactly_what_read_returns(store: EventStore) -> None:
    recorded = store.append(
        [new_event(data={"note": "ünïcode 😀", "n": -(2**53 - 1), "items": [1, None]})]
    )
    assert list(store.read(2)) == recorded
    (line,) = store.read_lines(2)
    assert json.loads(line) == recorded[0].to_dict()


def test_append_of_nothing_records_nothing(store: EventStore) -> None:
    assert store.append([]) == []
    assert store.size() == 1


def test_stale_expected_version_raises_and_stores_nothing(store: EventStore) -> None:
    store.append([new_event()], {"document/QP-07": 0})
    with pytest.raises(
        ConcurrencyError, match="stream document/QP-07: expected version 0, actual 1"
    ):
        store.append(
            [new_event(stream="finding/1", type="finding.raised"), new_event()],
            {"document/QP-07": 0},
        )
    assert store.size() == 2
    assert store.stream_version("finding/1") == 0


def test_expected_version_of_a_stream_not_written_is_checked(store: EventStore) -> None:
    store.append([new_event()])
    with pytest.raises(ConcurrencyError, match="document/QP-07"):
        store.append(
            [new_event(stream="finding/1", type="finding.raised")],
            {"document/QP-07": 0},
        )
    (event,) = store.append(
        [new_event(stream="finding/1", type="finding.raised")], {"document/QP-07": 1}
    )
    assert event.seq == 3


def test_command_id_replay_returns_the_same_events_and_appends_nothing(
    store: EventStore,
) -> None:
    first = store.append(
        [new_event(), new_event(stream="finding/1", type="finding.raised")],
        command_id="cmd-42",
    )
    again = store.append([new_event(data={"title": "other"})], command_id="cmd-42")
    assert again == first
    assert store.size() == 3
    assert store.events_for_command("cmd-42") == first
    assert store.events_for_command("cmd-unknown") == []


def test_commands_appended_together_keep_a_command_id_each(store: EventStore) -> None:
    recorded = store.append_commands(
        [
            [new_event(), new_event(stream="finding/1", type="finding.raised")],
            [new_event(stream="finding/2", type="finding.raised")],
        ],
        {"document/QP-07": 0},
    )
    assert [e.seq for e in recorded] == [2, 3, 4]
    first, second = recorded[0].meta["command_id"], recorded[2].meta["command_id"]
    assert recorded[1].meta["command_id"] == first
    assert first != second
    assert store.events_for_command(first) == recorded[:2]
    assert store.events_for_command(second) == recorded[2:]
    # Each is a command of its own: repeating one appends nothing.
    assert store.append([new_event()], command_id=second) == recorded[2:]
    assert store.size() == 4


def test_read_by_stream_gives_each_stream_in_version_order(store: EventStore) -> None:
    for stream in ("finding/2", "document/QP-07", "finding/2", "finding/1"):
        kind = "finding.raised" if stream.startswith("finding") else "document.drafted"
        store.append([new_event(stream=stream, type=kind)])
    store.append([new_event(stream="document/QP-07")])  # seq 6: past to_seq below
    read = [(e.stream, e.version, e.seq) for e in store.read_by_stream(5, batch=2)]
    assert read == [
        ("document/QP-07", 1, 3),
        ("finding/1", 1, 5),
        ("finding/2", 1, 2),
        ("finding/2", 2, 4),
        ("ledger/keys", 1, 1),
    ]
    with pytest.raises(EventRejectedError):
        store.read_by_stream(batch=0)


def test_commands_appended_together_fail_together(store: EventStore) -> None:
    with pytest.raises(ConcurrencyError):
        store.append_commands(
            [[new_event()], [new_event(stream="finding/1", type="finding.raised")]],
            {"finding/1": 3},
        )
    assert store.size() == 1


def test_replay_wins_over_a_stale_expected_version(store: EventStore) -> None:
    first = store.append([new_event()], {"document/QP-07": 0}, command_id="cmd-1")
    assert (
        store.append([new_event()], {"document/QP-07": 0}, command_id="cmd-1") == first
    )


def test_meta_carries_command_causation_correlation_and_event_meta(
    store: EventStore,
) -> None:
    (event,) = store.append(
        [new_event(meta={"ip_country": "CN"})],
        command_id="cmd-9",
        causation="cmd-8",
        correlation="corr-QP-07",
    )
    assert event.meta == {
        "command_id": "cmd-9",
        "causation": "cmd-8",
        "correlation": "corr-QP-07",
        "ip_country": "CN",
    }


def test_event_meta_may_not_contradict_the_command_id(store: EventStore) -> None:
    with pytest.raises(EventRejectedError) as caught:
        store.append([new_event(meta={"command_id": "other"})], command_id="cmd-1")
    assert "meta" in caught.value.messages


def test_multi_stream_batch_with_one_bad_event_stores_nothing(
    store: EventStore,
) -> None:
    batch = [
        new_event(),
        new_event(stream="finding/2026-0042", type="finding.raised"),
        new_event(stream="indicator/on-time", type="document.drafted"),
    ]
    with pytest.raises(EventRejectedError, match="event 3 of 3") as caught:
        store.append(batch)
    assert "type" in caught.value.messages
    assert store.size() == 1
    assert store.stream_version("document/QP-07") == 0
    assert store.stream_version("finding/2026-0042") == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stream": "no-slash"}, "stream"),
        ({"stream": "document/" + "x" * 300}, "stream"),
        ({"type": "finding.raised"}, "type"),
        ({"type": "document.Drafted"}, "type"),
        ({"data": {"score": 1.5}}, "data"),
        ({"data": {"big": 2**53}}, "data"),
        ({"actor": ""}, "actor"),
        ({"actor": "line\nbreak"}, "actor"),
        ({"schema": 0}, "schema"),
        ({"meta": {"ip": 4}}, "meta"),
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at"),  # noqa: DTZ001  # naive on purpose
    ],
)
def test_envelope_rules_reject_the_named_field(
    store: EventStore, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(EventRejectedError) as caught:
        store.append([new_event(**overrides)])
    assert field in caught.value.messages
    assert store.size() == 1


@pytest.mark.parametrize("stream", ["ledger/keys", "ledger/blobs", "ledger/other"])
def test_append_refuses_the_ledgers_own_streams(store: EventStore, stream: str) -> None:
    with pytest.raises(EventRejectedError) as caught:
        store.append([new_event(stream=stream, type="ledger.key_registered")])
    assert "stream" in caught.value.messages
    assert store.size() == 1


def test_negative_expected_version_is_rejected(store: EventStore) -> None:
    with pytest.raises(EventRejectedError):
        store.append([new_event()], {"document/QP-07": -1})


def test_projectors_run_inside_the_append_transaction(store: EventStore) -> None:
    recorder = _Recorder()
    events = store.append(chain_of(3), projectors=[recorder])
    assert recorder.seen == [e.seq for e in events] == [2, 3, 4]
    assert recorder.visible_size == 4


def test_a_failing_projector_rolls_the_append_back(store: EventStore) -> None:
    recorder = _Recorder()
    with pytest.raises(EventRejectedError, match="projection refused"):
        store.append(chain_of(3), projectors=[recorder, _Failing()])
    assert store.size() == 1
    assert store.stream_version("document/QP-07") == 0
    assert store.events_for_command("x") == []
    (event,) = store.append([new_event()])
    assert event.seq == 2
    recheck(store)


def test_occurred_at_is_the_actors_claim(store: EventStore) -> None:
    claimed = datetime(2025, 12, 31, 23, 59, 59, 5, tzinfo=UTC)
    (event,) = store.append([new_event(occurred_at=claimed)])
    assert event.occurred_at == "2025-12-31T23:59:59.000005Z"
    assert event.recorded_at == "2026-01-05T08:00:00.000000Z"


def test_recorded_at_never_decreases_when_the_clock_steps_back(
    store: EventStore, clock: FixedClock
) -> None:
    clock.advance(hours=1)
    (late,) = store.append([new_event()])
    clock.advance(hours=-3)
    (stepped_back,) = store.append([new_event()])
    clock.advance(hours=5)
    (later,) = store.append([new_event()])
    assert late.recorded_at == "2026-01-05T09:00:00.000000Z"
    assert stepped_back.recorded_at == late.recorded_at
    assert later.recorded_at == "2026-01-05T11:00:00.000000Z"
    recheck(store)


def test_size_at_finds_the_prefix_known_at_an_instant(
    store: EventStore, clock: FixedClock
) -> None:
    start = clock.now()
    clock.advance(minutes=1)
    store.append(chain_of(3))  # 2..4 at 08:01
    clock.advance(minutes=1)
    store.append(chain_of(2))  # 5..6 at 08:02
    assert store.size_at(start - timedelta(seconds=1)) == 0
    assert store.size_at(start) == 1
    assert store.size_at(start + timedelta(seconds=90)) == 4
    assert store.size_at(start + timedelta(minutes=1)) == 4
    assert store.size_at(start + timedelta(days=1)) == 6
    with pytest.raises(EventRejectedError):
        store.size_at(datetime(2026, 1, 5))  # noqa: DTZ001  # naive on purpose


def test_two_stores_on_one_database_keep_one_chain(
    store: EventStore, engine: Engine, signer: SigningKey, clock: FixedClock
) -> None:
    """A second process-like store appends between; caches must notice the moved head."""
    other = EventStore(engine, signer, ORIGIN, clock=clock)
    for i in range(10):
        writer = store if i % 3 else other
        writer.append([new_event(data={"title": f"t{i}"})])
    assert store.size() == other.size() == 11
    recheck(store)


# --------------------------------------------------------------------------- reads


def test_reads_by_range_stream_and_batch(store: EventStore) -> None:
    store.append(chain_of(5))
    store.append(chain_of(2, stream="finding/1", type="finding.raised"))
    assert [e.seq for e in store.read(3, 5)] == [3, 4, 5]
    assert [e.seq for e in store.read(batch=2)] == list(range(1, 9))
    assert [json.loads(x)["seq"] for x in store.read_lines(6, batch=1)] == [6, 7, 8]
    assert list(store.read(9)) == []
    assert [e.version for e in store.read_stream("finding/1")] == [1, 2]
    assert store.read_stream("finding/none") == []
    assert store.stream_version("finding/none") == 0
    with pytest.raises(EventRejectedError):
        store.read(0)


def test_read_lines_are_the_canonical_envelopes(store: EventStore) -> None:
    store.append(chain_of(3))
    for line, event in zip(store.read_lines(), store.read(), strict=True):
        assert json.loads(line) == event.to_dict()
        assert b" " not in line.replace(b'"x', b"")  # JCS: no insignificant spaces


# --------------------------------------------------------------------------- Merkle


def test_root_and_proofs_match_the_tree_of_all_leaves_for_every_size(
    store: EventStore,
) -> None:
    store.append(chain_of(19))
    for i in range(20):
        store.append([new_event(stream=f"finding/{i % 4}", type="finding.raised")])
    leaves = _leaves(store)
    assert len(leaves) == 40
    roots = {n: merkle.root_from_leaves(leaves[:n]) for n in range(41)}
    assert store.root() == roots[40]
    for size in range(1, 41):
        assert store.root(size) == roots[size]
        for seq in range(1, size + 1):
            proof = store.inclusion_proof(seq, size)
            assert merkle.verify_inclusion(
                leaves[seq - 1], seq - 1, size, proof, roots[size]
            )
        for size1 in range(size + 1):
            proof = store.consistency_proof(size1, size)
            assert merkle.verify_consistency(
                size1, size, proof, roots[size1], roots[size]
            )
    assert store.inclusion_proof(40) == store.inclusion_proof(40, 40)
    assert store.consistency_proof(7) == store.consistency_proof(7, 40)


def test_proofs_outside_the_ledger_are_refused(store: EventStore) -> None:
    store.append(chain_of(4))
    with pytest.raises(NotFoundError):
        store.inclusion_proof(6)
    with pytest.raises(NotFoundError):
        store.inclusion_proof(0)
    with pytest.raises(EventRejectedError):
        store.inclusion_proof(4, 3)
    with pytest.raises(EventRejectedError):
        store.inclusion_proof(1, 6)
    with pytest.raises(EventRejectedError):
        store.root(6)
    with pytest.raises(EventRejectedError):
        store.consistency_proof(3, 2)
    with pytest.raises(EventRejectedError):
        store.consistency_proof(1, 9)
    assert store.consistency_proof(0, 3) == []
    assert store.root(0) == merkle.EMPTY_ROOT


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_verifies_and_is_stored_once_per_size(
    store: EventStore, signer: SigningKey
) -> None:
    store.append(chain_of(4))
    note = store.checkpoint()
    checkpoint = verify_checkpoint(note, ORIGIN, [signer.public_raw])
    assert (checkpoint.size, checkpoint.root) == (5, store.root(5))
    assert store.checkpoint() == note
    assert store.checkpoint_for(5) == note
    assert store.checkpoint_for(4) is None
    store.append(chain_of(2))
    later = store.checkpoint()
    assert parse_note(later)[0].size == 7
    assert store.checkpoints() == [(5, note), (7, later)]


def test_checkpoint_by_a_store_with_another_origin_is_refused(
    store: EventStore, engine: Engine, signer: SigningKey
) -> None:
    with pytest.raises(ConfigError, match="origin"):
        EventStore(engine, signer, "qms.other/ledger").checkpoint()
    assert store.checkpoints() == []


# --------------------------------------------------------------------------- keys


def test_key_rotation_moves_signing_to_the_new_key(
    store: EventStore, engine: Engine, signer: SigningKey, clock: FixedClock
) -> None:
    store.append([new_event()])
    new = SigningKey.generate()
    registered, revoked = store.rotate_ledger_key(new, "annual rotation")
    assert (registered.type, registered.key, registered.data["key_id"]) == (
        "ledger.key_registered",
        signer.key_id,
        new.key_id,
    )
    assert (revoked.type, revoked.key, revoked.data) == (
        "ledger.key_revoked",
        new.key_id,
        {"key_id": signer.key_id, "reason": "annual rotation"},
    )
    assert registered.meta["command_id"] == revoked.meta["command_id"]
    assert store.signer is new
    (after,) = store.append([new_event()])
    assert after.key == new.key_id
    old_store = EventStore(engine, signer, ORIGIN, clock=clock)
    with pytest.raises(KeyMaterialError, match=f"{signer.key_id} was revoked at seq 4"):
        old_store.append([new_event()])
    with pytest.raises(KeyMaterialError):
        old_store.checkpoint()
    verify_checkpoint(store.checkpoint(), ORIGIN, [new.public_raw])
    records = _key_records(store)
    assert records[signer.key_id].revoked_seq == 4
    assert records[new.key_id].registered_seq == 3
    recheck(store, signer.key_id)


def test_rotation_to_the_current_key_is_rejected(
    store: EventStore, signer: SigningKey
) -> None:
    with pytest.raises(EventRejectedError):
        store.rotate_ledger_key(signer)
    assert store.size() == 1


def test_register_and_revoke_an_esign_key(store: EventStore) -> None:
    alice = SigningKey.generate()
    (registered,) = store.register_key(
        alice.public_raw, holder="u-alice", purpose="esign", actor="u-admin"
    )
    assert registered.data == {
        "key_id": alice.key_id,
        "public_key": alice.public_b64,
        "holder": "u-alice",
        "purpose": "esign",
    }
    assert registered.actor == "u-admin"
    record = _key_records(store)[alice.key_id]
    assert (record.holder, record.purpose, record.registered_seq) == (
        "u-alice",
        "esign",
        2,
    )
    assert record.in_force_for(3)
    revoked = store.revoke_key(alice.key_id, "password reset", actor="u-admin")
    assert revoked.data == {"key_id": alice.key_id, "reason": "password reset"}
    record = _key_records(store)[alice.key_id]
    assert record.revoked_seq == 3
    assert not record.in_force_for(4)
    recheck(store)


def test_register_key_appends_extra_events_in_the_same_command(
    store: EventStore,
) -> None:
    bob = SigningKey.generate()
    events = store.register_key(
        bob.public_raw,
        holder="u-bob",
        purpose="esign",
        command_id="cmd-issue-bob",
        extra_events=[new_event(stream="user/u-bob", type="user.esign_key_issued")],
    )
    assert [e.type for e in events] == [
        "ledger.key_registered",
        "user.esign_key_issued",
    ]
    assert store.events_for_command("cmd-issue-bob") == events


@pytest.mark.parametrize(
    ("holder", "purpose", "field"),
    [
        ("u-alice", "ledger", "holder"),
        ("service", "esign", "holder"),
        ("system", "esign", "holder"),
        ("", "esign", "holder"),
        ("u-alice", "audit", "purpose"),
    ],
)
def test_key_registration_rules(
    store: EventStore, holder: str, purpose: str, field: str
) -> None:
    with pytest.raises(EventRejectedError) as caught:
        store.register_key(
            SigningKey.generate().public_raw, holder=holder, purpose=purpose
        )
    assert field in caught.value.messages
    assert store.size() == 1


def test_a_key_is_registered_once(store: EventStore, signer: SigningKey) -> None:
    alice = SigningKey.generate()
    store.register_key(alice.public_raw, holder="u-alice", purpose="esign")
    with pytest.raises(EventRejectedError, match="registered already"):
        store.register_key(alice.public_raw, holder="u-alice", purpose="esign")
    with pytest.raises(EventRejectedError, match="registered already"):
        store.register_key(signer.public_raw, holder="service", purpose="ledger")
    with pytest.raises(EventRejectedError):
        store.register_key(b"short", holder="u-alice", purpose="esign")
    assert store.size() == 2


def test_revocation_rules(store: EventStore, signer: SigningKey) -> None:
    alice = SigningKey.generate()
    store.register_key(alice.public_raw, holder="u-alice", purpose="esign")
    with pytest.raises(EventRejectedError) as caught:
        store.revoke_key(alice.key_id, "  ")
    assert "reason" in caught.value.messages
    with pytest.raises(EventRejectedError) as caught:
        store.revoke_key("00112233aabbccdd", "lost")
    assert "key_id" in caught.value.messages
    with pytest.raises(EventRejectedError, match="rotate_ledger_key"):
        store.revoke_key(signer.key_id, "lost")
    store.revoke_key(alice.key_id, "left the agency")
    with pytest.raises(EventRejectedError, match="was revoked at seq 3"):
        store.revoke_key(alice.key_id, "again")
    assert store.size() == 3


def test_only_a_registered_ledger_key_may_sign(
    store: EventStore, engine: Engine, clock: FixedClock
) -> None:
    stranger = SigningKey.generate()
    with pytest.raises(KeyMaterialError, match="not a registered key"):
        EventStore(engine, stranger, ORIGIN, clock=clock).append([new_event()])
    alice = SigningKey.generate()
    store.register_key(alice.public_raw, holder="u-alice", purpose="esign")
    with pytest.raises(KeyMaterialError, match="registered for esign"):
        EventStore(engine, alice, ORIGIN, clock=clock).append([new_event()])
    assert store.size() == 2


# --------------------------------------------------------------------------- blobs


def test_blob_put_get_is_content_addressed_and_idempotent(store: EventStore) -> None:
    content = "QP-07 rev B — 质量手册".encode()
    digest = store.put_blob(content)
    assert digest == hashlib.sha256(content).hexdigest()
    assert store.put_blob(content) == digest
    assert store.get_blob(digest) == content
    assert store.blob_digests() == [digest]
    with pytest.raises(NotFoundError):
        store.get_blob(hashlib.sha256(b"absent").hexdigest())
    with pytest.raises(NotFoundError):
        store.get_blob("not-a-digest")


def test_blob_whose_bytes_do_not_match_fails_verification(
    store: EventStore, engine: Engine
) -> None:
    digest = hashlib.sha256(b"the real file").hexdigest()
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO ledger_blobs (digest, size, data) VALUES (:d, 4, :b)"),
            {"d": digest, "b": b"fake"},
        )
    with pytest.raises(
        VerificationError, match=f"blob {digest} does not match its digest"
    ):
        store.get_blob(digest)


def test_blob_disposal_records_an_event_and_removes_the_bytes(
    store: EventStore,
) -> None:
    digest = store.put_blob(b"evidence photo")
    kept = store.put_blob(b"kept file")
    with pytest.raises(EventRejectedError) as caught:
        store.dispose_blob(digest, " ", actor="u-admin")
    assert "reason" in caught.value.messages
    assert store.size() == 1
    event = store.dispose_blob(digest, "retention period ended", actor="u-admin")
    assert (event.stream, event.type, event.actor) == (
        "ledger/blobs",
        "ledger.blob_disposed",
        "u-admin",
    )
    assert event.data == {"blob": digest, "reason": "retention period ended"}
    assert store.read_stream("ledger/blobs") == [event]
    with pytest.raises(NotFoundError, match="disposed"):
        store.get_blob(digest)
    assert store.blob_digests() == [kept]
    with pytest.raises(EventRejectedError, match="disposed"):
        store.dispose_blob(digest, "again", actor="u-admin")
    with pytest.raises(EventRejectedError, match="disposed"):
        store.put_blob(b"evidence photo")
    with pytest.raises(NotFoundError):
        store.dispose_blob(
            hashlib.sha256(b"never stored").hexdigest(), "x", actor="u-admin"
        )
    assert store.size() == 2
    recheck(store)
