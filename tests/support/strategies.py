"""Hypothesis strategies: JSON payloads of format v1, envelopes, chains, mutations.

Everything here is built with the integrity core itself (canonical bytes, event hash,
signature message), so a generated chain is valid by construction; the tests then
check what the core says about it and about single mutations of it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import strategies as st

from ledger.integrity.canonical import MAX_SAFE_INTEGER, JSONValue, canonical_bytes
from ledger.integrity.chain import GENESIS_PREV, event_hash, signature_message
from ledger.integrity.envelope import format_time
from ledger.integrity.signing import SigningKey

# A fixed key, so that generated envelopes do not depend on fresh randomness.
STRATEGY_KEY = SigningKey(
    Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"qms-ledger test strategies key").digest()
    )
)
ORIGIN = "qms.test.example/ledger"

# Characters that stress a canonicalizer: C0 controls (escaped as \u00XX, or \n
# \r \t \b \f), DEL and C1 controls (never escaped), quote, backslash, slash (never
# escaped in JCS), line and paragraph separators, BOM, keys whose UTF-16 order
# differs from their code-point order (U+FB33 vs U+1F600), the last code point.
SPECIAL_CHARS = (
    "\x00", "\x08", "\t", "\n", "\x0c", "\r", "\x1f", '"', "\\", "/", "\x7f",
    "\x80", "\x9f", "\u00f6", "\u2028", "\u2029", "\u20ac", "\ufb33", "\ufeff",
    "\uffff", "\U00010000", "\U0001f600", "\U0010ffff",
)  # fmt: skip

_chars = st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL_CHARS))

json_strings = st.text(alphabet=_chars, max_size=12)
ascii_strings = st.text(alphabet=st.characters(codec="ascii"), max_size=12)
json_keys = st.one_of(ascii_strings, json_strings)

safe_integers = st.one_of(
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.sampled_from([0, 1, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 2**31, -(2**31)]),
)
unsafe_integers = st.one_of(
    st.integers(min_value=MAX_SAFE_INTEGER + 1),
    st.integers(max_value=-MAX_SAFE_INTEGER - 1),
    st.sampled_from([2**53, -(2**53), 2**64, -(2**64)]),
)
lone_surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)

json_scalars = st.one_of(st.none(), st.booleans(), safe_integers, json_strings)


def _json_containers(
    keys: st.SearchStrategy[str],
) -> Callable[[st.SearchStrategy[Any]], st.SearchStrategy[Any]]:
    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(keys, children, max_size=5),
        )

    return extend


# Any JSON value ledger format v1 allows: no floats, integers within +-(2^53-1).
json_values: st.SearchStrategy[JSONValue] = st.recursive(
    json_scalars, _json_containers(json_keys), max_leaves=25
)
# The same with ASCII keys only: the values the canonicalizer's fast path takes.
ascii_key_json_values: st.SearchStrategy[JSONValue] = st.recursive(
    json_scalars, _json_containers(ascii_strings), max_leaves=25
)
json_objects: st.SearchStrategy[dict[str, JSONValue]] = st.dictionaries(
    json_keys, json_values, max_size=6
)


@st.composite
def reordered(draw: st.DrawFn, value: JSONValue) -> JSONValue:
    """Return an equal value whose objects were built in a drawn key order."""
    if isinstance(value, Mapping):
        items = draw(st.permutations(list(value.items())))
        return {k: draw(reordered(v)) for k, v in items}
    if isinstance(value, list):
        return [draw(reordered(v)) for v in value]
    return value


@st.composite
def with_lone_surrogate(draw: st.DrawFn) -> str:
    """Return a string holding one unpaired UTF-16 surrogate."""
    text = draw(json_strings)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(lone_surrogates) + text[at:]


# Envelope parts, within the rules of docs/ledger-format.md section 1.
kinds = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(
    lambda k: k != "ledger"  # the ledger's own key and blob events have fixed data
)
verbs = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
stream_ids = st.from_regex(r"[A-Za-z0-9._:\-]{1,24}", fullmatch=True)
actors = st.one_of(
    st.just("system"), st.from_regex(r"[A-Za-z0-9._:@\-]{1,24}", fullmatch=True)
)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001  # bounds only; tz set below
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001  # bounds only; tz set below
    timezones=st.just(UTC),
)
ledger_times = instants.map(format_time)
command_ids = st.from_regex(r"cmd-[0-9a-f]{1,12}", fullmatch=True)


@st.composite
def metas(draw: st.DrawFn) -> dict[str, str]:
    """Return a `meta` object: a command id and, sometimes, causation/correlation."""
    meta = {"command_id": draw(command_ids)}
    if draw(st.booleans()):
        meta["causation"] = draw(command_ids)
    if draw(st.booleans()):
        meta["correlation"] = draw(ascii_strings.filter(bool))
    return meta


def seal(
    body: Mapping[str, JSONValue], key: SigningKey = STRATEGY_KEY
) -> dict[str, Any]:
    """Return the envelope of `body` with `key`, `hash` and `sig` filled in."""
    unsigned = {**body, "key": key.key_id}
    digest = event_hash(unsigned)
    signature = key.sign(signature_message(digest))
    return {
        **unsigned,
        "hash": digest.hex(),
        "sig": base64.b64encode(signature).decode(),
    }


@st.composite
def envelopes(
    draw: st.DrawFn,
    *,
    key: SigningKey = STRATEGY_KEY,
    seq: int | None = None,
    prev: str | None = None,
) -> dict[str, Any]:
    """Return one signed, well-formed envelope (not linked to any chain)."""
    kind = draw(kinds)
    body: dict[str, JSONValue] = {
        "seq": seq if seq is not None else draw(st.integers(1, MAX_SAFE_INTEGER)),
        "stream": f"{kind}/{draw(stream_ids)}",
        "version": draw(st.integers(1, 1000)),
        "type": f"{kind}.{draw(verbs)}",
        "schema": draw(st.integers(1, 5)),
        "data": draw(json_objects),
        "meta": draw(metas()),
        "actor": draw(actors),
        "occurred_at": draw(ledger_times),
        "recorded_at": draw(ledger_times),
        "prev": prev
        if prev is not None
        else draw(st.binary(min_size=32, max_size=32)).hex(),
    }
    return seal(body, key)


def genesis(key: SigningKey = STRATEGY_KEY, *, recorded_at: str) -> dict[str, Any]:
    """Return event 1 of a ledger: `ledger.initialized`, signed with its own key."""
    return seal(
        {
            "seq": 1,
            "stream": "ledger/keys",
            "version": 1,
            "type": "ledger.initialized",
            "schema": 1,
            "data": {"format": 1, "origin": ORIGIN, "public_key": key.public_b64},
            "meta": {"command_id": "cmd-genesis"},
            "actor": "system",
            "occurred_at": recorded_at,
            "recorded_at": recorded_at,
            "prev": GENESIS_PREV.hex(),
        },
        key,
    )


@st.composite
def chains(
    draw: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 8,
    key: SigningKey = STRATEGY_KEY,
) -> list[dict[str, Any]]:
    """Return a valid ledger of `min_size..max_size` events: a genesis, then events
    on a few streams with per-stream versions, `prev` links and rising times."""
    size = draw(st.integers(min_size, max_size))
    times = sorted(draw(st.lists(ledger_times, min_size=size, max_size=size)))
    events = [genesis(key, recorded_at=times[0])]
    streams = draw(
        st.lists(
            st.tuples(kinds, stream_ids).map(lambda p: f"{p[0]}/{p[1]}"),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    versions: dict[str, int] = {}
    for seq in range(2, size + 1):
        stream = draw(st.sampled_from(streams))
        versions[stream] = versions.get(stream, 0) + 1
        body: dict[str, JSONValue] = {
            "seq": seq,
            "stream": stream,
            "version": versions[stream],
            "type": f"{stream.split('/', 1)[0]}.{draw(verbs)}",
            "schema": 1,
            "data": draw(json_objects),
            "meta": draw(metas()),
            "actor": draw(actors),
            "occurred_at": draw(ledger_times),
            "recorded_at": times[seq - 1],
            "prev": events[-1]["hash"],
        }
        events.append(seal(body, key))
    return events


def _other_string(value: str) -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=12).filter(lambda s: s != value)


@st.composite
def hashed_mutations(
    draw: st.DrawFn, envelope: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Return (member, copy of `envelope` with one hashed member changed).

    `hash` and `sig` are kept, so the copy claims the original's hash and signature.
    """
    member = draw(
        st.sampled_from(sorted(k for k in envelope if k not in ("hash", "sig")))
    )
    value = envelope[member]
    new: Any
    if isinstance(value, int):
        new = draw(st.integers(0, MAX_SAFE_INTEGER).filter(lambda v: v != value))
    elif isinstance(value, str):
        new = draw(_other_string(value))
    else:
        new = draw(json_objects.filter(lambda v: v != value))
    return member, {**envelope, member: new}


def ledger_lines(events: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """Return the export lines (JCS of each envelope) of `events`."""
    return [canonical_bytes(dict(e)) for e in events]
