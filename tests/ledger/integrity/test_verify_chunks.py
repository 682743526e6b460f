"""Chunks checked in workers give the same first failure as the walk done inline.

The ledger is long enough for worker processes (`POOL_AFTER`) and spans several chunks
(`CHUNK`); the tampered events sit on chunk edges, after a key rotation that chunks
already in flight do not know of, and in pairs across chunks, where the lower seq must
win whichever check found it and wherever it ran.
"""

from __future__ import annotations

import base64
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import VerificationError
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.chain import event_hash, signature_message
from ledger.integrity.export_reader import MAX_EVENT_LINE
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import verify_export, verify_lines
from ledger.integrity.verify.chunks import CHUNK
from ledger.integrity.verify.signatures import POOL_AFTER
from tests.support.chainbuilder import ChainBuilder

SIZE = 5 * CHUNK + 300
ROTATION = 3 * CHUNK - 100  # the new key is registered here, the old revoked after it
ESIGNED = (2 * CHUNK + 1, 3 * CHUNK, 4 * CHUNK + 1, 5 * CHUNK)


class Ledger:
    """A long chain with its keys, and its lines to tamper with."""

    def __init__(self) -> None:
        b = ChainBuilder()
        self.first_key = b.key
        self.alice = SigningKey.generate()
        b.register(self.alice, holder="u-alice", purpose="esign")
        for n in range(3, SIZE + 1):
            stream = f"document/QP-{n % 97:02d}"
            if n == ROTATION:
                self.second_key = SigningKey.generate()
                b.rotate(self.second_key)
            elif n == ROTATION + 1:
                continue
            elif n in ESIGNED:
                b.esign(stream, "u-alice", self.alice, "ab" * 32)
            else:
                b.add(stream)
        assert len(b.envs) == SIZE
        self.trusted = str(b.envs[0]["key"])
        self.lines = b.lines()


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()


Edit = Callable[[Ledger, list[bytes]], None]


def _env(lines: list[bytes], seq: int) -> dict[str, Any]:
    env: dict[str, Any] = json.loads(lines[seq - 1])
    return env


def _put(lines: list[bytes], seq: int, env: dict[str, Any]) -> None:
    lines[seq - 1] = canonical_bytes(env)


def _resigned(
    seq: int, change: Callable[[dict[str, Any]], None], key: SigningKey | None = None
) -> Edit:
    """Change event `seq` and seal it again (hash and sig) with `key`; later prevs break.

    Without `key`, the ledger key in force at `seq` seals it.
    """

    def run(led: Ledger, lines: list[bytes]) -> None:
        env = _env(lines, seq)
        change(env)
        signer = key or (led.first_key if seq <= ROTATION else led.second_key)
        env["key"] = signer.key_id
        digest = event_hash(env)
        env["hash"] = digest.hex()
        env["sig"] = base64.b64encode(signer.sign(signature_message(digest))).decode()
        _put(lines, seq, env)

    return run


def _raw(seq: int, change: Callable[[dict[str, Any]], None]) -> Edit:
    def run(led: Ledger, lines: list[bytes]) -> None:
        env = _env(lines, seq)
        change(env)
        _put(lines, seq, env)

    return run


def _not_json(seq: int) -> Edit:
    def run(led: Ledger, lines: list[bytes]) -> None:
        lines[seq - 1] = b'{"seq": '

    return run


def _not_canonical(seq: int) -> Edit:
    def run(led: Ledger, lines: list[bytes]) -> None:
        lines[seq - 1] = lines[seq - 1].replace(b'{"actor"', b'{ "actor"', 1)

    return run


def _delete(seq: int) -> Edit:
    def run(led: Ledger, lines: list[bytes]) -> None:
        del lines[seq - 1]

    return run


def _sig_of(seq: int, other: int) -> Edit:
    def run(led: Ledger, lines: list[bytes]) -> None:
        env = _env(lines, seq)
        env["sig"] = _env(lines, other)["sig"]
        _put(lines, seq, env)

    return run


def _esig_broken(seq: int, *, reseal: bool) -> Edit:
    """Break the e-signature of event `seq`; keep its event signature unless `reseal`."""

    def change(env: dict[str, Any]) -> None:
        env["data"]["esig"]["sig"] = base64.b64encode(b"\x01" * 64).decode()

    if reseal:
        return _resigned(seq, change)

    def run(led: Ledger, lines: list[bytes]) -> None:
        env = _env(lines, seq)
        change(env)
        env["hash"] = event_hash(env).hex()  # the event signature no longer covers it
        _put(lines, seq, env)

    return run


def _both(*edits: Edit) -> Edit:
    def run(led: Ledger, lines: list[bytes]) -> None:
        # the later edit first, so that a deletion does not move the earlier one
        for edit in reversed(edits):
            edit(led, lines)

    return run


A, B, C = 2 * CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 1  # first and last of a pooled chunk
D, E = 4 * CHUNK, 5 * CHUNK + 1

