"""Checking the events a caller submits, before the append lock: envelope rules, meta, canonical bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.errors import EventRejectedError
from ledger.integrity.canonical import (
    CanonicalizationError,
    canonical_bytes,
    canonical_payload,
)
from ledger.integrity.envelope import (
    NewEvent,
    format_time,
    stream_kind,
    submitted_problem,
)
from ledger.integrity.signing import SigningKey

_COMMAND_ID_MAX: Final = 200


@dataclass(frozen=True, slots=True)
class Item:
    """One event of a batch with the key that signs it."""

    event: NewEvent
    signer: SigningKey


@dataclass(frozen=True, slots=True)
class Prepared:
    """One checked event of a batch: its key, meta and canonical member bytes."""

    item: Item
    # JCS bytes of data, actor, meta, stream, type, schema and key; the members set
    # under the lock are added there.
    members: dict[str, bytes]
    meta: dict[str, str]
    occurred_at: str  # "" when the store uses recorded_at


def refuse_reserved(event_: NewEvent) -> None:
    """Refuse an event a caller submits to a stream of kind `ledger`."""
    if stream_kind(event_.stream) == "ledger":
        raise EventRejectedError(
            f"stream {event_.stream!r} is kept by the ledger itself",
            {"stream": "streams of kind 'ledger' are written by the store only"},
        )


def checked_expected(expected_versions: Mapping[str, int] | None) -> dict[str, int]:
    """Return the expected versions, refusing any that is not a non-negative int."""
    expected = dict(expected_versions or {})
    for stream, version in expected.items():
        if type(version) is not int or version < 0:
            raise EventRejectedError(
                f"expected version of {stream!r} must be a non-negative integer",
                {"expected_versions": f"{stream}: {version!r}"},
            )
    return expected


def prepare_batch(
    items: Sequence[Item],
    ids: Sequence[str],
    causation: str | None,
    correlation: str | None,
) -> list[Prepared]:
    """Check every item of a batch (`prepare`), each with its command's meta."""
    metas: dict[str, dict[str, str]] = {}
    prepared = []
    for i, (item, item_cid) in enumerate(zip(items, ids, strict=True)):
        meta = metas.get(item_cid)
        if meta is None:
            meta = metas[item_cid] = base_meta(item_cid, causation, correlation)
        prepared.append(prepare(i, item, meta, len(items)))
    return prepared


def base_meta(
    cid: str, causation: str | None, correlation: str | None
) -> dict[str, str]:
    """Return the meta the append call sets: command_id, causation, correlation."""
    meta = {"command_id": cid}
    for name, value in (
        ("command_id", cid),
        ("causation", causation),
        ("correlation", correlation),
    ):
        if value is None:
            continue
        if type(value) is not str or not value or len(value) > _COMMAND_ID_MAX:
            raise EventRejectedError(
                f"{name} must be a string of 1..{_COMMAND_ID_MAX} characters",
                {name: f"must be a string of 1..{_COMMAND_ID_MAX} characters"},
            )
        meta[name] = value
    return meta


def _field_of(problem: str) -> str:
    """Return the envelope member an `envelope_problem` message is about."""
    return problem.split(" ", 1)[0].rstrip(":").split(".", 1)[0]


def quoted(text: str) -> bytes:
    """Return the JCS bytes of a string that needs no escaping (checked ASCII)."""
    return b'"' + text.encode() + b'"'


def prepare(
    index: int, item: Item, base_meta: Mapping[str, str], count: int
) -> Prepared:
    """Check one event against the envelope rules; canonicalize what it brings.

    seq, version, prev, recorded_at, hash and sig are filled in under the lock,
    and the store makes them well-formed itself, so only the members the caller
    submits are checked here (`submitted_problem`, then `data` while it is
    canonicalized). Each member's canonical bytes are made once; the body and the
    full envelope are assembled from them (`canonical_object`).
    """
    event_ = item.event
    where = f"event {index + 1} of {count}: " if count > 1 else ""
    meta: dict[str, str] = dict(base_meta)
    for name, value in event_.meta.items():
        if name in base_meta and value != base_meta[name]:
            raise EventRejectedError(
                f"{where}meta.{name} conflicts with the command's {name}",
                {"meta": f"{name} is set by the append call"},
            )
        meta[name] = value
    if event_.occurred_at is None:
        occurred_at = ""
    else:
        try:
            occurred_at = format_time(event_.occurred_at)
        except (ValueError, AttributeError) as exc:
            raise EventRejectedError(
                f"{where}occurred_at must be a timezone-aware datetime",
                {"occurred_at": "must be a timezone-aware datetime"},
            ) from exc
    data = event_.data if type(event_.data) is dict else dict(event_.data)
    problem = submitted_problem(event_, occurred_at or None, meta)
    members: dict[str, bytes] = {}
    if problem is None:
        name = "data"
        try:
            members["data"] = canonical_payload(data)
            name = "actor"  # may hold a lone surrogate
            members["actor"] = canonical_bytes(event_.actor)
            name = "meta"  # keys are not restricted
            members["meta"] = canonical_bytes(meta)
        except CanonicalizationError as exc:
            problem = f"{name}: {exc}"
    if problem is not None:
        raise EventRejectedError(where + problem, {_field_of(problem): problem})
    # stream and type match ASCII patterns, the key id is hex: no escaping.
    members["stream"] = quoted(event_.stream)
    members["type"] = quoted(event_.type)
    members["schema"] = b"%d" % event_.schema
    members["key"] = quoted(item.signer.key_id)
    # A line of events.jsonl holds at most MAX_EVENT_LINE bytes (docs/ledger-format.md
    # section 6), or no export of the ledger would verify. What the store adds under
    # the lock (seq, version, times, prev, hash, sig, member names) is under 1 KiB.
    from ledger.integrity.export_reader import MAX_EVENT_LINE

    if sum(map(len, members.values())) + 1024 > MAX_EVENT_LINE:
        problem = (
            f"the event would take more than the {MAX_EVENT_LINE} bytes a ledger "
            "line may hold; store large content as a blob and reference it"
        )
        raise EventRejectedError(where + problem, {"data": problem})
    return Prepared(item=item, members=members, meta=meta, occurred_at=occurred_at)
