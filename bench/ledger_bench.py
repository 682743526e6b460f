"""The ledger side: EventStore appends, full verification, proofs from a big ledger.

Uses only the store's public API (`ledger.store`) and the offline verifier
(`ledger.verify`), as an application and a certifier would.
"""

from __future__ import annotations

import resource
import secrets
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.harness import payload
from ledger.integrity.envelope import NewEvent
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import verify_export, verify_lines
from ledger.store import EventStore, create_engine_for, migrate
from ledger.store.export import write_export
from ledger.store.verify import verify_store

ORIGIN = "bench.qms.example/ledger"
ACTOR = "u-auditor-03"


def open_store(url: str) -> EventStore:
    """Return an initialized store on an empty database, signing with a fresh key."""
    engine = create_engine_for(url)
    migrate(engine)
    store = EventStore(engine, SigningKey.generate(), ORIGIN)
    store.initialize()
    return store


class StoreAppender:
    """Appends findings with `EventStore.append`, passing expected stream versions."""

    def __init__(self, name: str, store: EventStore, streams: int) -> None:
        self.name = name
        self.store = store
        run = uuid.uuid4().hex[:8]
        self._streams = [f"finding/{run}-{k}" for k in range(streams)]
        self._versions = dict.fromkeys(self._streams, 0)
        self._count = 0

    def _event(self, stream: str) -> NewEvent:
        self._count += 1
        return NewEvent(
            stream=stream, type="finding.raised", data=payload(self._count), actor=ACTOR
        )

    def single(self, count: int) -> None:
        """Append `count` events, one `append` call (transaction) each."""
        streams, versions, append = self._streams, self._versions, self.store.append
        for i in range(count):
            stream = streams[i % len(streams)]
            append([self._event(stream)], {stream: versions[stream]})
            versions[stream] += 1

    def batches(self, count: int, size: int) -> None:
        """Append `count` transactions of `size` events spread over the streams."""
        streams, versions = self._streams, self._versions
        for _ in range(count):
            expected = dict(versions)
            events = [self._event(streams[i % len(streams)]) for i in range(size)]
            self.store.append(events, expected)
            for event in events:
                versions[event.stream] += 1

    def grow_to(self, size: int, batch: int = 1000) -> None:
        """Append batches until the ledger holds `size` events."""
        while (have := self.store.size()) < size:
            self.batches(1, min(batch, size - have))

    def close(self) -> None:
        """Close the store's connections."""
        self.store.engine.dispose()


def verify_from_database(store: EventStore, size: int, workers: int) -> float:
    """Verify events 1..size as read back from the database; return the seconds taken.

    Raises:
        RuntimeError: the verifier covered another number of events.
    """
    start = time.perf_counter()
    head = verify_lines(
        store.read_lines(1, size), trusted_key_id=store.signer.key_id, workers=workers
    )
    seconds = time.perf_counter() - start
    if head.size != size:
        raise RuntimeError(f"verified {head.size} events, expected {size}")
    return seconds


def verify_store_run(store: EventStore, workers: int) -> tuple[float, int]:
    """Run `qms verify`'s check (`verify_store`) on `store`; return seconds and events."""
    start = time.perf_counter()
    head, _sizes = verify_store(store, workers=workers)
    return time.perf_counter() - start, head.size


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process or its largest child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, child) / 1024  # ru_maxrss is in KiB on Linux


def export_ledger(store: EventStore, folder: Path) -> Path:
    """Write the whole ledger as an export folder (events.jsonl + checkpoint)."""
    write_export(store, folder, with_blobs=False)
    return folder


def verify_export_folder(folder: Path, trusted_key_id: str, workers: int) -> float:
    """Verify an export folder offline; return the seconds taken."""
    start = time.perf_counter()
    verify_export(folder, trusted_key_id=trusted_key_id, workers=workers)
    return time.perf_counter() - start


def _latencies_ms(samples: int, operation: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        operation()
        out.append((time.perf_counter() - start) * 1000)
    return out


def proof_latencies(store: EventStore, samples: int) -> dict[str, list[float]]:
    """Time inclusion proofs of random seqs, consistency proofs from random sizes to
    the head, and the root of the whole tree; milliseconds per call.
    """
    size = store.size()
    for _ in range(5):  # warm the connection pool and statement caches
        store.inclusion_proof(1 + secrets.randbelow(size))
    return {
        "inclusion": _latencies_ms(
            samples, lambda: store.inclusion_proof(1 + secrets.randbelow(size))
        ),
        "consistency": _latencies_ms(
            samples, lambda: store.consistency_proof(1 + secrets.randbelow(size - 1))
        ),
        "root": _latencies_ms(samples, store.root),
    }


def ed25519_verify_rate(count: int) -> float:
    """Return Ed25519 verifications per second on one core (`cryptography`)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    messages = [b"qms-ledger:event:v1\n" + secrets.token_bytes(32) for _ in range(256)]
    signed = [(private.sign(m), m) for m in messages]
    start = time.perf_counter()
    for i in range(count):
        sig, message = signed[i % len(signed)]
        public.verify(sig, message)
    return count / (time.perf_counter() - start)
