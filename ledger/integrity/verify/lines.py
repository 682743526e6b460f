"""Reading one line of events.jsonl into its envelope: checks (1) and (2) and the JCS form.

The hash is computed over JCS(body); for a line that is the JCS form of its envelope,
the body is cut from the line rather than encoded again (`body_of`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ledger.errors import VerificationError
from ledger.integrity.canonical import (
    CanonicalizationError,
    canonical_bytes,
    canonical_bytes_prechecked,
)
from ledger.integrity.envelope import envelope_problem


def _reject_float(text: str) -> object:
    raise ValueError(f"number {text} is not an integer")


_DECODER = json.JSONDecoder(parse_float=_reject_float)


def read_envelope(seq: int, line: bytes) -> tuple[dict[str, Any], bytes]:
    """Return the envelope on `line` (event `seq`) and the JCS bytes of its body.

    Raises:
        VerificationError: the line is not a JSON object (1), the envelope's shape or
            formats are wrong (2), or the line is not the JCS form of its envelope.
    """

    def fail(reason: str) -> VerificationError:
        return VerificationError(seq, reason)

    # (1) a JSON object, serialized as JCS
    try:
        # json.loads(line, parse_float=_reject_float), without a new decoder
        # for every line.
        env = _DECODER.decode(line.decode(json.detect_encoding(line), "surrogatepass"))
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
        body = body_of(env, line) if full == line else None
    except CanonicalizationError as exc:
        raise fail(f"cannot canonicalize: {exc}") from exc
    if body is None:
        raise fail("line is not the JCS form of its envelope")
    return env, body


def body_of(env: Mapping[str, Any], line: bytes) -> bytes | None:
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