CASES: dict[str, tuple[Edit, int, str]] = {
    "not_json_first_of_chunk": (_not_json(A), A, "not a JSON object"),
    "hash_last_of_chunk": (
        _raw(B, lambda e: e["data"].update(title="edited")),
        B,
        "hash mismatch",
    ),
    "signature_first_of_chunk_after_rotation": (
        _sig_of(C, C + 1),
        C,
        "signature does not verify",
    ),
    "unregistered_key_last_of_chunk": (
        _resigned(D, lambda e: None, SigningKey.generate()),
        D,
        "is not registered",
    ),
    "esig_first_of_chunk": (
        _esig_broken(4 * CHUNK + 1, reseal=False),
        4 * CHUNK + 1,
        "signature does not verify",
    ),
    "two_failures_in_two_chunks": (
        _both(_raw(B, lambda e: e["data"].update(title="x")), _sig_of(D, D - 1)),
        B,
        "hash mismatch",
    ),
    "order_failure_below_a_worker_failure": (
        _both(_resigned(B, lambda e: e.update(version=99)), _not_json(D)),
        B,
        "version is 99",
    ),
    "worker_failure_below_an_order_failure": (
        _both(_not_canonical(A), _delete(D)),
        A,
        "not the JCS form",
    ),
    "recorded_at_before_hash_at_one_seq": (
        _raw(C, lambda e: e.update(recorded_at="2026-01-01T00:00:00.000000Z")),
        C,
        "is before the previous event's",
    ),
    "deleted_last_of_chunk": (_delete(B), B, f"seq is {B + 1}, expected {B}"),
}


def _first_failure(lines: list[bytes], trusted: str, workers: int) -> tuple[int, str]:
    with pytest.raises(VerificationError) as info:
        verify_lines(lines, trusted_key_id=trusted, workers=workers)
    return info.value.seq, info.value.reason


def test_the_ledger_reaches_the_workers() -> None:
    assert SIZE > POOL_AFTER + 2 * CHUNK
    assert A > POOL_AFTER


def test_untampered_ledger_gives_one_head_inline_and_in_workers(
    ledger: Ledger,
) -> None:
    inline = verify_lines(ledger.lines, trusted_key_id=ledger.trusted, workers=0)
    pooled = verify_lines(ledger.lines, trusted_key_id=ledger.trusted, workers=2)
    assert (pooled.size, pooled.esignatures) == (SIZE, len(ESIGNED))
    assert (pooled.root, pooled.hash, pooled.keys) == (
        inline.root,
        inline.hash,
        inline.keys,
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_inline_and_workers_fail_at_the_same_seq_for_the_same_reason(
    ledger: Ledger, case: str
) -> None:
    edit, seq, reason = CASES[case]
    lines = list(ledger.lines)
    edit(ledger, lines)
    inline = _first_failure(lines, ledger.trusted, workers=0)
    pooled = _first_failure(lines, ledger.trusted, workers=2)
    assert pooled == inline
    assert _first_failure(lines, ledger.trusted, workers=1) == inline
    assert inline[0] == seq, inline
    assert reason in inline[1], inline


def test_a_revoked_key_fails_where_a_worker_knew_the_key(ledger: Ledger) -> None:
    lines = list(ledger.lines)
    # the first key is known to every chunk, but revoked at the rotation
    _resigned(E, lambda e: None, ledger.first_key)(ledger, lines)
    inline = _first_failure(lines, ledger.trusted, workers=0)
    assert _first_failure(lines, ledger.trusted, workers=2) == inline
    assert inline == (
        E,
        f"key {ledger.first_key.key_id} was revoked at seq {ROTATION + 1}",
    )


def test_a_failing_esig_in_a_worker_is_reported_by_the_walk(ledger: Ledger) -> None:
    lines = list(ledger.lines)
    _esig_broken(5 * CHUNK, reseal=True)(ledger, lines)
    inline = _first_failure(lines, ledger.trusted, workers=0)
    assert _first_failure(lines, ledger.trusted, workers=2) == inline
    assert inline == (5 * CHUNK, "e-signature of u-alice does not verify")


def _export(
    folder: Path, lines: list[bytes], *, newline: bool = True
) -> tuple[Path, Path]:
    """The same events.jsonl as a folder (workers read their own lines) and as a zip
    (read in order): the zip is the reference for the folder."""
    folder.mkdir()
    content = b"\n".join(lines) + (b"\n" if newline else b"")
    (folder / "events.jsonl").write_bytes(content)
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("events.jsonl", content)
    return folder, archive


def _export_failure(path: Path, trusted: str, workers: int) -> tuple[int, str]:
    with pytest.raises(VerificationError) as info:
        verify_export(path, trusted_key_id=trusted, workers=workers)
    return info.value.seq, info.value.reason


EXPORT_CASES: dict[str, Callable[[Ledger, list[bytes]], None]] = {
    "deleted_last_of_chunk": _delete(B),
    "line_too_long_in_a_workers_chunk": lambda _led, lines: lines.__setitem__(
        A - 1, b"x" * (MAX_EVENT_LINE + 1)
    ),
    **{name: CASES[name][0] for name in sorted(CASES)[:4]},
}


@pytest.mark.parametrize("case", ["untampered", "no_final_newline", *EXPORT_CASES])
def test_an_export_folder_read_by_workers_fails_as_its_zip_read_in_order(
    ledger: Ledger, case: str, tmp_path: Path
) -> None:
    lines = list(ledger.lines)
    if case in EXPORT_CASES:
        EXPORT_CASES[case](ledger, lines)
    folder, archive = _export(
        tmp_path / "export", lines, newline=case != "no_final_newline"
    )
    in_order = _export_failure(archive, ledger.trusted, workers=0)
    if case == "untampered":  # the walk passed: the missing checkpoint is next
        assert in_order == (0, "export has no checkpoint")
    elif case == "no_final_newline":
        assert in_order == (0, "events.jsonl does not end with a newline")
    for workers in (2, 1, 0):
        assert _export_failure(folder, ledger.trusted, workers) == in_order, workers
