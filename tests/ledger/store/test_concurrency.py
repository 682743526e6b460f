"""Concurrent appends from separate processes keep one gapless, verifiable chain."""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Empty

import pytest

from ledger.errors import ConcurrencyError
from ledger.integrity.signing import (
    SigningKey,
    load_private_key_file,
    write_private_key_file,
)
from ledger.store import EventStore, create_engine_for, migrate
from tests.support.builders import new_event, recheck
from tests.support.origin import ORIGIN

pytestmark = pytest.mark.slow

WORKERS = 8
APPENDS = 250
SHARED = "document/QP-shared"


def _worker(
    url: str,
    key_file: str,
    worker: int,
    barrier: Barrier,
    results: Queue[tuple[int, int, int, int]],
) -> None:
    """Append APPENDS events: even ones to the shared stream with the version just
    read as expected version, odd ones to this worker's own stream."""
    engine = create_engine_for(url)
    store = EventStore(engine, load_private_key_file(Path(key_file)), ORIGIN)
    successes = conflicts = private = 0
    barrier.wait(timeout=120)
    try:
        for i in range(APPENDS):
            try:
                if i % 2:
                    store.append(
                        [new_event(stream=f"finding/w{worker}", type="finding.raised")]
                    )
                    private += 1
                else:
                    version = store.stream_version(SHARED)
                    store.append(
                        [new_event(stream=SHARED, data={"worker": worker, "i": i})],
                        {SHARED: version},
                    )
                successes += 1
            except ConcurrencyError:
                conflicts += 1
    finally:
        engine.dispose()
    results.put((worker, successes, conflicts, private))


def test_concurrent_appends_from_processes_keep_one_gapless_chain(
    engine_url: str, tmp_path: Path, signer: SigningKey
) -> None:
    engine = create_engine_for(engine_url)
    migrate(engine)
    store = EventStore(engine, signer, ORIGIN)
    store.initialize()
    key_file = tmp_path / "signing-key.pem"
    write_private_key_file(key_file, signer)

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    processes = [
        context.Process(
            target=_worker, args=(engine_url, str(key_file), n, barrier, results)
        )
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(results.get(timeout=300))
    except Empty:
        pytest.fail(f"only {len(outcomes)} of {WORKERS} workers reported")
    finally:
        for process in processes:
            process.join(timeout=60)
        results.close()
        results.join_thread()

    successes = sum(o[1] for o in outcomes)
    conflicts = sum(o[2] for o in outcomes)
    assert successes + conflicts == WORKERS * APPENDS
    assert all(o[3] == APPENDS // 2 for o in outcomes)  # own streams never conflict
    size = store.size()
    assert size == 1 + successes
    events = list(store.read())
    assert [e.seq for e in events] == list(range(1, size + 1))
    versions: dict[str, list[int]] = defaultdict(list)
    for event in events:
        versions[event.stream].append(event.version)
    for stream, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), stream
    for worker in range(WORKERS):
        assert len(versions[f"finding/w{worker}"]) == APPENDS // 2
    recheck(store, signer.key_id)
    engine.dispose()
