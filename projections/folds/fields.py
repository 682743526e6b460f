"""Event fields as column values: the record id, texts, integers, objects, lists, dates."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.integrity.canonical import JSONValue, canonical_bytes
from ledger.integrity.envelope import RecordedEvent


def record_id(event: RecordedEvent) -> str:
    """Return the `<id>` part of the event's stream `<kind>/<id>`."""
    return event.stream.split("/", 1)[1]


def to_json(value: JSONValue) -> str:
    """Return the canonical JSON text stored in list and object columns."""
    return canonical_bytes(value).decode("utf-8")


def day_of(ledger_time: str) -> str:
    """Return the `YYYY-MM-DD` date of a ledger time."""
    return ledger_time[:10]


def text(data: Mapping[str, JSONValue], key: str) -> str | None:
    """Return `data[key]` as text: strings as is, other values as canonical JSON."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return to_json(value)


def integer(data: Mapping[str, JSONValue], key: str) -> int | None:
    """Return `data[key]` when it is an integer, else None."""
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def obj(data: Mapping[str, JSONValue], key: str) -> Mapping[str, JSONValue]:
    """Return `data[key]` when it is an object, else an empty mapping."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def items(data: Mapping[str, JSONValue], key: str) -> list[JSONValue]:
    """Return `data[key]` when it is a list, else an empty list."""
    value = data.get(key)
    return list(value) if isinstance(value, (list, tuple)) else []
