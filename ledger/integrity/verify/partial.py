"""Verifying a partial export (docs/ledger-format.md, "Partial export"). Pure.

A partial export holds some events of the ledger, not all: the streams of the
records of some units, each from version 1 up to its last event in a period, and the
streams `ledger/keys` and `ledger/blobs` up to the checkpoint, each event with an
inclusion proof against the one checkpoint it carries. Its events are checked in
`seq` order: the line is the JCS form of its envelope, the hash, the signature under
the key in force at its seq (the key registry is rebuilt from the key events the
export carries), the e-signature, the inclusion proof, and each stream's versions
without gaps; then the checkpoint's signature, the manifest's stream list against
the events, and the blobs. What it cannot show is in `CANNOT_SHOW`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.errors import VerificationError
from ledger.integrity import merkle
from ledger.integrity.chain import body_hash, signature_message
from ledger.integrity.checkpoint import check_origin, check_signatures, parse_note
from ledger.integrity.esig import esig_problem
from ledger.integrity.export_reader import ExportReader
from ledger.integrity.keys import in_force_for
from ledger.integrity.signing import key_id as compute_key_id
from ledger.integrity.verify.blobs import check_export_blobs
from ledger.integrity.verify.lines import read_envelope
from ledger.integrity.verify.signatures import check_batch
from ledger.integrity.verify.state import LedgerState, VerifiedHead

PARTIAL_FORMAT = "qms-ledger-partial-export/1"
"""The `format` member of a partial export's manifest."""

KEY_STREAMS = ("ledger/keys", "ledger/blobs")
"""Streams a partial export carries whole up to its checkpoint, whatever its scope."""

CANNOT_SHOW = (
    "that the ledger holds nothing else about these records than the streams "
    "listed (a record of these units left out of the list is not detected)",
    "the events outside the scope: other units' records, people, and these "
    "streams' events after the period",
    "that the key stream carried is complete up to the checkpoint (a key event "
    "after its last one, such as a revocation, would not be detected)",
    "the order of events of different streams beyond their seq, nor that "
    "events between them follow the hash chain",
)
"""What a verified partial export does not show, in words for its reader."""


@dataclass(frozen=True, slots=True)
class PartialResult:
    """A verified partial export."""

    head: VerifiedHead  # size and root are the checkpoint's
    events: int
    streams: Mapping[str, int]  # stream -> last version
    scope: Mapping[str, Any]
    blobs_checked: int

    def to_json(self) -> dict[str, object]:
        """Return a summary for machines."""
        return {
            "ok": True,
            "partial": True,
            "origin": self.head.origin,
            "genesis_key": self.head.genesis_key,
            "checkpoint_size": self.head.size,
            "root": base64.b64encode(self.head.root).decode(),
            "events": self.events,
            "streams": [
                {"stream": s, "first_version": 1, "last_version": v}
                for s, v in sorted(self.streams.items())
            ],
            "scope": dict(self.scope),
            "esignatures": self.head.esignatures,
            "blobs_checked": self.blobs_checked,
            "cannot_show": list(CANNOT_SHOW),
        }


def partial_report(result: PartialResult) -> str:
    """Return the lines a person reads for a verified partial export."""
    root = base64.b64encode(result.head.root).decode()
    units = ", ".join(str(u) for u in result.scope.get("units", ())) or "?"
    lines = [
        f"OK partial events={result.events} streams={len(result.streams)} "
        f"checkpoint n={result.head.size} root={root}",
        f"scope: units {units}, recorded {result.scope.get('from', '?')} to "
        f"{result.scope.get('to', '?')} (UTC)",
        "verified: every event's hash and signature under the key in force at its "
        "seq, e-signatures, every inclusion proof against the checkpoint, the "
        "checkpoint's signature, the blobs' digests, and each listed stream's "
        "versions from 1 without gaps",
        "a partial export cannot show:",
        *(f"  - {item}" for item in CANNOT_SHOW),
    ]
    return "\n".join(lines)


def is_partial_export(path: Path) -> bool:
    """Return whether `path` opens as a partial export (it holds manifest.json).

    Raises:
        VerificationError: (seq 0) it opens as no export at all.
    """
    with ExportReader.open(path) as export:
        return export.partial


@dataclass(frozen=True, slots=True)
class _Manifest:
    origin: str
    size: int
    root: bytes
    streams: dict[str, int]
    events: int
    scope: Mapping[str, Any]


