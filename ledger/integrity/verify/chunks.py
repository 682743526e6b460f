"""The order-free share of the chain walk, done on whole chunks of lines, in workers.

Every check of docs/ledger-format.md section 6 that needs only the event itself runs
here, on a chunk of consecutive lines: (1)-(2) and the JCS form, the hash (7), the
Ed25519 event signature (9) and the crypto of an e-signature (10), with the public keys
the caller knew when it sent the chunk (and those registered inside the chunk). The
result is one compact tuple of facts per event; the walk (`walk.Verifier`) applies them
in `seq` order with the checks that depend on order (seq, versions, recorded_at, prev,
the key in force, the registry), so the first failure is the same whether a chunk ran
here in a worker or inline in the walk.

A signature or e-signature is reported as checked only together with the public key it
was checked with; the walk uses that result only when the key in force is that key, and
checks it again itself otherwise.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ledger.errors import VerificationError
from ledger.integrity.blobs import blob_ref_pairs
from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.chain import body_hash, signature_message
from ledger.integrity.ed25519 import verifies
from ledger.integrity.esig import ESIG_MEMBERS, esig_message
from ledger.integrity.merkle import leaf_hash
from ledger.integrity.signing import key_id as compute_key_id
from ledger.integrity.verify.lines import read_envelope
from ledger.integrity.verify.state import LEDGER_TYPES

CHUNK: Final = 2048
"""Lines in one chunk; also how often the walk reports progress."""

COPIED: Final = (
    "seq",
    "stream",
    "version",
    "type",
    "schema",
    "actor",
    "command_id",
    "occurred_at",
    "recorded_at",
    "key_id",
    "hash",
)
"""The envelope members a store keeps copies of beside each line, in this order."""

TOO_DEEP: Final = "JSON is nested too deeply"
"""The facts' blob references when finding them ran out of stack."""

Checked = tuple[bytes, bool] | None
"""(public key, whether the signature verifies with it), or None: not checked."""

RowSource = Callable[[int, int], tuple[list[bytes], list[Any]]]
"""`source(first, last)`: the lines with first <= seq <= last, in seq order, and
for each line the values a store keeps beside it (in `COPIED` order), or [] when
the lines come without copies (an export's)."""

Facts = tuple[Any, ...]
"""One event's facts: (None, reason) when (1)-(2) fail, else the `_facts` tuple."""


def signature_verifies(public: bytes, sig: bytes, digest: bytes) -> bool:
    """Return whether `sig` is the event signature of the hash `digest` by `public`."""
    return verifies(public, sig, signature_message(digest))


def check_chunk(
    lines: Sequence[bytes],
    first_seq: int,
    keys: Mapping[str, bytes],
    copies: Sequence[Sequence[object]] | None = None,
) -> list[Facts]:
    """Return the facts of each line, `lines[0]` being event `first_seq`.

    `keys` maps key ids to public keys known before the chunk; `copies` holds, per
    line, the values a store keeps beside it (in `COPIED` order). Runs in a worker.
    """
    known = dict(keys)
    out: list[Facts] = []
    for i, line in enumerate(lines):
        seq = first_seq + i
        try:
            env, body = read_envelope(seq, line)
        except VerificationError as exc:
            out.append((None, exc.reason))
            continue
        except RecursionError:  # json or canonicalization of deep data
            out.append((None, "JSON is nested too deeply"))
            continue
        out.append(
            _facts(env, body, line, known, None if copies is None else copies[i])
        )
    return out


def check_range(
    source: RowSource, first: int, last: int, keys: Mapping[str, bytes]
) -> list[Facts]:
    """Read events first..last from `source` and return their facts (`check_chunk`),
    the first row read being placed at `first`. Runs in a worker."""
    lines, copies = source(first, last)
    return check_chunk(lines, first, keys, copies or None)


def _facts(
    env: dict[str, Any],
    body: bytes,
    line: bytes,
    known: dict[str, bytes],
    copy: Sequence[object] | None,
) -> Facts:
    digest = body_hash(body)
    stated = env["hash"]
    hash_hex = digest.hex()
    bad_hash = None if stated == hash_hex else stated
    sig = base64.b64decode(env["sig"])
    kid, etype, data = env["key"], env["type"], env["data"]
    public = known.get(kid)
    sig_checked: Checked = None
    if public is not None and bad_hash is None:
        sig_checked = (public, signature_verifies(public, sig, digest))
    esig_checked: Checked = None
    has_esig = "esig" in data
    if has_esig:
        esig_checked = _esig_checked(data["esig"], known)
    # The blob references, found here: the walk only checks and records them.
    refs: list[tuple[object, object]] | str | None = None
    if b'"blob"' in line:
        try:
            refs = blob_ref_pairs(data) or None
        except RecursionError:  # the walk reports it where it notes the references
            refs = TOO_DEEP
    needs_data = has_esig or etype in LEDGER_TYPES
    if etype == "ledger.key_registered":
        _learn(data, known)
    return (
        env["seq"],
        env["stream"],
        env["version"],
        env["recorded_at"],
        env["prev"],
        kid,
        etype,
        digest,
        leaf_hash(digest),
        hash_hex,
        bad_hash,
        sig,
        sig_checked,
        data if needs_data else None,
        env["actor"],
        esig_checked,
        refs,
        None if copy is None else copy_problem(env, copy),
    )


def _esig_checked(esig: object, known: Mapping[str, bytes]) -> Checked:
    """Check an e-signature's crypto with the key its id names, when known."""
    if not isinstance(esig, dict) or set(esig) != ESIG_MEMBERS:
        return None
    if not all(type(v) is str for v in esig.values()):
        return None
    public = known.get(esig["key"])
    if public is None:
        return None
    try:
        sig = b64decode_canonical(esig["sig"], 64)
    except ValueError:
        return public, False
    return public, verifies(public, sig, esig_message(esig))


def _learn(data: Mapping[str, Any], known: dict[str, bytes]) -> None:
    """Note a key registered inside the chunk (the walk still checks the registration)."""
    try:
        public = b64decode_canonical(data.get("public_key"), 32)
    except ValueError:
        return
    known[compute_key_id(public)] = public


def copy_problem(env: Mapping[str, Any], copy: Sequence[object]) -> str | None:
    """Return how a store's copies of an envelope's members differ from it, or None."""
    values = (
        env["seq"],
        env["stream"],
        env["version"],
        env["type"],
        env["schema"],
        env["actor"],
        env["meta"]["command_id"],
        env["occurred_at"],
        env["recorded_at"],
        env["key"],
        env["hash"],
    )
    for name, column, value in zip(COPIED, copy, values, strict=True):
        if name == "hash" and isinstance(column, bytes | bytearray | memoryview):
            column = bytes(column).hex()
        if column != value:
            return f"stored column {name} is {column!r}, the envelope says {value!r}"
    return None
