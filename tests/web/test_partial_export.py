"""A partial export of one bureau of the tiny demo, as a certifier gets and checks it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.errors import VerificationError
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.verify import verify_partial_export

pytestmark = pytest.mark.xdist_group("partial_export")  # one demo ledger per run

QMS = [sys.executable, "-c", "from web.cli import main; main()"]
REPO = Path(__file__).resolve().parents[2]


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env["QMS_INSTANCE"] = str(instance)
    return env


def _qms(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QMS, *args], capture_output=True, text=True, env=_env(instance), check=False
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    instance = tmp_path_factory.mktemp("partial") / "instance"
    run = _qms(instance, "demo", "--size", "tiny")
    assert run.returncode == 0, run.stderr
    return instance


def _db(instance: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{instance / 'qms.sqlite3'}?mode=ro", uri=True)


def _trusted(instance: Path) -> str:
    db = _db(instance)
    try:
        return str(
            db.execute("SELECT key_id FROM ledger_events WHERE seq = 1").fetchone()[0]
        )
    finally:
        db.close()


@pytest.fixture(scope="module")
def bureau_export(demo: Path) -> Path:
    out = demo.parent / "bj"
    run = _qms(
        demo,
        "partial-export",
        "--unit",
        "BJ",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    assert "with proofs against the checkpoint" in run.stdout
    return out


def _lines(folder: Path, name: str = "events.jsonl") -> list[bytes]:
    return (folder / name).read_bytes().splitlines()


def _envelopes(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in _lines(folder)]


def test_a_bureau_export_verifies_where_sqlalchemy_cannot_be_imported(
    demo: Path, bureau_export: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    for name in ("sqlalchemy", "psycopg", "flask", "marshmallow", "alembic"):
        (blocker / f"{name}.py").write_text(
            f"raise ImportError('{name} is not available offline')\n"
        )
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"}
    command = [
        sys.executable,
        "-m",
        "ledger.verify",
        "--export",
        str(bureau_export),
        "--trusted-key",
        _trusted(demo),
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("OK partial events=")
    assert "scope: units BJ, recorded 2026-01-01 to 2026-12-31 (UTC)" in run.stdout
    assert "a partial export cannot show:" in run.stdout
    assert "the ledger holds nothing else about these records" in run.stdout
    copy = tmp_path / "bad"
    shutil.copytree(bureau_export, copy)
    _drop(copy, _middle_record_event(copy))
    command[4] = str(copy)
    run = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert run.returncode == 1
    assert run.stdout.startswith("FAIL seq=")
    assert "version is" in run.stdout


def test_the_certifier_gets_only_that_subtrees_records(
    demo: Path, bureau_export: Path
) -> None:
    envelopes = _envelopes(bureau_export)
    streams = {str(e["stream"]) for e in envelopes}
    records = streams - {"ledger/keys", "ledger/blobs"}
    assert records, "the bureau's records are in the export"
    assert any(s.startswith("document/BJ-") for s in records)
    assert not any(s.startswith("user/") for s in streams)
    db = _db(demo)
    try:
        other = db.execute(
            "SELECT seq, stream FROM ledger_events WHERE stream LIKE 'document/SH-%' "
            "ORDER BY seq LIMIT 1"
        ).fetchone()
        bj_docs = {
            f"document/{row[0]}"
            for row in db.execute(
                "SELECT DISTINCT doc_id FROM proj_documents WHERE unit = 'BJ'"
            )
        }
    finally:
        db.close()
    assert other is not None
    assert other[0] not in {e["seq"] for e in envelopes}
    assert other[1] not in streams
    assert {s for s in records if s.startswith("document/")} == bj_docs
    manifest = json.loads((bureau_export / "manifest.json").read_text())
    assert manifest["scope"]["units"] == ["BJ"]
    listed = {s["stream"]: s["last_version"] for s in manifest["streams"]}
    assert set(listed) == streams
    for stream, last in listed.items():
        versions = [e["version"] for e in envelopes if e["stream"] == stream]
        assert versions == list(range(1, last + 1))


def test_the_headquarters_subtree_holds_every_bureau_and_a_zip_verifies(
    demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hq.zip"
    run = _qms(
        demo,
        "partial-export",
        "--unit",
        "HQ",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--out",
        str(out),
        "--zip",
    )
    assert run.returncode == 0, run.stderr
    result = verify_partial_export(out, trusted_key_id=_trusted(demo))
    assert set(result.scope["units"]) == {"HQ", "BJ", "SH", "GZ", "CD", "WH", "XA"}
    run = _qms(demo, "verify", "--export", str(out), "--trusted-key", _trusted(demo))
    assert run.returncode == 0, run.stdout
    assert "a partial export cannot show:" in run.stdout


def test_unknown_unit_and_reversed_period_are_refused(
    demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x"
    run = _qms(
        demo, "partial-export", "--unit", "NOPE", "--from", "2026-01-01",
        "--to", "2026-12-31", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 2
    assert "unit NOPE not found" in run.stderr
    run = _qms(
        demo, "partial-export", "--unit", "BJ", "--from", "2026-12-31",
        "--to", "2026-01-01", "--out", str(out),
    )  # fmt: skip
    assert run.returncode == 2
    assert "--to" in run.stderr
    assert not out.exists()


# --- the tamper matrix, as it applies to a partial export -----------------------


def _rewrite(
    folder: Path, index: int, change: Callable[[dict[str, object]], None]
) -> int:
    lines = _lines(folder)
    env = json.loads(lines[index])
    change(env)
    lines[index] = canonical_bytes(env)
    (folder / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    return int(env["seq"])


def _record_events(folder: Path) -> list[int]:
    return [
        i
        for i, e in enumerate(_envelopes(folder))
        if not str(e["stream"]).startswith("ledger/")
    ]


def _middle_record_event(folder: Path) -> int:
    envelopes = _envelopes(folder)
    for i, e in enumerate(envelopes):
        later = [f for f in envelopes[i + 1 :] if f["stream"] == e["stream"]]
        if (
            int(str(e["version"])) > 1
            and later
            and not str(e["stream"]).startswith("ledger/")
        ):
            return i
    raise AssertionError("no stream with three events")


def _drop(folder: Path, index: int) -> int:
    """Drop the event at `index` and its proof; return the seq of the stream's next."""
    envelopes = _envelopes(folder)
    gone = envelopes[index]
    nxt = next(e for e in envelopes[index + 1 :] if e["stream"] == gone["stream"])
    for name in ("events.jsonl", "proofs.jsonl"):
        lines = _lines(folder, name)
        del lines[index]
        (folder / name).write_bytes(b"".join(line + b"\n" for line in lines))
    return int(str(nxt["seq"]))