def _manifest(raw: bytes) -> _Manifest:
    """Parse manifest.json.

    Raises:
        VerificationError: (seq 0) it is not the manifest the format describes.
    """

    def fail(reason: str) -> VerificationError:
        return VerificationError(0, f"manifest.json: {reason}")

    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise fail(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != PARTIAL_FORMAT:
        raise fail(f"format is not {PARTIAL_FORMAT}")
    checkpoint, streams = doc.get("checkpoint"), doc.get("streams")
    if not isinstance(checkpoint, dict) or type(checkpoint.get("size")) is not int:
        raise fail("checkpoint must be {size, root}")
    try:
        root = base64.b64decode(str(checkpoint.get("root")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise fail("checkpoint root is not base64") from exc
    if not isinstance(streams, list):
        raise fail("streams must be a list")
    listed: dict[str, int] = {}
    for item in streams:
        if (
            not isinstance(item, dict)
            or type(item.get("stream")) is not str
            or item.get("first_version") != 1
            or type(item.get("last_version")) is not int
            or item["last_version"] < 1
        ):
            raise fail(
                "each stream must be {stream, first_version: 1, last_version >= 1}"
            )
        if item["stream"] in listed:
            raise fail(f"stream {item['stream']} is listed twice")
        listed[item["stream"]] = item["last_version"]
    if type(doc.get("events")) is not int or type(doc.get("origin")) is not str:
        raise fail("events must be a count and origin a string")
    scope = doc.get("scope")
    return _Manifest(
        origin=doc["origin"],
        size=checkpoint["size"],
        root=root,
        streams=listed,
        events=doc["events"],
        scope=scope if isinstance(scope, dict) else {},
    )


def _proof(seq: int, line: bytes | None) -> list[bytes]:
    """Return the proof hashes on `line`, the proof of event `seq`.

    Raises:
        VerificationError: (at `seq`) the line is missing, names another seq, or is
            not {seq, hashes}.
    """
    if line is None:
        raise VerificationError(seq, "proofs.jsonl has no proof for this event")
    try:
        doc = json.loads(line)
        hashes = [bytes.fromhex(h) for h in doc["hashes"]]
        named = doc["seq"]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise VerificationError(
            seq, "inclusion proof is not {seq, hashes: [hex]}"
        ) from exc
    if named != seq:
        raise VerificationError(
            seq, f"the inclusion proof on this event's line is for seq {named!r}"
        )
    if any(len(h) != 32 for h in hashes):
        raise VerificationError(seq, "inclusion proof hashes must be 32 bytes")
    return hashes


@dataclass(slots=True)
class _Walk:
    """The checks of each event of a partial export, in seq order."""

    trusted_key: str | None
    manifest: _Manifest
    state: LedgerState = field(default_factory=LedgerState)
    versions: dict[str, int] = field(default_factory=dict)
    last_seq: int = 0
    last_hash: bytes = b""
    recorded_at: str = ""
    esigs: int = 0
    count: int = 0

    def _seq_of(self, line: bytes) -> int:
        """Return the seq a line that is no valid envelope names, if it names one
        after the previous event's; else the next seq after that event."""
        try:
            named = json.loads(line).get("seq")
        except (ValueError, AttributeError, RecursionError):
            named = None
        if type(named) is int and named > self.last_seq:
            return named
        return self.last_seq + 1

    def event(self, line: bytes, proof_line: bytes | None) -> None:
        """Check one event line and its proof line.

        Raises:
            VerificationError: at the event's seq (or the line's position).
        """
        try:
            env, body = read_envelope(self.last_seq + 1, line)
        except VerificationError as exc:
            raise VerificationError(self._seq_of(line), exc.reason) from exc
        seq = env["seq"]

        def fail(reason: str) -> VerificationError:
            return VerificationError(seq, reason)

        if seq <= self.last_seq:
            raise fail(f"seq {seq} follows seq {self.last_seq}: events must ascend")
        if seq > self.manifest.size:
            raise fail(f"seq {seq} is beyond the checkpoint's {self.manifest.size}")
        stream = env["stream"]
        if stream not in self.manifest.streams:
            raise fail(f"stream {stream} is not listed in manifest.json")
        want = self.versions.get(stream, 0) + 1
        if env["version"] != want:
            raise fail(
                f"stream {stream} version is {env['version']}, expected {want} "
                "(an event of the stream is missing or repeated)"
            )
        if env["recorded_at"] < self.recorded_at:
            raise fail(
                f"recorded_at {env['recorded_at']} is before the previous event's "
                f"{self.recorded_at}"
            )
        if (
            seq == self.last_seq + 1
            and self.last_seq
            and env["prev"] != (self.last_hash.hex())
        ):
            raise fail(
                f"prev mismatch: expected {self.last_hash.hex()}, got {env['prev']}"
            )
        digest = body_hash(body)
        if env["hash"] != digest.hex():
            raise fail(f"hash mismatch: computed {digest.hex()}, stated {env['hash']}")
        if seq == 1:
            public = self.state.genesis(env, self.trusted_key)
        elif not self.state.keys:
            raise fail("the export does not begin with event 1 (ledger.initialized)")
        else:
            public = self.state.signing_key(seq, env)
        failed = check_batch(
            [(seq, public, signature_message(digest), base64.b64decode(env["sig"]))]
        )
        if failed is not None:
            raise fail(f"signature does not verify with key {compute_key_id(public)}")
        data = env["data"]
        if "esig" in data:
            problem = esig_problem(
                data["esig"], seq=seq, actor=env["actor"], stream=stream,
                keys=self.state.keys,
            )  # fmt: skip
            if problem is not None:
                raise fail(problem)
            self.esigs += 1
        hashes = _proof(seq, proof_line)
        if not merkle.verify_inclusion(
            digest, seq - 1, self.manifest.size, hashes, self.manifest.root
        ):
            raise fail(
                f"inclusion proof does not verify against the checkpoint of size "
                f"{self.manifest.size}"
            )
        self.state.apply(seq, env["type"], stream, data)
        if b'"blob"' in line:
            self.state.note_blob_refs(seq, data)
        self.versions[stream] = want
        self.last_seq, self.last_hash = seq, digest
        self.recorded_at = env["recorded_at"]
        self.count += 1


def _paired(export: ExportReader) -> Iterator[tuple[bytes, bytes | None]]:
    events, proofs = export.event_lines(), export.proof_lines()
    try:
        for line in events:
            yield line, next(proofs, None)
        if next(proofs, None) is not None:
            raise VerificationError(0, "proofs.jsonl has more lines than events.jsonl")
    finally:
        events.close()
        proofs.close()


def verify_partial_export(path: Path, *, trusted_key_id: str | None) -> PartialResult:
    """Verify a partial export folder or zip (docs/ledger-format.md, "Partial export").

    Raises:
        VerificationError: at the first failure: the event's seq, or 0 for the
            manifest, the checkpoint and the blobs.
    """
    with ExportReader.open(path) as export:
        if not export.partial:
            raise VerificationError(0, "not a partial export: it has no manifest.json")
        manifest = _manifest(export.manifest())
        walk = _Walk(trusted_key_id, manifest)
        try:
            for line, proof in _paired(export):
                walk.event(line, proof)
        except RecursionError:
            raise VerificationError(
                walk.last_seq + 1, "JSON is nested too deeply"
            ) from None
        if walk.count == 0:
            raise VerificationError(1, "the partial export holds no events")
        state = walk.state
        text = export.checkpoint()
        if text is None:
            raise VerificationError(0, "export has no checkpoint")
        note, signatures = parse_note(text)
        check_origin(note, state.origin)
        if note.size != manifest.size or note.root != manifest.root:
            raise VerificationError(
                0,
                f"checkpoint is for size {note.size}, root "
                f"{base64.b64encode(note.root).decode()}; manifest.json states size "
                f"{manifest.size}, root {base64.b64encode(manifest.root).decode()}",
            )
        keys = [
            k.public_key
            for k in state.keys.values()
            if k.purpose == "ledger" and in_force_for(k, note.size + 1)
        ]
        check_signatures(note, signatures, keys)
        if manifest.origin != state.origin:
            raise VerificationError(
                0,
                f"manifest.json names origin {manifest.origin}, the ledger {state.origin}",
            )
        for stream, last in sorted(manifest.streams.items()):
            got = walk.versions.get(stream, 0)
            if got != last:
                raise VerificationError(
                    0,
                    f"stream {stream} ends at version {got}, manifest.json lists "
                    f"versions 1 to {last} (an event at its end is missing)",
                )
        if manifest.events != walk.count:
            raise VerificationError(
                0,
                f"manifest.json counts {manifest.events} events, the export holds "
                f"{walk.count}",
            )
        head = VerifiedHead(
            size=note.size,
            hash=walk.last_hash,
            root=note.root,
            origin=state.origin,
            genesis_key=state.genesis_key,
            keys=dict(state.keys),
            roots={},
            esignatures=walk.esigs,
            blob_refs=dict(state.blob_refs),
            disposed=frozenset(state.disposed),
            versions=dict(walk.versions),
        )
        blobs = check_export_blobs(export, head)
    return PartialResult(head, walk.count, dict(walk.versions), manifest.scope, blobs)
