"""JSON Canonicalization Scheme (RFC 8785) bytes: the ONLY definition of what is hashed.

`canonical_bytes` takes a fast path through the standard library's C encoder when the
value holds only what ledger format v1 allows (objects with ASCII keys, arrays,
strings, booleans, null and integers within +-(2^53-1)); for those values the C
encoder's output with sorted keys, no spaces and raw UTF-8 is exactly JCS (a property
test pins this). Anything else goes through the `rfc8785` reference package.
"""

from __future__ import annotations

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


def check_integers(value: JSONValue) -> None:
    """Raise CanonicalizationError when `value` holds a float or an unsafe integer."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
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