def _payload(folder: Path) -> tuple[int, str]:
    index = _record_events(folder)[3]

    def change(env: dict[str, object]) -> None:
        data = env["data"]
        assert isinstance(data, dict)
        data["tampered"] = "yes"

    return _rewrite(folder, index, change), "hash mismatch"


def _hash(folder: Path) -> tuple[int, str]:
    index = _record_events(folder)[4]
    return _rewrite(folder, index, lambda e: e.update(hash="0" * 64)), "hash mismatch"


def _signature(folder: Path) -> tuple[int, str]:
    indexes = _record_events(folder)
    other = _envelopes(folder)[indexes[6]]["sig"]
    return (
        _rewrite(folder, indexes[5], lambda e: e.update(sig=other)),
        "signature does not verify",
    )


def _proof(folder: Path) -> tuple[int, str]:
    index = _record_events(folder)[2]
    lines = _lines(folder, "proofs.jsonl")
    proof = json.loads(lines[index])
    proof["hashes"][0] = "00" * 32
    lines[index] = json.dumps(proof).encode()
    (folder / "proofs.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    return int(proof["seq"]), "inclusion proof does not verify"


def _checkpoint_signature(folder: Path) -> tuple[int, str]:
    text = (folder / "checkpoint").read_text()
    head, _, sig_line = text.rstrip("\n").rpartition("\n")
    prefix, _, sig = sig_line.rpartition(" ")
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 1
    tampered = f"{head}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    (folder / "checkpoint").write_text(tampered)
    return 0, "checkpoint signature does not verify"


def _key_event(folder: Path) -> tuple[int, str]:
    envelopes = _envelopes(folder)
    index = next(
        i for i, e in enumerate(envelopes) if e["type"] == "ledger.key_registered"
    )

    def change(env: dict[str, object]) -> None:
        data = env["data"]
        assert isinstance(data, dict)
        data["holder"] = "someone.else"

    return _rewrite(folder, index, change), "hash mismatch"


def _blob(folder: Path) -> tuple[int, str]:
    blob = sorted((folder / "blobs").iterdir())[0]
    blob.write_bytes(blob.read_bytes() + b"x")
    return 0, "does not match its digest"


def _dropped(folder: Path) -> tuple[int, str]:
    return _drop(folder, _middle_record_event(folder)), "version is"


def _dropped_last(folder: Path) -> tuple[int, str]:
    envelopes = _envelopes(folder)
    index = max(_record_events(folder))
    stream = envelopes[index]["stream"]
    for name in ("events.jsonl", "proofs.jsonl"):
        lines = _lines(folder, name)
        del lines[index]
        (folder / name).write_bytes(b"".join(line + b"\n" for line in lines))
    return 0, f"stream {stream} ends at version"


def _edited_by_hand(folder: Path) -> tuple[int, str]:
    index = _record_events(folder)[7]
    lines = _lines(folder)
    seq = int(json.loads(lines[index])["seq"])
    lines[index] = b"{ " + lines[index][1:]
    (folder / "events.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
    return seq, "not the JCS form"


MATRIX: dict[str, Callable[[Path], tuple[int, str]]] = {
    "edited-by-hand": _edited_by_hand,
    "payload": _payload,
    "hash": _hash,
    "signature": _signature,
    "proof-hash": _proof,
    "checkpoint-signature": _checkpoint_signature,
    "key-event": _key_event,
    "blob": _blob,
    "event-dropped-from-a-stream": _dropped,
    "last-event-of-a-stream-dropped": _dropped_last,
}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_a_tampered_partial_export_fails_at_its_seq(
    case: str, demo: Path, bureau_export: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(bureau_export, folder)
    seq, reason = MATRIX[case](folder)
    with pytest.raises(VerificationError) as info:
        verify_partial_export(folder, trusted_key_id=_trusted(demo))
    assert (info.value.seq, reason in info.value.reason) == (seq, True), info.value
    if case != "proof-hash":  # the command line once: its exit code and first line
        return
    run = _qms(demo, "verify", "--export", str(folder), "--trusted-key", _trusted(demo))
    assert run.returncode == 1
    assert run.stdout.startswith(f"FAIL seq={seq} ")


def test_an_event_of_another_unit_slipped_in_is_refused(
    demo: Path, bureau_export: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(bureau_export, folder)
    db = _db(demo)
    try:
        seq, envelope = db.execute(
            "SELECT e.seq, e.envelope FROM ledger_events e JOIN (SELECT DISTINCT "
            "finding_id FROM proj_findings WHERE unit <> 'BJ') f "
            "ON e.stream = 'finding/' || f.finding_id ORDER BY e.seq LIMIT 1"
        ).fetchone()
    finally:
        db.close()
    envelopes = _envelopes(folder)
    assert seq not in {e["seq"] for e in envelopes}
    at = next(i for i, e in enumerate(envelopes) if int(str(e["seq"])) > seq)
    for name, line in (
        ("events.jsonl", envelope.encode()),
        ("proofs.jsonl", json.dumps({"seq": seq, "hashes": []}).encode()),
    ):
        lines = _lines(folder, name)
        lines.insert(at, line)
        (folder / name).write_bytes(b"".join(x + b"\n" for x in lines))
    with pytest.raises(VerificationError) as info:
        verify_partial_export(folder, trusted_key_id=_trusted(demo))
    assert info.value.seq == seq
    assert "is not listed in manifest.json" in info.value.reason
