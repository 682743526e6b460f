"""Verify a ledger: the event chain, keys, e-signatures, Merkle root, checkpoints, blobs.

Pure: imports only the standard library, `cryptography` and the integrity core, so a
certifier can run it on an export with no database driver installed
(`python -m ledger.verify --export DIR --trusted-key ID`). The numbered checks follow
docs/ledger-format.md section 6. Verification stops at the first failure, because later
links prove nothing, and raises `VerificationError(seq, reason)`; `seq` 0 stands for a
failure that belongs to no single event (checkpoint, proofs, blobs).

Ed25519 signature checks, the costliest step, run in worker processes once a ledger is
large enough to repay starting them; every other check runs in order in the caller.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import VerificationError
from ledger.integrity import merkle
from ledger.integrity.canonical import (
    CanonicalizationError,
    b64decode_canonical,
    canonical_bytes,
    canonical_bytes_prechecked,
)
from ledger.integrity.chain import ESIG_PREFIX, GENESIS_PREV, signature_message
from ledger.integrity.checkpoint import parse_note, valid_origin
from ledger.integrity.envelope import HEX64_RE, KEY_ID_RE, envelope_problem, valid_time
from ledger.integrity.export_reader import ExportReader, is_digest
from ledger.integrity.signing import key_id as compute_key_id
from ledger.integrity.signing import note_key_id, verify_signature

__all__ = [
    "ExportResult",
    "KeyInfo",
    "VerifiedHead",
    "Verifier",
    "verify_export",
    "verify_lines",
]

Progress = Callable[[int], None]
_SIG_BATCH = 2048
_POOL_AFTER = 4096  # events seen before worker processes are worth starting
_KEY_PURPOSES = ("ledger", "esign")
_ESIG_MEMBERS = frozenset(
    {
        "signer",
        "name",
        "meaning",
        "signed_at",
        "subject",
        "subject_sha256",
        "key",
        "sig",
    }
)
_LEDGER_TYPES = {
    "ledger.initialized": "ledger/keys",
    "ledger.key_registered": "ledger/keys",
    "ledger.key_revoked": "ledger/keys",
    "ledger.blob_disposed": "ledger/blobs",
}


@dataclass(slots=True)
class KeyInfo:
    """A key as the chain registered it."""

    key_id: str
    public: bytes
    holder: str
    purpose: str
    registered_seq: int
    revoked_seq: int | None = None

    def in_force_after(self, seq: int) -> bool:
        """Return whether the key may sign event `seq + 1`."""
        return self.registered_seq <= seq and (
            self.revoked_seq is None or self.revoked_seq > seq
        )


@dataclass(frozen=True, slots=True)
class VerifiedHead:
    """What a verified chain proves: its size, last hash, root and keys."""

    size: int
    hash: bytes
    root: bytes
    origin: str
    genesis_key: str
    keys: Mapping[str, KeyInfo]
    roots: Mapping[int, bytes]
    esignatures: int
    blob_refs: Mapping[str, Mapping[int, int]]  # digest -> {size stated: first seq}
    disposed: frozenset[str]
    versions: Mapping[str, int]  # stream -> last version

    def ledger_keys_after(self, seq: int) -> list[bytes]:
        """Return the public `ledger` keys in force after event `seq`."""
        return [
            k.public
            for k in self.keys.values()
            if k.purpose == "ledger" and k.in_force_after(seq)
        ]


# --- signature checking, inline or in worker processes -------------------------------

_worker_keys: dict[bytes, Ed25519PublicKey] = {}


def _check_batch(
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


class _SignatureChecks:
    """Collects (seq, key, message, signature) and checks them, inline or in parallel."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pending: list[tuple[int, bytes, bytes, bytes]] = []
        self._futures: list[tuple[int, Future[tuple[int, bytes] | None]]] = []
        self._failure: tuple[int, bytes] | None = None
        self._seen = 0

    def add(self, seq: int, public: bytes, message: bytes, sig: bytes) -> None:
        self._pending.append((seq, public, message, sig))
        self._seen += 1
        if len(self._pending) >= _SIG_BATCH:
            self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        if self._workers > 1 and self._seen >= _POOL_AFTER:
            if self._pool is None:
                # forkserver: workers start clean even when the caller holds threads
                # (a database pool, a web server).
                self._pool = ProcessPoolExecutor(
                    self._workers, mp_context=get_context("forkserver")
                )
            self._futures.append((batch[0][0], self._pool.submit(_check_batch, batch)))
            self._reap(block=False)
        else:
            failed = _check_batch(batch)
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
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# --- the chain ----------------------------------------------------------------------


