"""The `qms` command as a user runs it: exit codes, one-line errors, outputs that verify."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from ledger.integrity import merkle
from ledger.integrity.checkpoint import (
    parse_note,
    parse_verifier_key,
    verify_checkpoint,
)
from ledger.integrity.tlog_proof import verify_proof as verify_tlog_proof
from tests.support.cli import Qms


@pytest.fixture
def qms(
    tmp_path: Path,
    engine_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Qms:
    runner = Qms(tmp_path / "instance", engine_url, monkeypatch, capsys)
    code, _out, err = runner("init")
    assert code == 0, err
    return runner


def test_init_writes_a_private_key_and_the_genesis_event(qms: Qms) -> None:
    key = qms.instance / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(qms.instance.stat().st_mode) == 0o700
    database = qms.instance.parent / "ledger.sqlite3"
    if database.exists():  # the SQLite run: sealed keys and password hashes inside
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
    n = qms.size()
    assert n > 1  # genesis, the headquarters, the first administrator and their key
    code, out, _ = qms("verify")
    assert code == 0
    assert out.startswith(f"OK n={n} root=")
    code, out, _ = qms("init")
    assert (code, f"is initialized: n={n}" in out) == (0, True)
    assert qms.size() == n


def test_export_verifies_offline_with_the_published_key(
    qms: Qms, tmp_path: Path
) -> None:
    code, out, _ = qms("pubkey", "--json")
    keys = json.loads(out)
    assert code == 0
    assert parse_verifier_key(keys["verifier_key"])[0] == "qms.test.gov.cn/ledger"
    for args in (
        ("--out", str(tmp_path / "x")),
        ("--out", str(tmp_path / "x.zip"), "--zip"),
    ):
        code, out, err = qms("export", *args)
        assert code == 0, err
        code, out, err = qms(
            "verify", "--export", args[1], "--trusted-key", keys["key_id"]
        )
        assert (code, out.startswith(f"OK n={qms.size()} root=")) == (0, True), (
            out + err
        )
    code, out, _ = qms(
        "verify",
        "--export",
        str(tmp_path / "x"),
        "--trusted-key",
        keys["key_id"],
        "--json",
    )
    assert json.loads(out)["covered"] == [1, qms.size()]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("verify", "--export", "nowhere"), "--trusted-key"),
        (("verify", "--export", "nowhere", "--trusted-key", "XYZ"), "16 lowercase hex"),
        (
            ("verify", "--export", "nowhere", "--trusted-key", "0123456789abcdef"),
            "does not exist",
        ),
        (("prove", "inclusion", "500"), "is not in a tree of size"),
        (("prove", "consistency", "2", "1"), "SIZE1 <= SIZE2"),
        (("frobnicate",), "No such command"),
        (("verify", "--consistency-proof", "p.json"), "go with --export"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    qms: Qms, args: tuple[str, ...], message: str
) -> None:
    code, out, err = qms(*args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_proofs_verify_against_a_signed_checkpoint(qms: Qms, tmp_path: Path) -> None:
    code, note, _ = qms("checkpoint")
    assert code == 0
    _, out, _ = qms("pubkey", "--json")
    _, _, public = parse_verifier_key(json.loads(out)["verifier_key"])
    cp = verify_checkpoint(note, "qms.test.gov.cn/ledger", [public])
    assert cp.size == qms.size()
    code, out, _ = qms("prove", "inclusion", "2")
    proof = json.loads(out)
    assert (proof["leaf_index"], proof["tree_size"]) == (1, cp.size)
    code, out, _ = qms("export", "--out", str(tmp_path / "e"))
    lines = (tmp_path / "e" / "events.jsonl").read_bytes().splitlines()
    leaf = bytes.fromhex(json.loads(lines[1])["hash"])
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    assert merkle.verify_inclusion(leaf, 1, cp.size, hashes, cp.root)
    assert not merkle.verify_inclusion(leaf, 2, cp.size, hashes, cp.root)


def test_a_tlog_proof_file_verifies_with_the_published_key(
    qms: Qms, tmp_path: Path
) -> None:
    _, out, _ = qms("pubkey", "--json")
    _, _, public = parse_verifier_key(json.loads(out)["verifier_key"])
    n = qms.size()
    code, text, err = qms("prove", "inclusion", "2", "--format", "tlog-proof")
    assert code == 0, err
    assert text.startswith("c2sp.org/tlog-proof@v1\nindex 1\n")
    code, _, _ = qms("export", "--out", str(tmp_path / "e"))
    lines = (tmp_path / "e" / "events.jsonl").read_bytes().splitlines()
    leaf = bytes.fromhex(json.loads(lines[1])["hash"])
    origin = "qms.test.gov.cn/ledger"
    proof, cp = verify_tlog_proof(text, leaf, origin, [public])
    assert (proof.index, cp.size) == (1, n)
    code, text, err = qms(
        "prove", "inclusion", "1", "--size", "1", "--format", "tlog-proof"
    )
    assert code == 0, err
    assert (
        verify_tlog_proof(
            text, bytes.fromhex(json.loads(lines[0])["hash"]), origin, [public]
        )[1].size
        == 1
    )
    code, _, err = qms("prove", "inclusion", "1", "--format", "json-ld")
    assert code == 2
    assert "--format" in err


def test_key_rotation_keeps_the_ledger_verifying(qms: Qms, tmp_path: Path) -> None:
    _, out, _ = qms("pubkey", "--json")
    first = json.loads(out)["key_id"]
    n = qms.size()
    code, rotated, err = qms("key", "rotate")
    assert code == 0, err
    _, out, _ = qms("pubkey", "--json")
    second = json.loads(out)["key_id"]
    assert second != first
    # The revoked key could sign an alternative history from event 1: it is gone.
    assert sorted(p.name for p in qms.instance.glob("signing-key*")) == [
        "signing-key.pem"
    ]
    assert "the old private key is destroyed" in rotated
    code, out, _ = qms("verify", "--trusted-key", first)
    assert (code, out.startswith(f"OK n={n + 2} ")) == (0, True)
    code, out, _ = qms("export", "--out", str(tmp_path / "e"))
    code, out, _ = qms(
        "verify", "--export", str(tmp_path / "e"), "--trusted-key", first
    )
    assert code == 0
    note = (tmp_path / "e" / "checkpoint").read_text()
    assert parse_note(note)[0].size == n + 2
    code, out, _ = qms("prove", "consistency", "1", str(n + 2))
    proof = json.loads(out)
    root3 = parse_note(note)[0].root
    hashes = [bytes.fromhex(h) for h in proof["hashes"]]
    lines = (tmp_path / "e" / "events.jsonl").read_bytes().splitlines()
    root1 = merkle.root_from_leaves([bytes.fromhex(json.loads(lines[0])["hash"])])
    assert merkle.verify_consistency(1, n + 2, hashes, root1, root3)
    assert base64.b64encode(root3).decode() in qms("status")[1]


def test_verify_without_a_trusted_key_shows_the_genesis_key(qms: Qms) -> None:
    _, out, _ = qms("pubkey", "--json")
    code, out2, _ = qms("verify")
    assert code == 0
    assert out2.splitlines()[1].startswith(
        f"genesis key {json.loads(out)['key_id']} (not compared"
    )


def test_verify_names_the_wrong_trusted_key(qms: Qms) -> None:
    code, out, _ = qms("verify", "--trusted-key", "0123456789abcdef")
    assert code == 1
    assert out.startswith("FAIL seq=1 genesis key")


def test_configured_key_file_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Qms(
        tmp_path / "i", f"sqlite:///{tmp_path / 'db.sqlite3'}", monkeypatch, capsys
    )
    monkeypatch.setenv("QMS_SIGNING_KEY_FILE", str(tmp_path / "missing.pem"))
    code, _, err = runner("init")
    assert code == 1
    assert "does not exist" in err
    assert not (tmp_path / "missing.pem").exists()


def test_bad_origin_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = Qms(
        tmp_path / "i", f"sqlite:///{tmp_path / 'db.sqlite3'}", monkeypatch, capsys
    )
    monkeypatch.setenv("QMS_ORIGIN", "has space")
    code, _, err = runner("init")
    assert (code, "QMS_ORIGIN" in err) == (2, True)
    assert not os.path.exists(tmp_path / "i")


LATER = "2100-01-01T00:00:00Z"  # after every event: the report of the whole ledger


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("qms: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_report_refuses_a_unit_the_ledger_never_had(qms: Qms) -> None:
    for unit in ("NOPE", "hq"):
        code, out, err = qms("report", "--as-of", LATER, "--unit", unit)
        assert (code, out) == (2, "")
        line = _one_line(err)
        assert f"no unit {unit} in the ledger" in line
        assert "the closest unit codes: HQ" in line
        assert "sha256" not in err
    code, out, _ = qms("report", "--as-of", LATER, "--unit", "HQ")
    assert (code, json.loads(out)["units"]) == (0, ["HQ"])


@pytest.mark.parametrize(
    "as_of",
    [
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+01:00",
        "0000-01-01T00:00:00Z",
        "99999-01-01T00:00:00Z",
        "2026-13-01T00:00:00Z",
    ],
)
def test_report_as_of_out_of_range_is_a_usage_error(qms: Qms, as_of: str) -> None:
    code, out, err = qms("report", "--as-of", as_of)
    assert (code, out) == (2, "")
    line = _one_line(err)
    assert "--as-of" in line
    assert repr(as_of) in line
    assert "years 0001 to 9999" in line
    assert "OverflowError" not in line


def test_report_quotes_only_the_start_of_a_huge_as_of(qms: Qms) -> None:
    typed = "2026-" + "9" * 100_000
    code, out, err = qms("report", "--as-of", typed)
    assert (code, out) == (2, "")
    line = _one_line(err)
    assert repr(typed[:40]) + "..." in line
    assert len(line) < 300


def test_times_before_year_1000_print_with_four_digit_years(qms: Qms) -> None:
    code, _, err = qms("report", "--as-of", "0001-01-01T00:00:00Z")
    assert code == 1
    assert _one_line(err).endswith(
        "the ledger holds no event recorded at or before 0001-01-01T00:00:00.000000Z"
    )


def test_report_out_names_a_file_or_a_folder_never_makes_a_folder_of_a_file(
    qms: Qms, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    monkeypatch.chdir(tmp_path)
    code, expected_json, _ = qms("report", "--as-of", LATER)
    assert code == 0
    code, expected_csv, _ = qms("report", "--as-of", LATER, "--format", "csv")
    assert code == 0
    # An unknown suffix without --format is refused, and nothing is made.
    code, out, err = qms("report", "--as-of", LATER, "--out", "r.txt")
    assert (code, out) == (2, "")
    assert "'r.txt' names no format" in _one_line(err)
    assert not os.path.lexists(tmp_path / "r.txt")
    # An explicit --format wins over the suffix; a known suffix names the format.
    for args, name, expected in (
        (("--format", "json", "--out", "r.csv"), "r.csv", expected_json),
        (("--format", "csv", "--out", "r.txt"), "r.txt", expected_csv),
        (("--out", "r.json"), "r.json", expected_json),
        (("--out", "c.csv"), "c.csv", expected_csv),
    ):
        code, _, err = qms("report", "--as-of", LATER, *args)
        assert code == 0, err
        assert (tmp_path / name).is_file()
        assert (tmp_path / name).read_text() == expected.removesuffix("\n")
    code, _, err = qms("report", "--as-of", LATER, "--out", "p.html")
    assert code == 0, err
    assert (tmp_path / "p.html").read_text().startswith("<!DOCTYPE html>")
    # Several formats go into a folder: an existing one, or a path ending in /.
    (tmp_path / "folder").mkdir()
    for target in ("folder", "new/"):
        code, _, err = qms(
            "report", "--as-of", LATER, "--format", "json,csv", "--out", target
        )
        assert code == 0, err
        folder = tmp_path / target
        assert sorted(p.name for p in folder.iterdir()) == ["report.csv", "report.json"]
        assert (folder / "report.json").read_text() == expected_json.removesuffix("\n")
    code, out, err = qms(
        "report", "--as-of", LATER, "--format", "json,csv", "--out", "two.json"
    )
    assert (code, out) == (2, "")
    assert "one file takes one format" in _one_line(err)
    assert not os.path.lexists(tmp_path / "two.json")
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert leftovers == []


def test_report_that_cannot_be_written_says_so_in_one_line(
    qms: Qms, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    (tmp_path / "plain").write_text("a file")
    for target, reason in (
        ("/dev/full", "No space left on device"),
        (str(tmp_path / "plain" / "r.json"), "part of the path is a file"),
        ("/proc/qms-nowhere/r.json", ""),
    ):
        code, out, err = qms("report", "--format", "json", "--out", target)
        assert (code, out) == (1, "")
        line = _one_line(err)
        assert line.startswith(f"qms: error: cannot write {target}: {reason}")
    assert Path("/dev/full").is_char_device()
    assert (tmp_path / "plain").read_text() == "a file"
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]


def test_export_that_cannot_be_written_says_so_and_leaves_nothing(
    qms: Qms, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    (tmp_path / "plain").write_text("a file")
    for target, extra in (
        ("/proc/x", ()),
        ("/proc/x.zip", ("--zip",)),
        (str(tmp_path / "plain" / "e"), ()),
        (str(tmp_path / "plain" / "e.zip"), ("--zip",)),
    ):
        code, out, err = qms("export", "--out", target, *extra)
        assert (code, out) == (1, "")
        assert _one_line(err).startswith(f"qms: error: cannot write {target}: ")
    assert [p.name for p in tmp_path.iterdir()] == ["plain"]
    code, out, _ = qms("verify")
    assert (code, out.startswith(f"OK n={qms.size()} ")) == (0, True)


def test_report_out_replaces_a_file_keeping_its_mode_and_its_links(
    qms: Qms, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    kept.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(kept)
    code, expected, _ = qms("report", "--as-of", LATER)
    assert code == 0
    code, _, err = qms("report", "--as-of", LATER, "--out", str(link))
    assert code == 0, err
    assert link.is_symlink()
    assert kept.read_text() == expected.removesuffix("\n")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
