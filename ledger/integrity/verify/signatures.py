"""Event signature checks of the offline verifier, inline or in worker processes.

Ed25519 checks are the costliest step of verifying, so once a ledger is large enough to
repay starting them they run in batches in worker processes; every other check runs in
order in the caller, which learns of a failing signature at the latest in `first_failure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIG_BATCH = 2048
"""Signatures checked together; also how often the verifier looks for a failure."""
POOL_AFTER = 4096
"""Events seen before worker processes are worth starting."""

_worker_keys: dict[bytes, Ed25519PublicKey] = {}


def check_batch(
    items: Sequence[tuple[int, bytes, bytes, bytes]],
) -> tuple[int, bytes] | None:
    """Return the first (seq, key) in `items` whose signature fails (runs in a worker)."""
    for seq, public, message, sig in items:
        key = _worker_keys.get(public)
        if key is None:
            key = _worker_keys[public] = Ed25519PublicKey.from_public_bytes(public)
        try:
            key.verify(sig, message)
        except InvalidSignature:
            return seq, public
    return None


class SignatureChecks:
    """Collects (seq, key, message, signature) and checks them, inline or in parallel."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[int, bytes, bytes, bytes]] = []
        self._futures: list[tuple[int, Future[tuple[int, bytes] | None]]] = []
        self._failure: tuple[int, bytes] | None = None
        self._seen = 0

    def add(self, seq: int, public: bytes, message: bytes, sig: bytes) -> None:
        """Queue the signature of event `seq`."""
        self._pending.append((seq, public, message, sig))
        self._seen += 1
        if len(self._pending) >= SIG_BATCH:
            self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self._workers > 1 and self._seen >= POOL_AFTER:
            if self._pool is None:
                # forkserver: workers start clean even when the caller holds threads
                # (a database pool, a web server).
                self._pool = ProcessPoolExecutor(
                    self._workers, mp_context=get_context("forkserver")
                )
            self._futures.append((batch[0][0], self._pool.submit(check_batch, batch)))
            self._reap(block=False)
        else:
            failed = check_batch(batch)
            if failed is not None:
                self._note(failed)

    def _note(self, failed: tuple[int, bytes]) -> None:
        if self._failure is None or failed[0] < self._failure[0]:
            self._failure = failed

    def _reap(self, *, block: bool, before: int | None = None) -> None:
        keep = []
        for start, fut in self._futures:
            if (block and (before is None or start < before)) or fut.done():
                result = fut.result()
            else:
                keep.append((start, fut))
                continue
            if result is not None:
                self._note(result)
        self._futures = keep

    def known_failure(self) -> tuple[int, bytes] | None:
        """Return a failing seq found so far, without waiting."""
        self._reap(block=False)
        return self._failure

    def first_failure(self, before: int | None = None) -> tuple[int, bytes] | None:
        """Check everything submitted so far and return the first failing seq."""
        self._flush()
        self._reap(block=True, before=before)
        return self._failure

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
