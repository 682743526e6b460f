"""The chain walk of the offline verifier: every event in `seq` order, checks (1)-(12).

The numbered checks follow docs/ledger-format.md section 6 in the order of section 8
reading 2. Verification stops at the first failure, because later links prove nothing,
and raises `VerificationError(seq, reason)`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from ledger.errors import VerificationError
from ledger.integrity import merkle
from ledger.integrity.chain import GENESIS_PREV
from ledger.integrity.envelope import KEY_ID_RE
from ledger.integrity.esig import esig_problem
from ledger.integrity.signing import key_id as compute_key_id
from ledger.integrity.verify.chunks import (
    CHUNK,
    TOO_DEEP,
    Facts,
    RowSource,
    check_chunk,
    check_range,
    signature_verifies,
)
from ledger.integrity.verify.signatures import POOL_AFTER
from ledger.integrity.verify.state import LedgerState, VerifiedHead

Progress = Callable[[int], None]
Job = tuple[list[bytes], int, dict[str, bytes], list[Sequence[object]] | None]
"""The arguments of `check_chunk` for one chunk, kept until its facts are applied."""
RangeJob = tuple[RowSource, int, int, dict[str, bytes]]
"""The arguments of `check_range` for one chunk, kept until its facts are applied."""
Pending = tuple[int, Future[list[Facts]], Job | None, RangeJob | None]
"""A chunk in a worker: its first seq, its facts to come, and its job, to run again
here when the worker fails."""


@dataclass(slots=True)
class Verifier:
    """Streaming verifier: feed envelope lines in `seq` order, then `finish()`.

    `trusted_key` is the id of the first ledger key, known out of band; without it the
    genesis key is accepted as it stands (reported as `genesis_key`). `roots_at` names
    tree sizes whose roots (and ledger keys) the caller wants, e.g. an older checkpoint's.

    Lines go in chunks (`chunks.CHUNK`) through `chunks.check_chunk`, inline or, once
    the ledger is large enough to repay starting them, in `workers` processes; the
    facts come back in `seq` order and the checks that depend on order run here on
    them (`_apply`), so the first failure does not depend on where a chunk ran.
    """

    trusted_key: str | None = None
    roots_at: frozenset[int] = frozenset()
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    progress: Progress | None = None

    _size: int = 0
    _sent: int = 0
    _prev: bytes = GENESIS_PREV
    _prev_hex: str = GENESIS_PREV.hex()
    _recorded_at: str = ""
    _versions: dict[str, int] = field(default_factory=dict)
    _state: LedgerState = field(default_factory=LedgerState)
    _frontier: merkle.Frontier = field(default_factory=merkle.Frontier)
    _roots: dict[int, bytes] = field(default_factory=dict)
    _esigs: int = 0
    _pool: ProcessPoolExecutor | None = None
    _pending: deque[Pending] = field(default_factory=deque)
    _last: int = 0
    _ended: bool = False
    _publics: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.trusted_key is not None and not KEY_ID_RE.fullmatch(self.trusted_key):
            raise ValueError("trusted key id must be 16 lowercase hex digits")

    @property
    def size(self) -> int:
        """Events accepted so far."""
        return self._size

    def feed(self, line: bytes) -> None:
        """Check the next event line.

        Raises:
            VerificationError: this event fails.
        """
        self._run(iter(((line, None),)))

    def feed_all(self, lines: Iterable[bytes]) -> None:
        """Feed every line.

        Raises:
            VerificationError: an event fails, or reading the lines fails (a failure
                of an event read before wins).
        """
        self._run((line, None) for line in lines)

    def feed_rows(self, rows: Iterable[tuple[bytes, Sequence[object]]]) -> None:
        """Feed every line with the copies a store keeps of its members (`COPIED`).

        A copy that differs from the envelope fails its event after the event's own
        checks pass.

        Raises:
            VerificationError: an event or its copies fail, or reading the rows fails.
        """
        self._run(iter(rows))

    def feed_ranges(self, source: RowSource, last: int) -> None:
        """Feed events 1..`last` as `source` gives them, with the copies of `feed_rows`.

        `source(first, last)` returns the lines with `first <= seq <= last` and their
        copies, in seq order. It must be picklable: each worker reads the chunks it
        checks, so the lines never pass through this process. The result, and the first
        failure, are those of `feed_rows` over the same rows in seq order: rows missing
        from a chunk shift the rest into the places of the missing ones, where (3)
        fails, and after a short chunk the next row read decides, as it would there.

        Raises:
            VerificationError: an event or its copies fail.
        """
        if self._sent:
            raise ValueError("feed_ranges starts at seq 1")
        self._last = last
        try:
            first = 1
            while first <= last and not self._ended:
                high = min(first + CHUNK - 1, last)
                self._send_range(source, first, high)
                first = high + 1
            self._drain(0)
        except BaseException:
            self._close()
            raise
        self._close()

    def _run(self, items: Iterator[tuple[bytes, Sequence[object] | None]]) -> None:
        lines: list[bytes] = []
        copies: list[Sequence[object]] = []
        try:
            while True:
                try:
                    line, copy = next(items)
                except StopIteration:
                    break
                except VerificationError:
                    # the events read before the failure come first
                    self._send(lines, copies)
                    self._drain(0)
                    raise
                lines.append(line)
                if copy is not None:
                    copies.append(copy)
                if len(lines) == CHUNK:
                    self._send(lines, copies)
                    lines, copies = [], []
            self._send(lines, copies)
            self._drain(0)
        except BaseException:
            self._close()
            raise

    def _send(self, lines: list[bytes], copies: list[Sequence[object]]) -> None:
        """Check a chunk inline, or hand it to a worker and apply what is due."""
        if not lines:
            return
        if len(copies) not in (0, len(lines)):
            raise ValueError("give copies for every line or for none")
        first = self._sent + 1
        self._sent += len(lines)
        keys = self._known_keys()
        rows = copies or None
        pool = self._pool_for(first)
        if pool is None:
            self._apply_chunk(first, check_chunk(lines, first, keys, rows))
            return
        args = (lines, first, keys, rows)
        self._queue((first, pool.submit(check_chunk, *args), args, None))

    @property
    def _pooled(self) -> bool:
        """Whether chunks go to worker processes: with two workers or more, and with
        one when the machine has another core for this process's walk (the chunks'
        checks are about nine tenths of the work, the walk the rest)."""
        return self.workers > 1 or (self.workers == 1 and (os.cpu_count() or 1) > 1)

    def _pool_for(self, first: int) -> ProcessPoolExecutor | None:
        """Return the workers for the chunk starting at `first`, started when due;
        None while chunks are checked here."""
        if self._pool is None and self._pooled and first > POOL_AFTER:
            # forkserver: workers start clean even when the caller holds threads (a
            # database pool, a web server).
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("forkserver")
            )
        return self._pool

    def _queue(self, entry: Pending) -> None:
        """Keep a submitted chunk in order, and apply what is due."""
        self._pending.append(entry)
        self._drain(2 * self.workers + 2, ready_only=True)
        self._drain(2 * self.workers + 2)

    def _send_range(self, source: RowSource, first: int, high: int) -> None:
        """Check events first..high inline, or have a worker read and check them."""
        self._sent = high
        keys = self._known_keys()
        args: RangeJob = (source, first, high, keys)
        pool = self._pool_for(first)
        if pool is None:
            self._apply_range(args, check_range(*args))
            return
        self._queue((first, pool.submit(check_range, *args), None, args))

    def _apply_range(self, job: RangeJob, facts: list[Facts]) -> None:
        """Apply a chunk's facts; after a short one, the next row read decides."""
        source, first, high, _keys = job
        last = self._last
        self._apply_chunk(first, facts)
        if len(facts) == high - first + 1:
            return
        self._ended = True  # rows are missing: nothing after the next row counts
        place = first + len(facts)
        lo = high + 1
        while lo <= last:
            hi = min(lo + CHUNK - 1, last)
            lines, copies = source(lo, hi)
            if lines:
                keys = self._known_keys()
                self._apply_chunk(
                    place, check_chunk(lines[:1], place, keys, copies[:1] or None)
                )
                return
            lo = hi + 1

    def _drain(self, keep: int, *, ready_only: bool = False) -> None:
        """Apply the oldest pending chunks until at most `keep` are in flight.

        With `ready_only`, also apply every oldest chunk whose facts are ready.
        """
        pending = self._pending
        while pending:
            first, job, lines_job, range_job = pending[0]
            ready = job.done()
            if len(pending) <= keep and not (ready_only and ready):
                return
            pending.popleft()
            if self._ended:
                continue  # after a short chunk, later chunks prove nothing
            try:
                facts = job.result()
            except Exception:  # noqa: BLE001 - a lost worker, or facts too deep to send back
                facts = None
            if range_job is not None:
                # a failed job runs again here, where the walk reports it
                if facts is None:
                    facts = check_range(*range_job)
                self._apply_range(range_job, facts)
            elif lines_job is not None:
                if facts is None:
                    facts = check_chunk(*lines_job)
                self._apply_chunk(first, facts)

    def _known_keys(self) -> dict[str, bytes]:
        keys = self._state.keys
        if len(self._publics) != len(keys):
            self._publics = {kid: k.public_key for kid, k in keys.items()}
        return self._publics

    def _apply_chunk(self, first: int, facts: list[Facts]) -> None:
        progress = self.progress
        seq = first
        for fact in facts:
            try:
                self._apply(seq, fact)
            except RecursionError:  # a walk over deep data
                raise VerificationError(seq, "JSON is nested too deeply") from None
            if progress is not None and seq % CHUNK == 0:
                progress(seq)
            seq += 1

    def _close(self) -> None:
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def finish(self) -> VerifiedHead:
        """Return what the chain proves.

        Raises:
            VerificationError: the ledger is empty.
        """
        self._close()
        if self._size == 0:
            raise VerificationError(1, "the ledger holds no events")
        if self.progress is not None:
            self.progress(self._size)
        state = self._state
        return VerifiedHead(
            size=self._size,
            hash=self._prev,
            root=self._frontier.root(),
            origin=state.origin,
            genesis_key=state.genesis_key,
            keys=dict(state.keys),
            roots=dict(self._roots),
            esignatures=self._esigs,
            blob_refs=dict(state.blob_refs),
            disposed=frozenset(state.disposed),
            versions=dict(self._versions),
        )

    def _apply(self, seq: int, fact: Facts) -> None:  # the numbered steps of the spec
        def fail(reason: str) -> VerificationError:
            return VerificationError(seq, reason)

        # (1) a JSON object, (2) envelope shape and formats, and the line is its JCS
        if fact[0] is None:
            raise fail(fact[1])
        (
            env_seq,
            stream,
            version,
            recorded_at,
            prev,
            kid,
            etype,
            digest,
            leaf,
            hash_hex,
            bad_hash,
            sig,
            sig_checked,
            data,
            actor,
            esig_checked,
            refs,
            copy_problem,
        ) = fact
        # (3) seq without gaps or repeats
        if env_seq != seq:
            raise fail(
                f"seq is {env_seq}, expected {seq} (an event is missing, repeated or moved)"
            )
        # (4) per-stream version without gaps
        want_version = self._versions.get(stream, 0) + 1
        if version != want_version:
            raise fail(f"stream {stream} version is {version}, expected {want_version}")
        # (5) recorded_at never decreasing
        if recorded_at < self._recorded_at:
            raise fail(
                f"recorded_at {recorded_at} is before the previous event's "
                f"{self._recorded_at}"
            )
        # (6) prev links to the previous event's hash
        if prev != self._prev_hex:
            raise fail(f"prev mismatch: expected {self._prev_hex}, got {prev}")
        # (7) hash is SHA-256 of JCS(body)
        if bad_hash is not None:
            raise fail(f"hash mismatch: computed {hash_hex}, stated {bad_hash}")
        # (8) the signing key is a registered ledger key in force (genesis: its own key)
        state = self._state
        env = {"type": etype, "stream": stream, "key": kid, "data": data}
        if seq == 1:
            public = state.genesis(env, self.trusted_key)
        else:
            public = state.signing_key(seq, env)
        # (9) the event signature (checked with the chunk when the key was known)
        if sig_checked is not None and sig_checked[0] == public:
            verified = sig_checked[1]
        else:
            verified = signature_verifies(public, sig, digest)
        if not verified:
            raise fail(f"signature does not verify with key {compute_key_id(public)}")
        # (10) a person's e-signature, when the event carries one
        if data is not None and "esig" in data:
            problem = esig_problem(
                data["esig"],
                seq=seq,
                actor=actor,
                stream=stream,
                keys=state.keys,
                checked=esig_checked,
            )
            if problem is not None:
                raise fail(problem)
            self._esigs += 1
        # (11) key and blob events change what later events are checked against
        state.apply(seq, etype, stream, data or {})
        if refs is not None:
            if refs == TOO_DEEP:
                raise fail(TOO_DEEP)
            state.note_refs(seq, refs)
        # (12) the Merkle tree grows by this event's hash
        self._frontier.push(leaf)
        self._size = seq
        self._prev = digest
        self._prev_hex = hash_hex
        self._recorded_at = recorded_at
        self._versions[stream] = want_version
        if seq in self.roots_at:
            self._roots[seq] = self._frontier.root()
        # a store's copies of the members, after the event's own checks
        if copy_problem is not None:
            raise fail(copy_problem)


def verify_lines(
    lines: Iterable[bytes],
    *,
    trusted_key_id: str | None = None,
    roots_at: Iterable[int] = (),
    workers: int | None = None,
    progress: Progress | None = None,
) -> VerifiedHead:
    """Verify a sequence of envelope lines (JCS, no newline) from seq 1 on.

    Raises:
        VerificationError: at the first event that fails.
    """
    verifier = Verifier(
        trusted_key=trusted_key_id,
        roots_at=frozenset(roots_at),
        workers=os.cpu_count() or 1 if workers is None else workers,
        progress=progress,
    )
    verifier.feed_all(lines)
    return verifier.finish()
