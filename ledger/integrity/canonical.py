"""JSON Canonicalization Scheme (RFC 8785) bytes: the ONLY definition of what is hashed.

`canonical_bytes` takes a fast path through the standard library's C encoder when the
value holds only what ledger format v1 allows (objects with ASCII keys, arrays,
strings, booleans, null and integers within +-(2^53-1)); for those values the C
encoder's output with sorted keys, no spaces and raw UTF-8 is exactly JCS (a property
test pins this). Anything else goes through the `rfc8785` reference package.
`canonical_object` assembles an object whose member names are plain ASCII (an
envelope) from its members' canonical bytes, so each member is encoded only once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence

import rfc8785

JSONValue = None | bool | int | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"]
JSONObject = Mapping[str, JSONValue]

MAX_SAFE_INTEGER = 2**53 - 1

_encode = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


class CanonicalizationError(ValueError):
    """The value cannot be canonicalized (a float, an out-of-range integer, ...)."""


def b64decode_canonical(text: object, size: int | None = None) -> bytes:
    """Decode standard padded base64 written exactly as base64.b64encode writes it.

    Ledger format v1 uses standard padded base64 for keys, signatures and roots. A
    string that decodes to the same bytes but differs from their encoding (non-zero
    padding bits, missing padding, characters outside the alphabet) is refused, so
    that no signature or key can be re-encoded into a second file that still verifies.

    Raises:
        ValueError: `text` is not a string holding the canonical base64 of `size`
            bytes (of any size when `size` is None).
    """
    if type(text) is not str or not text.isascii():
        raise ValueError("not base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical padded base64")
    if size is not None and len(raw) != size:
        raise ValueError(f"base64 of {len(raw)} bytes, expected {size}")
    return raw


def _fast_ok(value: object) -> bool:
    """Return True when the C encoder's output equals JCS for `value`."""
    stack = [value]
    while stack:
        item = stack.pop()
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]  # t is int
                return False
        elif t is dict:
            for key, child in item.items():  # type: ignore[attr-defined]  # t is dict
                # Non-ASCII keys: Python sorts by code point, JCS by UTF-16 unit.
                if type(key) is not str or not key.isascii():
                    return False
                stack.append(child)
        elif t is list or t is tuple:
            stack.extend(item)  # type: ignore[arg-type]  # t is a sequence
        else:
            return False
    return True


def canonical_bytes(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of `value`.

    Raises:
        CanonicalizationError: the value holds a float, an integer outside
            +-(2^53-1), a lone surrogate or a type JSON does not have.
    """
    try:
        if _fast_ok(value):
            return _encode(value).encode("utf-8")
        out = rfc8785.dumps(value)
    except (
        UnicodeEncodeError,
        ValueError,
        TypeError,
        rfc8785.CanonicalizationError,
    ) as exc:
        raise CanonicalizationError(str(exc)) from exc
    if not isinstance(out, bytes):  # pragma: no cover - rfc8785 returns bytes
        raise CanonicalizationError("canonicalizer returned no bytes")
    return out


def canonical_bytes_prechecked(value: JSONValue) -> bytes:
    """Return the C encoder's bytes for a value the caller knows takes the fast path.

    The caller must have established what the fast path requires (only dicts, lists,
    strings, booleans, null and integers within +-(2^53-1), every key ASCII) by other
    means; for such a value the result is its RFC 8785 form, with no walk over it.
    The verifier uses it for lines it has checked this way (ledger.integrity.verify.lines).

    Raises:
        CanonicalizationError: a string holds a lone surrogate.
    """
    try:
        return _encode(value).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError) as exc:
        raise CanonicalizationError(str(exc)) from exc


def canonical_payload(value: JSONValue) -> bytes:
    """Return the RFC 8785 bytes of a value ledger format v1 allows in `data`.

    Like `canonical_bytes`, but refuses what `check_integers` refuses (floats and
    integers outside +-(2^53-1)), with its words. A value that takes the fast path
    is walked once: the walk that admits it to the C encoder also proves that it
    holds no float and no unsafe integer.

    Raises:
        CanonicalizationError: the value holds a float, an unsafe integer, a lone
            surrogate or a type JSON does not have.
    """
    if _fast_ok(value):
        try:
            return _encode(value).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError) as exc:
            raise CanonicalizationError(str(exc)) from exc
    check_integers(value)
    return canonical_bytes(value)


def canonical_object(members: Mapping[str, bytes]) -> bytes:
    """Return the RFC 8785 bytes of an object from the canonical bytes of its values.

    JCS writes an object as '{', its members sorted by key (UTF-16 code units) and
    joined by ',', each `"key":value`, then '}'. For keys of printable ASCII other
    than '"' and backslash, a key needs no escaping and UTF-16 order is code-point
    order, so the object's bytes are its members' canonical bytes put in sorted key
    order. The ledger uses it for an envelope, whose member names are fixed: each
    value is canonicalized once and the body (without hash and sig) and the full
    envelope are both assembled from those bytes. A property test pins the output
    to the reference implementation.

    Raises:
        CanonicalizationError: a key is not printable ASCII without '"' or backslash.
    """
    names = "".join(members)
    if not (names.isascii() and names.isprintable()) or '"' in names or "\\" in names:
        raise CanonicalizationError(
            "member names must be printable ASCII without quotes or backslashes"
        )
    return (
        b"{"
        + b",".join(
            [b'"' + name.encode() + b'":' + members[name] for name in sorted(members)]
        )
        + b"}"
    )


def check_integers(value: JSONValue) -> None:
    """Raise CanonicalizationError when `value` holds a float or an unsafe integer."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        t = type(item)
        # The exact JSON types first (what json.loads makes), then their subclasses.
        if t is str or t is bool or item is None:
            continue
        if t is dict:
            stack.extend(item.values())  # type: ignore[attr-defined]  # t is dict
            continue
        if t is list:
            stack.extend(item)  # type: ignore[arg-type]  # t is list
            continue
        if isinstance(item, (bool, str)):
            continue
        if isinstance(item, int):
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                raise CanonicalizationError(f"integer {item} is outside +-(2^53-1)")
        elif isinstance(item, float):
            raise CanonicalizationError(
                f"number {item!r} is not an integer; write decimals as strings"
            )
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            raise CanonicalizationError(f"{type(item).__name__} is not JSON")