def _b64(value: object, size: int) -> bytes | None:
    try:
        return b64decode_canonical(value, size)
    except ValueError:
        return None


def _blob_refs(value: object, out: list[tuple[object, object]]) -> None:
    """Collect (blob, size) of {"blob", "size", "name", "media_type"} references."""
    if isinstance(value, dict):
        if set(value) == {"blob", "size", "name", "media_type"}:
            out.append((value["blob"], value["size"]))
        for child in value.values():
            _blob_refs(child, out)
    elif isinstance(value, list):
        for child in value:
            _blob_refs(child, out)


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
    _keys: dict[str, KeyInfo] = field(default_factory=dict)
    _origin: str = ""
    _genesis_key: str = ""
    _frontier: merkle.Frontier = field(default_factory=merkle.Frontier)
    _roots: dict[int, bytes] = field(default_factory=dict)
    _esigs: int = 0
    _blob_refs: dict[str, dict[int, int]] = field(default_factory=dict)
    _disposed: set[str] = field(default_factory=set)
    _checks: _SignatureChecks | None = None

    def __post_init__(self) -> None:
        if self.trusted_key is not None and not KEY_ID_RE.fullmatch(self.trusted_key):
            raise ValueError("trusted key id must be 16 lowercase hex digits")
        self._checks = _SignatureChecks(self.workers)

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
        if seq % _SIG_BATCH == 0:
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

    def _sig_checks(self) -> _SignatureChecks:
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
        return VerifiedHead(
            size=self._size,
            hash=self._prev,
            root=self._frontier.root(),
            origin=self._origin,
            genesis_key=self._genesis_key,
            keys=dict(self._keys),
            roots=dict(self._roots),
            esignatures=self._esigs,
            blob_refs=dict(self._blob_refs),
            disposed=frozenset(self._disposed),
            versions=dict(self._versions),
        )

    def _check(self, seq: int, line: bytes) -> None:  # the numbered steps of the spec
        def fail(reason: str) -> VerificationError:
            return VerificationError(seq, reason)

        # (1) a JSON object, serialized as JCS
        try:
            # json.loads(line, parse_float=_reject_float), without a new decoder
            # for every line.
            env = _DECODER.decode(
                line.decode(json.detect_encoding(line), "surrogatepass")
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise fail(f"not a JSON object: {exc}") from exc
        if not isinstance(env, dict):
            raise fail("not a JSON object")
        # (2) envelope shape and formats
        problem = envelope_problem(env)
        if problem:
            raise fail(problem)
        try:
            if line.isascii():
                # json.loads refused floats, and envelope_problem checked every
                # integer and that meta holds strings, so only keys could keep the C
                # encoder from writing JCS; keys parsed from an ASCII line are ASCII,
                # or came from escapes, which make the encoding non-ASCII and thus
                # unequal to the line, as JCS would be too.
                full = canonical_bytes_prechecked(env)
            else:
                full = canonical_bytes(env)
            body = _body_of(env, line) if full == line else None
        except CanonicalizationError as exc:
            raise fail(f"cannot canonicalize: {exc}") from exc
        if body is None:
            raise fail("line is not the JCS form of its envelope")
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
        digest = hashlib.sha256(body).digest()
        if env["hash"] != digest.hex():
            raise fail(f"hash mismatch: computed {digest.hex()}, stated {env['hash']}")
        # (8) the signing key is a registered, unrevoked ledger key (genesis: its own key)
        data = env["data"]
        if seq == 1:
            public = self._check_genesis(env, fail)
        else:
            if etype == "ledger.initialized":
                raise fail("ledger.initialized appears after event 1")
            info = self._keys.get(env["key"])
            if info is None:
                raise fail(f"key {env['key']} is not registered")
            if info.purpose != "ledger":
                raise fail(
                    f"key {env['key']} is an {info.purpose} key, not a ledger key"
                )
            if info.revoked_seq is not None:
                raise fail(f"key {env['key']} was revoked at seq {info.revoked_seq}")
            public = info.public
        # (9) the event signature (checked in order or by workers; see _SignatureChecks)
        sig = base64.b64decode(env["sig"])
        self._sig_checks().add(seq, public, signature_message(digest), sig)
        # (10) a person's e-signature, when the event carries one
        if "esig" in data:
            self._check_esig(env, data["esig"], fail)
        # (11) key and blob events change what later events are checked against
        if etype in _LEDGER_TYPES:
            if stream != _LEDGER_TYPES[etype]:
                raise fail(f"{etype} must be in stream {_LEDGER_TYPES[etype]}")
            if seq > 1:
                self._apply_ledger_event(seq, etype, data, fail)
        elif stream.startswith("ledger/"):
            raise fail(f"type {etype} is not a ledger event type")
        if b'"blob"' in line:
            refs: list[tuple[object, object]] = []
            _blob_refs(data, refs)
            for blob, size in refs:
                if not isinstance(blob, str) or not is_digest(blob):
                    raise fail(f"blob reference {blob!r} is not a SHA-256 digest")
                if type(size) is not int or size < 0:
                    raise fail(
                        f"blob reference {blob} has size {size!r}, not a byte count"
                    )
                self._blob_refs.setdefault(blob, {}).setdefault(size, seq)
        # (12) the Merkle tree grows by this event's hash
        self._frontier.append(digest)
        self._size = seq
        self._prev = digest
        self._recorded_at = env["recorded_at"]
        self._versions[stream] = want_version
        if seq in self.roots_at:
            self._roots[seq] = self._frontier.root()

    def _check_genesis(
        self, env: Mapping[str, object], fail: Callable[[str], VerificationError]
    ) -> bytes:
        data = env["data"]
        if env["type"] != "ledger.initialized" or env["stream"] != "ledger/keys":
            raise fail("event 1 is not ledger.initialized in stream ledger/keys")
        if not isinstance(data, dict) or set(data) != {
            "format",
            "origin",
            "public_key",
        }:
            raise fail("ledger.initialized data must be {format, origin, public_key}")
        if data["format"] != 1 or type(data["format"]) is not int:
            raise fail(f"ledger format {data['format']!r} is not 1")
        origin = data["origin"]
        if type(origin) is not str or not valid_origin(origin):
            raise fail("origin must be printable ASCII without spaces or '+'")
        public = _b64(data["public_key"], 32)
        if public is None:
            raise fail(
                "public_key is not base64 of 32 bytes (standard, padded, canonical)"
            )
        kid = compute_key_id(public)
        if env["key"] != kid:
            raise fail(
                f"event 1 is signed with key {env['key']}, not its own key {kid}"
            )
        if self.trusted_key is not None and kid != self.trusted_key:
            raise fail(
                f"genesis key {kid} is not the trusted key {self.trusted_key} "
                "(the ledger was re-signed or is another ledger)"
            )
        self._origin = origin
        self._genesis_key = kid
        self._keys[kid] = KeyInfo(kid, public, "service", "ledger", 1)
        return public

    def _apply_ledger_event(
        self,
        seq: int,
        etype: str,
        data: Mapping[str, object],
        fail: Callable[[str], VerificationError],
    ) -> None:
        if etype == "ledger.key_registered":
            if set(data) != {"key_id", "public_key", "holder", "purpose"}:
                raise fail(
                    "key_registered data must be {key_id, public_key, holder, purpose}"
                )
            public = _b64(data["public_key"], 32)
            if public is None:
                raise fail(
                    "public_key is not base64 of 32 bytes (standard, padded, canonical)"
                )
            kid = data["key_id"]
            if kid != compute_key_id(public):
                raise fail(f"key_id {kid!r} is not the id of its public key")
            if kid in self._keys:
                raise fail(f"key {kid} is registered twice")
            purpose, holder = data["purpose"], data["holder"]
            if purpose not in _KEY_PURPOSES:
                raise fail(f"key purpose {purpose!r} is not ledger or esign")
            if type(holder) is not str or not holder:
                raise fail("key holder must be 'service' or a user id")
            if purpose == "ledger" and holder != "service":
                raise fail("a ledger key must be held by the service")
            if purpose == "esign" and holder in ("service", "system"):
                raise fail("an esign key must be held by a person (a user id)")
            self._keys[kid] = KeyInfo(kid, public, holder, str(purpose), seq)
        elif etype == "ledger.key_revoked":
            if set(data) != {"key_id", "reason"}:
                raise fail("key_revoked data must be {key_id, reason}")
            kid = str(data["key_id"])
            info = self._keys.get(kid)
            if info is None:
                raise fail(f"key {kid} is revoked but was never registered")
            if info.revoked_seq is not None:
                raise fail(f"key {kid} is revoked twice")
            if type(data["reason"]) is not str or not str(data["reason"]).strip():
                raise fail("a key revocation needs a reason")
            info.revoked_seq = seq
            if not any(
                k.purpose == "ledger" and k.revoked_seq is None
                for k in self._keys.values()
            ):
                raise fail("revoking the last ledger key would leave none in force")
        elif etype == "ledger.blob_disposed":
            if set(data) != {"blob", "reason"}:
                raise fail("blob_disposed data must be {blob, reason}")
            if type(data["blob"]) is not str or not is_digest(data["blob"]):
                raise fail("blob_disposed names no SHA-256 digest")
            if type(data["reason"]) is not str or not str(data["reason"]).strip():
                raise fail("a blob disposal needs a reason")
            self._disposed.add(data["blob"])

    def _check_esig(
        self,
        env: Mapping[str, object],
        esig: object,
        fail: Callable[[str], VerificationError],
    ) -> None:
        if not isinstance(esig, dict) or set(esig) != _ESIG_MEMBERS:
            raise fail("esig must have exactly " + ", ".join(sorted(_ESIG_MEMBERS)))
        if not all(type(v) is str for v in esig.values()):
            raise fail("esig members must be strings")
        if esig["signer"] != env["actor"]:
            raise fail(
                f"esig signer {esig['signer']} is not the event's actor {env['actor']}"
            )
        if esig["subject"] != env["stream"]:
            raise fail(
                f"esig subject {esig['subject']} is not the event's stream {env['stream']}"
            )
        if not valid_time(esig["signed_at"]):
            raise fail("esig signed_at is not in the ledger time format")
        if not HEX64_RE.fullmatch(esig["subject_sha256"]):
            raise fail("esig subject_sha256 is not 64 lowercase hex digits")
        if not esig["name"].strip() or not esig["meaning"].strip():
            raise fail("esig needs a printed name and a meaning")
        info = self._keys.get(esig["key"])
        if info is None or info.purpose != "esign":
            raise fail(f"esig key {esig['key']} is not a registered esign key")
        if info.holder != esig["signer"]:
            raise fail(
                f"esig key {esig['key']} belongs to {info.holder}, not {esig['signer']}"
            )
        if info.revoked_seq is not None:
            raise fail(f"esig key {esig['key']} was revoked at seq {info.revoked_seq}")
        sig = _b64(esig["sig"], 64)
        message = ESIG_PREFIX + canonical_bytes(
            {k: v for k, v in esig.items() if k != "sig"}
        )
        if sig is None or not verify_signature(info.public, sig, message):
            raise fail(f"e-signature of {esig['signer']} does not verify")
        self._esigs += 1


def _body_of(env: Mapping[str, Any], line: bytes) -> bytes | None:
    """Return JCS of the envelope without hash and sig, cut from its JCS line.

    In the line the members follow in key order, each as `,"name":value`: actor,
    data, hash, key, meta, occurred_at, prev, recorded_at, schema, seq, sig, stream,
    type, version. Every value after data's is one envelope_problem checked to need no
    escaping, or meta, whose JCS is short; so the line's suffix after data is rebuilt
    from the parsed members, and the body is the line up to it followed by that
    suffix without hash and sig: data, the bulk of the line, is not encoded again.
    Returns None when the line does not end in that suffix (it is not canonical).
    """
    middle = (
        f',"key":"{env["key"]}","meta":'.encode()
        + canonical_bytes(env["meta"])
        + (
            f',"occurred_at":"{env["occurred_at"]}","prev":"{env["prev"]}"'
            f',"recorded_at":"{env["recorded_at"]}","schema":{env["schema"]}'
            f',"seq":{env["seq"]}'
        ).encode()
    )
    tail = (
        f',"stream":"{env["stream"]}","type":"{env["type"]}"'
        f',"version":{env["version"]}}}'
    ).encode()
    suffix = b"".join(
        (
            f',"hash":"{env["hash"]}"'.encode(),
            middle,
            f',"sig":"{env["sig"]}"'.encode(),
            tail,
        )
    )
    if not line.endswith(suffix):
        return None
    return line[: len(line) - len(suffix)] + middle + tail


def _reject_float(text: str) -> object:
    raise ValueError(f"number {text} is not an integer")


_DECODER = json.JSONDecoder(parse_float=_reject_float)


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


def check_checkpoint(text: str, head: VerifiedHead, *, size: int | None = None) -> int:
    """Check a signed checkpoint against a verified chain; return its size.

    The checkpoint must name the chain's origin, a size no larger than the chain's (or
    exactly `size`), the root of that prefix, and carry a signature of a ledger key in
    force after that event.

    Raises:
        VerificationError: (seq 0) any of these fails.
    """
    note, signatures = parse_note(text)
    if note.origin != head.origin:
        raise VerificationError(
            0, f"checkpoint origin {note.origin!r} is not the ledger's {head.origin!r}"
        )
    if size is not None and note.size != size:
        raise VerificationError(
            0, f"checkpoint is for size {note.size}, but the export holds {size} events"
        )
    if note.size > head.size:
        raise VerificationError(
            0,
            f"checkpoint is for size {note.size}, but the ledger holds only "
            f"{head.size} events (truncated)",
        )
    root = head.root if note.size == head.size else head.roots.get(note.size)
    if root is None:
        raise VerificationError(0, f"root of size {note.size} was not computed")
    message = note.body().encode()
    keys = {note_key_id(head.origin, k): k for k in head.ledger_keys_after(note.size)}
    signed = False
    for sig in signatures:
        public = keys.get(sig.key_id)
        if sig.name == head.origin and public is not None:
            if len(sig.signature) != 64 or not verify_signature(
                public, sig.signature, message
            ):
                raise VerificationError(0, "checkpoint signature does not verify")
            signed = True
    if not signed:
        raise VerificationError(
            0,
            f"checkpoint of size {note.size} is signed by no ledger key in force then",
        )
    if note.root != root:
        raise VerificationError(
            0,
            f"checkpoint root for size {note.size} is "
            f"{base64.b64encode(note.root).decode()}, the events give "
            f"{base64.b64encode(root).decode()}",
        )
    return note.size


def check_consistency(
    proof_json: Mapping[str, object], old_size: int, old_root: bytes, head: VerifiedHead
) -> None:
    """Check an RFC 9162 consistency proof from a kept checkpoint to the verified head.

    Raises:
        VerificationError: (seq 0) the proof is malformed, names other sizes, or fails.
    """
    try:
        size1 = proof_json["size1"]
        size2 = proof_json["size2"]
        hashes = [bytes.fromhex(str(h)) for h in proof_json["hashes"]]  # type: ignore[attr-defined]  # checked below
    except (KeyError, TypeError, ValueError) as exc:
        raise VerificationError(
            0, "consistency proof is not {size1, size2, hashes}"
        ) from exc
    if size1 != old_size or size2 != head.size:
        raise VerificationError(
            0,
            f"consistency proof is for sizes {size1} -> {size2}, "
            f"expected {old_size} -> {head.size}",
        )
    if any(len(h) != 32 for h in hashes):
        raise VerificationError(0, "consistency proof hashes must be 32 bytes")
    if not merkle.verify_consistency(old_size, head.size, hashes, old_root, head.root):
        raise VerificationError(
            0,
            f"consistency proof {old_size} -> {head.size} does not verify: the ledger "
            "was rewritten or forked since the kept checkpoint",
        )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """A verified export."""

    head: VerifiedHead
    checkpoint_size: int
    old_checkpoint_size: int | None
    blobs_checked: int

    def to_json(self) -> dict[str, object]:
        """Return a summary for machines."""
        return {
            "ok": True,
            "size": self.head.size,
            "root": base64.b64encode(self.head.root).decode(),
            "origin": self.head.origin,
            "genesis_key": self.head.genesis_key,
            "covered": [1, self.head.size],
            "checkpoint_size": self.checkpoint_size,
            "old_checkpoint_size": self.old_checkpoint_size,
            "esignatures": self.head.esignatures,
            "blobs_checked": self.blobs_checked,
            "keys": sorted(
                (
                    {
                        "key_id": k.key_id,
                        "holder": k.holder,
                        "purpose": k.purpose,
                        "registered_seq": k.registered_seq,
                        "revoked_seq": k.revoked_seq,
                    }
                    for k in self.head.keys.values()
                ),
                key=lambda k: (k["registered_seq"], k["key_id"]),
            ),
        }


def verify_export(
    path: Path,
    *,
    trusted_key_id: str | None,
    old_checkpoint: str | None = None,
    consistency_proof: Mapping[str, object] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Verify an export folder or zip as docs/ledger-format.md section 6 says.

    Raises:
        VerificationError: at the first failure (seq 0 for checkpoint, proof, blobs).
    """
    old_size: int | None = None
    if old_checkpoint is not None:
        old_size = parse_note(old_checkpoint)[0].size
    if consistency_proof is not None and old_checkpoint is None:
        raise VerificationError(
            0, "a consistency proof needs the kept (old) checkpoint"
        )
    with ExportReader.open(path) as export:
        lines = export.event_lines()
        try:
            head = verify_lines(
                lines,
                trusted_key_id=trusted_key_id,
                roots_at=() if old_size is None else (old_size,),
                workers=workers,
                progress=progress,
            )
        finally:
            lines.close()  # a failure leaves the file open inside the generator
        text = export.checkpoint()
        if text is None:
            raise VerificationError(0, "export has no checkpoint")
        size = check_checkpoint(text, head, size=head.size)
        if old_checkpoint is not None and old_size is not None:
            if old_size > head.size:
                raise VerificationError(
                    0,
                    f"the kept checkpoint is for size {old_size}, but the export holds "
                    f"only {head.size} events: the ledger was truncated",
                )
            check_checkpoint(old_checkpoint, head)
            old_root = head.roots.get(old_size, head.root)
            if consistency_proof is not None:
                check_consistency(consistency_proof, old_size, old_root, head)
        blobs = _check_blobs(export, head)
    return ExportResult(head, size, old_size, blobs)


def check_blob(digest: str, content: bytes) -> int:
    """Return the size of a blob whose content hashes to its digest.

    Raises:
        VerificationError: (seq 0) the content hashes to something else.
    """
    actual = hashlib.sha256(content).hexdigest()
    if actual != digest:
        raise VerificationError(
            0, f"blob {digest} does not match its digest (content hashes to {actual})"
        )
    return len(content)


def check_blob_references(
    head: VerifiedHead, present: Mapping[str, int], *, missing: str
) -> None:
    """Check every blob the chain references, unless disposed, against what is present.

    `present` maps digest to size; `missing` ends the message for an absent blob.

    Raises:
        VerificationError: (seq 0) a referenced blob is absent or of another size.
    """
    for digest, sizes in sorted(head.blob_refs.items()):
        if digest in head.disposed:
            continue
        if digest not in present:
            raise VerificationError(
                0,
                f"blob {digest} referenced by event {min(sizes.values())} is {missing}",
            )
        for size, seq in sorted(sizes.items(), key=lambda item: item[1]):
            if present[digest] != size:
                raise VerificationError(
                    0,
                    f"blob {digest} has {present[digest]} bytes, event {seq} says {size}",
                )


def _check_blobs(export: ExportReader, head: VerifiedHead) -> int:
    if not export.has_blobs():
        return 0
    present = {}
    for name in export.blob_names():
        if not is_digest(name):
            raise VerificationError(0, f"blobs/{name} is not named by a SHA-256 digest")
        actual, present[name] = export.blob_digest(name)
        if actual != name:
            raise VerificationError(
                0, f"blob {name} does not match its digest (content hashes to {actual})"
            )
    check_blob_references(head, present, missing="missing from blobs/")
    return len(present)


def main(argv: Sequence[str] | None = None) -> int:
    """Verify an export offline: `python -m ledger.verify --export DIR --trusted-key ID`."""
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description="Verify a qms-ledger export offline.",
    )
    parser.add_argument("--export", required=True, type=Path)
    parser.add_argument("--trusted-key", required=True)
    parser.add_argument("--old-checkpoint", type=Path)
    parser.add_argument("--consistency-proof", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not KEY_ID_RE.fullmatch(args.trusted_key):
        parser.error("--trusted-key must be 16 lowercase hex digits")
    try:
        old = args.old_checkpoint.read_text() if args.old_checkpoint else None
        proof = (
            json.loads(args.consistency_proof.read_text())
            if args.consistency_proof
            else None
        )
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    failure: VerificationError | None = None
    try:
        result = verify_export(
            args.export,
            trusted_key_id=args.trusted_key,
            old_checkpoint=old,
            consistency_proof=proof,
        )
    except VerificationError as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001  # a verifier ends in FAIL, never a traceback
        failure = VerificationError(0, f"cannot verify: {type(exc).__name__}: {exc}")
    if failure is not None:
        if args.json:
            sys.stdout.write(
                json.dumps({"ok": False, "seq": failure.seq, "reason": failure.reason})
                + "\n"
            )
        else:
            sys.stdout.write(f"FAIL seq={failure.seq} {failure.reason}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        root = base64.b64encode(result.head.root).decode()
        sys.stdout.write(f"OK n={result.head.size} root={root}\n")
    return 0
