"""What the certifier's area stands on, on both dialects: the streamed zip export, the
one-at-a-time verification runs and their kept results, a kept checkpoint's check."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ledger.clock import FixedClock
from ledger.integrity.checkpoint import Checkpoint, parse_note, sign_checkpoint
from ledger.integrity.envelope import NewEvent
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import verify_export
from ledger.store import EventStore
from ledger.store import consistency as cons
from ledger.store.export_zip import stream_export_zip
from ledger.store.verifications import (
    RunGoingError,
    claim_run,
    ensure_tables,
    get_run,
    latest_run,
    run_claimed,
)
from tests.ledger.store.test_export import _attach


def _grow(store: EventStore, count: int) -> None:
    store.append(
        [
            NewEvent(
                stream=f"document/QP-{i}", type="document.drafted", data={}, actor="u-a"
            )
            for i in range(count)
        ]
    )


def test_the_streamed_zip_is_an_export_that_verifies(
    store: EventStore, tmp_path: Path
) -> None:
    _attach(store, b"QP-01 revision A")
    _grow(store, 40)
    export = stream_export_zip(store)
    out = tmp_path / "e.zip"
    with out.open("wb") as handle:
        for chunk in export.chunks:
            handle.write(chunk)
    result = verify_export(out, trusted_key_id=store.signer.key_id)
    assert (result.head.size, result.blobs_checked) == (store.size(), 1)
    assert export.size == store.size()
    assert parse_note(export.checkpoint)[0].root == store.root()


def test_the_streamed_zip_is_handed_out_while_it_is_read(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        _grow(store, 500)
    monkeypatch.setattr("ledger.store.export_zip.CHUNK", 4096)
    export = stream_export_zip(store)
    sizes = [len(chunk) for chunk in export.chunks]
    # Many chunks, none larger than CHUNK and what deflate keeps back between two
    # outputs: the zip is never held whole.
    assert len(sizes) >= 5
    assert max(sizes) < 4096 + 65536
    assert sum(sizes) > 3 * max(sizes)


def test_one_verification_at_a_time_and_its_result_is_kept(
    store: EventStore, clock: FixedClock
) -> None:
    _grow(store, 5)
    assert latest_run(store.engine) is None
    run = claim_run(store, clock, "u-cert")
    assert (run.outcome, run.target, run.checked) == ("running", store.size(), 0)
    with pytest.raises(RunGoingError) as going:
        claim_run(store, clock, "u-other")
    assert going.value.run.id == run.id
    ended = run_claimed(store, clock, run.id, workers=1)
    assert (ended.outcome, ended.size, ended.percent) == ("ok", store.size(), 100)
    assert ended.summary().startswith(f"OK n={store.size()} root=")
    again = claim_run(store, clock, "u-other")  # the guard was given back
    assert again.id != run.id
    run_claimed(store, clock, again.id, workers=1)
    last = latest_run(store.engine, finished=True)
    assert last is not None
    assert last.id == again.id
    assert get_run(store.engine, 999) is None


def test_a_run_whose_process_ended_no_longer_holds_the_guard(
    store: EventStore, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = claim_run(store, clock, "u-cert")
    monkeypatch.setattr("ledger.store.verifications.STALE_AFTER", -1.0)
    found = get_run(store.engine, run.id)
    assert found is not None
    assert found.outcome == "abandoned"
    assert claim_run(store, clock, "u-cert").id != run.id


def test_kept_checkpoints_against_the_latest(
    store: EventStore, signer: SigningKey
) -> None:
    _grow(store, 3)
    kept = store.checkpoint()
    kept_size = store.size()
    _grow(store, 7)
    latest = store.checkpoint()
    ok = cons.check_kept_checkpoint(store, kept, latest)
    assert ok.ok
    assert (ok.size, ok.latest_size) == (kept_size, store.size())
    assert ok.proof == store.consistency_proof(kept_size, store.size())
    same = cons.check_kept_checkpoint(store, latest, latest)
    assert same.ok
    origin = store.origin
    root = store.root(kept_size)
    cases = {
        sign_checkpoint(
            Checkpoint(origin, kept_size, bytes(32)), signer
        ): cons.ROOT_MISMATCH,
        sign_checkpoint(
            Checkpoint(origin, kept_size, root), SigningKey.generate()
        ): cons.BAD_SIGNATURE,
        sign_checkpoint(
            Checkpoint(origin, store.size() + 1, root), signer
        ): cons.LARGER,
        sign_checkpoint(
            Checkpoint("other.test/log", 2, root), signer
        ): cons.OTHER_ORIGIN,
        "no checkpoint": cons.MALFORMED,
    }
    for text, problem in cases.items():
        assert cons.check_kept_checkpoint(store, text, latest).problem == problem


def test_of_two_claims_at_once_one_gets_the_run(
    store: EventStore, clock: FixedClock
) -> None:
    ensure_tables(store.engine)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def claim() -> None:
        start.wait()
        try:
            claim_run(store, clock, "u-cert")
            outcomes.append("claimed")
        except RunGoingError:
            outcomes.append("going")

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed", "going"]
