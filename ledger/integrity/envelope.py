"""The event envelope of ledger format v1: what a caller submits and what is recorded.

Pure: shapes, formats and the time format. The rules are those of
docs/ledger-format.md section 1; `envelope_problem` is the one place that checks them
(`submitted_problem` runs the same checks on the members a caller submits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ledger.integrity.blobs import DIGEST_RE
from ledger.integrity.canonical import (
    CanonicalizationError,
    JSONObject,
    JSONValue,
    b64decode_canonical,
    check_integers,
)

GENESIS_PREV_HEX = "0" * 64
MEMBERS = frozenset(
    {
        "seq", "stream", "version", "type", "schema", "data", "meta", "actor",
        "occurred_at", "recorded_at", "prev", "key", "hash", "sig",
    }
)  # fmt: skip
STREAM_RE = re.compile(r"[A-Za-z0-9._:\-/]{3,200}")
TYPE_RE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"
)
KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
ACTOR_RE = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def format_time(moment: datetime) -> str:
    """Return `moment` in the ledger time format: RFC 3339 UTC, 6 fraction digits, Z.

    The year always has four digits (0001, not the platform strftime's 1).

    Raises:
        ValueError: `moment` is naive.
        OverflowError: `moment` in UTC falls outside years 1..9999.
    """
    if moment.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


def parse_time(text: str) -> datetime:
    """Parse a time in the ledger format.

    Raises:
        ValueError: `text` is not in the ledger time format.
    """
    if not TIME_RE.fullmatch(text):
        raise ValueError(
            f"time {text!r} is not RFC 3339 UTC with 6 fraction digits and Z"
        )
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def valid_time(text: str) -> bool:
    """Return whether `text` is a real instant in the ledger time format."""
    if not TIME_RE.fullmatch(text):
        return False
    # TIME_RE fixed the layout and the ASCII digits; the constructor checks the
    # ranges as strptime would (month 1..12, the month's days, hour < 24, second
    # < 60) at a fraction of its cost, which the verifier pays twice per event.
    try:
        datetime(  # noqa: DTZ001  # only the calendar is checked; the Z is in TIME_RE
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
    except ValueError:
        return False
    return True


def stream_kind(stream: str) -> str:
    """Return the `<kind>` part of a stream name."""
    return stream.split("/", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event a caller submits; the store assigns the rest of the envelope."""

    stream: str
    type: str
    data: JSONObject
    actor: str
    schema: int = 1
    occurred_at: datetime | None = None
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedEvent:
    """A full envelope as stored and exported (docs/ledger-format.md section 1)."""

    seq: int
    stream: str
    version: int
    type: str
    schema: int
    data: JSONObject
    meta: Mapping[str, str]
    actor: str
    occurred_at: str
    recorded_at: str
    prev: str
    key: str
    hash: str
    sig: str

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the envelope as a JSON object."""
        return {
            "seq": self.seq,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "schema": self.schema,
            "data": self.data,
            "meta": dict(self.meta),
            "actor": self.actor,
            "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at,
            "prev": self.prev,
            "key": self.key,
            "hash": self.hash,
            "sig": self.sig,
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, object]) -> RecordedEvent:
        """Build from a parsed envelope.

        Raises:
            ValueError: the object is not a well-formed envelope.
        """
        problem = envelope_problem(obj)
        if problem:
            raise ValueError(problem)
        return cls(
            seq=obj["seq"],  # type: ignore[arg-type]  # shape checked above
            stream=obj["stream"],  # type: ignore[arg-type]  # shape checked above
            version=obj["version"],  # type: ignore[arg-type]  # shape checked above
            type=obj["type"],  # type: ignore[arg-type]  # shape checked above
            schema=obj["schema"],  # type: ignore[arg-type]  # shape checked above
            data=obj["data"],  # type: ignore[arg-type]  # shape checked above
            meta=obj["meta"],  # type: ignore[arg-type]  # shape checked above
            actor=obj["actor"],  # type: ignore[arg-type]  # shape checked above
            occurred_at=obj["occurred_at"],  # type: ignore[arg-type]  # shape checked above
            recorded_at=obj["recorded_at"],  # type: ignore[arg-type]  # shape checked above
            prev=obj["prev"],  # type: ignore[arg-type]  # shape checked above
            key=obj["key"],  # type: ignore[arg-type]  # shape checked above
            hash=obj["hash"],  # type: ignore[arg-type]  # shape checked above
            sig=obj["sig"],  # type: ignore[arg-type]  # shape checked above
        )


def _is_int(value: object) -> bool:
    return type(value) is int


def _sig_ok(value: str) -> bool:
    if len(value) != 88:
        return False
    try:
        b64decode_canonical(value, 64)
    except ValueError:
        return False
    return True


_META_PROBLEM = "meta must be an object of strings"


def _names_problem(stream: str, etype: str, actor: str) -> str | None:
    kind, slash, ident = stream.partition("/")
    if not STREAM_RE.fullmatch(stream) or not slash or not kind or not ident:
        return f"stream {stream!r} is not <kind>/<id> of 3..200 allowed characters"
    if not TYPE_RE.fullmatch(etype):
        return f"type {etype!r} is not <kind>.<past_tense_verb>"
    if etype.split(".", 1)[0] != stream_kind(stream):
        return f"type {etype!r} does not match the kind of stream {stream!r}"
    if not ACTOR_RE.fullmatch(actor):
        return f"actor {actor!r} is not a user id or 'system'"
    return None


def envelope_problem(
    obj: Mapping[str, object],
) -> str | None:  # one check per member of the spec's table
    """Return what is wrong with the envelope's shape and formats, or None."""
    keys = set(obj)
    if keys != MEMBERS:
        missing = sorted(MEMBERS - keys)
        extra = sorted(keys - MEMBERS)
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unexpected " + ", ".join(extra))
        return "envelope members: " + "; ".join(parts)
    for name in ("seq", "version", "schema"):
        value = obj[name]
        if not _is_int(value) or not 1 <= value <= 2**53 - 1:  # type: ignore[operator]  # int checked
            return f"{name} must be a positive integer, got {value!r}"
    for name in ("stream", "type", "actor", "occurred_at", "recorded_at", "prev", "key", "hash", "sig"):  # fmt: skip
        if type(obj[name]) is not str:
            return f"{name} must be a string"
    problem = _names_problem(str(obj["stream"]), str(obj["type"]), str(obj["actor"]))
    if problem:
        return problem
    for name in ("occurred_at", "recorded_at"):
        if not valid_time(str(obj[name])):
            return (
                f"{name} {obj[name]!r} is not RFC 3339 UTC with 6 fraction digits and Z"
            )
    for name in ("prev", "hash"):
        if not DIGEST_RE.fullmatch(str(obj[name])):
            return f"{name} is not 64 lowercase hex digits"
    if not KEY_ID_RE.fullmatch(str(obj["key"])):
        return "key is not 16 lowercase hex digits"
    if not _sig_ok(str(obj["sig"])):
        return "sig is not padded base64 of 64 bytes (standard, canonical)"
    data = obj["data"]
    if not isinstance(data, dict):
        return "data must be an object"
    meta = obj["meta"]
    if not isinstance(meta, dict) or not all(type(v) is str for v in meta.values()):
        return _META_PROBLEM
    if type(meta.get("command_id")) is not str or not meta["command_id"]:
        return "meta.command_id is missing"
    try:
        check_integers(data)
    except CanonicalizationError as exc:
        return f"data: {exc}"
    return None


def submitted_problem(
    event: NewEvent, occurred_at: str | None, meta: Mapping[str, object]
) -> str | None:
    """Return what is wrong with the members a caller submits, or None.

    The store fills in seq, version, prev, recorded_at, key, hash and sig itself, so
    an append checks only `schema`, `stream`, `type`, `actor`, `occurred_at` (in the
    ledger format, or None when the store sets it) and `meta`, in the order and with
    the words of `envelope_problem`; `data` is checked by canonicalizing it
    (`ledger.canonical.canonical_payload`).
    """
    schema = event.schema
    if not _is_int(schema) or not 1 <= schema <= 2**53 - 1:
        return f"schema must be a positive integer, got {schema!r}"
    for name, value in (
        ("stream", event.stream),
        ("type", event.type),
        ("actor", event.actor),
    ):
        if type(value) is not str:
            return f"{name} must be a string"
    problem = _names_problem(event.stream, event.type, event.actor)
    if problem:
        return problem
    if occurred_at is not None and not valid_time(occurred_at):
        return (
            f"occurred_at {occurred_at!r} is not RFC 3339 UTC with 6 fraction digits "
            "and Z"
        )
    if not all(type(v) is str for v in meta.values()):
        return _META_PROBLEM
    return None
