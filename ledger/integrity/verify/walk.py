"""The chain walk of the offline verifier: every event in `seq` order, checks (1)-(12).

The numbered checks follow docs/ledger-format.md section 6 in the order of section 8
reading 2. Verification stops at the first failure, because later links prove nothing,
and raises `VerificationError(seq, reason)`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ledger.errors import VerificationError
from ledger.integrity import merkle
from ledger.integrity.chain import GENESIS_PREV, body_hash, signature_message
from ledger.integrity.envelope import KEY_ID_RE
from ledger.integrity.esig import esig_problem
from ledger.integrity.signing import key_id as compute_key_id
from ledger.integrity.verify.lines import read_envelope
from ledger.integrity.verify.signatures import SIG_BATCH, SignatureChecks
from ledger.integrity.verify.state import LedgerState, VerifiedHead

Progress = Callable[[int], None]


@dataclass(slots=True)
class Verifier:
    """Streaming verifier: feed envelope lines in `seq` order, then `finish()`.

    `trusted_key` is the id of the first ledger key, known out of band; without it the
    genesis key is accepted as it stands (reported as `genesis_key`). `roots_at` names
    tree sizes whose roots (and ledger keys) the caller wants, e.g. an older checkpoint's.
    """

    trusted_key: str | None = None
    roots_at: frozenset[int] = frozenset()
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    progress: Progress | None = None

    _size: int = 0
    _prev: bytes = GENESIS_PREV
    _recorded_at: str = ""
    _versions: dict[str, int] = field(default_factory=dict)
    _state: LedgerState = field(default_factory=LedgerState)
    _frontier: merkle.Frontier = field(default_factory=merkle.Frontier)
    _roots: dict[int, bytes] = field(default_factory=dict)
    _esigs: int = 0
    _checks: SignatureChecks | None = None

    def __post_init__(self) -> None:
        if self.trusted_key is not None and not KEY_ID_RE.fullmatch(self.trusted_key):
            raise ValueError("trusted key id must be 16 lowercase hex digits")
        self._checks = SignatureChecks(self.workers)

    @property
    def size(self) -> int:
        """Events accepted so far."""
        return self._size

    def feed(self, line: bytes) -> None:
        """Check the next event line.

        Raises:
            VerificationError: this event, or an earlier one's signature, fails.
        """
        seq = self._size + 1
        try:
            self._check(seq, line)
        except VerificationError as exc:
            self._raise_first(exc)
        except RecursionError:  # json, canonicalization or a walk over deep data
            self._raise_first(VerificationError(seq, "JSON is nested too deeply"))
        if seq % SIG_BATCH == 0:
            failed = self._sig_checks().known_failure()
            if failed is not None:
                self._raise_first(None)
            if self.progress is not None:
                self.progress(seq)

    def feed_all(self, lines: Iterable[bytes]) -> None:
        """Feed every line.

        Raises:
            VerificationError: an event fails, or reading the lines fails (an earlier
                event's failing signature wins, as in `feed`).
        """
        iterator = iter(lines)
        while True:
            try:
                line = next(iterator)
            except StopIteration:
                return
            except VerificationError as exc:
                self._raise_first(exc)
                raise  # pragma: no cover - _raise_first raises it or an earlier one
            self.feed(line)

    def _sig_checks(self) -> SignatureChecks:
        if self._checks is None:  # pragma: no cover - set in __post_init__
            raise RuntimeError("verifier is closed")
        return self._checks

    def _raise_first(self, exc: VerificationError | None) -> None:
        checks = self._sig_checks()
        failed = checks.first_failure(before=exc.seq if exc else None)
        checks.close()
        # A signature failure at the same seq wins: a pending signature means steps
        # (1)-(8) of that event passed, and the signature (9) comes before (10)-(11).
        if failed is not None and (exc is None or failed[0] <= exc.seq or exc.seq == 0):
            seq, public = failed
            raise VerificationError(
                seq, f"signature does not verify with key {compute_key_id(public)}"
            ) from exc
        if exc is not None:
            raise exc

    def finish(self) -> VerifiedHead:
        """Wait for the signature checks and return what the chain proves.

        Raises:
            VerificationError: a signature fails, or the ledger is empty.
        """
        self._raise_first(None)
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

    def _check(self, seq: int, line: bytes) -> None:  # the numbered steps of the spec
        def fail(reason: str) -> VerificationError:
            return VerificationError(seq, reason)

        # (1) a JSON object, (2) envelope shape and formats, and the line is its JCS
        env, body = read_envelope(seq, line)
        # (3) seq without gaps or repeats
        if env["seq"] != seq:
            raise fail(
                f"seq is {env['seq']}, expected {seq} (an event is missing, repeated or moved)"
            )
        # (4) per-stream version without gaps
        stream, etype = env["stream"], env["type"]
        want_version = self._versions.get(stream, 0) + 1
        if env["version"] != want_version:
            raise fail(
                f"stream {stream} version is {env['version']}, expected {want_version}"
            )
        # (5) recorded_at never decreasing
        if env["recorded_at"] < self._recorded_at:
            raise fail(
                f"recorded_at {env['recorded_at']} is before the previous event's "
                f"{self._recorded_at}"
            )
        # (6) prev links to the previous event's hash
        if env["prev"] != self._prev.hex():
            raise fail(f"prev mismatch: expected {self._prev.hex()}, got {env['prev']}")
        # (7) hash is SHA-256 of JCS(body)
        digest = body_hash(body)
        if env["hash"] != digest.hex():
            raise fail(f"hash mismatch: computed {digest.hex()}, stated {env['hash']}")
        # (8) the signing key is a registered ledger key in force (genesis: its own key)
        state = self._state
        if seq == 1:
            public = state.genesis(env, self.trusted_key)
        else:
            public = state.signing_key(seq, env)
        # (9) the event signature (checked in order or by workers; see SignatureChecks)
        sig = base64.b64decode(env["sig"])
        self._sig_checks().add(seq, public, signature_message(digest), sig)
        # (10) a person's e-signature, when the event carries one
        data = env["data"]
        if "esig" in data:
            problem = esig_problem(
                data["esig"],
                seq=seq,
                actor=env["actor"],
                stream=stream,
                keys=state.keys,
            )
            if problem is not None:
                raise fail(problem)
            self._esigs += 1
        # (11) key and blob events change what later events are checked against
        state.apply(seq, etype, stream, data)
        if b'"blob"' in line:
            state.note_blob_refs(seq, data)
        # (12) the Merkle tree grows by this event's hash
        self._frontier.append(digest)
        self._size = seq
        self._prev = digest
        self._recorded_at = env["recorded_at"]
        self._versions[stream] = want_version
        if seq in self.roots_at:
            self._roots[seq] = self._frontier.root()


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
