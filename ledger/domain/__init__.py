"""Shared shapes of the QMS record rules: the decision context, rejections, dates.

The record rules are pure: state comes in as arguments and events go out as
`(type, data)` pairs. Nothing here performs I/O or imports storage, web or schema
libraries; a person's e-signature is produced by a callable the caller injects.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NoReturn

from ledger.errors import EventRejectedError
from ledger.integrity.blobs import is_digest
from ledger.integrity.canonical import JSONObject, JSONValue, canonical_bytes

Data = dict[str, JSONValue]
Decision = list[tuple[str, Data]]
# (meaning, content) -> the esig object of docs/ledger-format.md section 5.
ESigner = Callable[[str, JSONObject], JSONObject]

REASON_MISSING = "a non-empty reason is required"
_DECIMAL_RE = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command: `occurred_at` is the business time the actor claims."""

    occurred_at: datetime | None = None

    @property
    def stream(self) -> str:
        """The stream the command acts on."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What a decision may know besides the record's own state.

    Attributes:
        actor: the user id acting.
        today: the service's current date (never the client's).
        version: the stream version the decision was made on.
        sign: produces the actor's e-signature; None when no password was given.
        units: open units by code, mapped to their kind.
        user_units: the unit of every registered user.
        new_key_id: id of an esign key the caller generated for this command.
    """

    actor: str
    today: date
    version: int = 0
    sign: ESigner | None = None
    units: Mapping[str, str] = field(default_factory=dict)
    user_units: Mapping[str, str] = field(default_factory=dict)
    new_key_id: str | None = None


def reject(field_name: str, message: str) -> NoReturn:
    """Raise EventRejectedError naming `field_name`.

    Raises:
        EventRejectedError: always.
    """
    raise EventRejectedError(message, {field_name: [message]})


def unknown_command(command: object) -> EventRejectedError:
    """Return the error for a command no rule handles."""
    message = f"unknown command {type(command).__name__}"
    return EventRejectedError(message, {"command": [message]})


def require_text(field_name: str, value: str, message: str | None = None) -> str:
    """Return `value` stripped, or reject it when blank.

    Raises:
        EventRejectedError: `value` is empty or only whitespace.
    """
    if not value or not value.strip():
        reject(field_name, message or f"{field_name} must not be empty")
    return value.strip()


def require_reason(reason: str) -> str:
    """Return the stripped reason or reject an empty one.

    Raises:
        EventRejectedError: the reason is empty.
    """
    return require_text("reason", reason, REASON_MISSING)


def require_decimal(field_name: str, value: str) -> str:
    """Return `value` when it is a decimal string such as "98.50".

    Raises:
        EventRejectedError: `value` is not a decimal string.
    """
    if not _DECIMAL_RE.fullmatch(value):
        reject(field_name, f"{field_name} must be a decimal string such as 98.50")
    return value


def require_blobs(
    field_name: str, blobs: Sequence[Mapping[str, JSONValue]]
) -> list[JSONValue]:
    """Return blob references as JSON after checking their shape.

    Raises:
        EventRejectedError: a reference lacks a digest, size, name or media type.
    """
    out: list[JSONValue] = []
    for ref in blobs:
        digest, size = ref.get("blob"), ref.get("size")
        name, media = ref.get("name"), ref.get("media_type")
        if not (isinstance(digest, str) and is_digest(digest)):
            reject(field_name, "a blob reference needs a sha256 hex digest")
        if type(size) is not int or size < 0:
            reject(field_name, "a blob reference needs a size in bytes")
        if not (isinstance(name, str) and name) or not (
            isinstance(media, str) and media
        ):
            reject(field_name, "a blob reference needs a file name and a media type")
        out.append({"blob": digest, "size": size, "name": name, "media_type": media})
    return out


def add_months(day: date, months: int) -> date:
    """Return `day` moved by `months` calendar months, clamped to the month's end."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def subject_sha256(stream: str, version: int, content: JSONValue) -> str:
    """Return the hex digest an e-signature binds to (docs/events.md).

    `version` is the stream version the signer saw, i.e. the version before the
    sign-off event, so a signature is bound to one record version.
    """
    body: JSONValue = {"stream": stream, "version": version, "content": content}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def signed(context: Context, meaning: str, content: JSONObject) -> JSONObject:
    """Return the actor's e-signature over `content`.

    Raises:
        EventRejectedError: no signature can be made (no password given).
    """
    if context.sign is None:
        reject("password", "signing needs your password")
    return context.sign(meaning, content)


__all__ = [
    "REASON_MISSING",
    "Command",
    "Context",
    "Data",
    "Decision",
    "ESigner",
    "add_months",
    "reject",
    "require_blobs",
    "require_decimal",
    "require_reason",
    "require_text",
    "signed",
    "subject_sha256",
    "unknown_command",
]
