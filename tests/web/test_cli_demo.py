"""`qms demo`, `rebuild`, `report` and the progress bar, run as a person runs them."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("demo_cli")  # one demo ledger per run

QMS = [sys.executable, "-c", "from web.cli import main; main()"]


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env["QMS_INSTANCE"] = str(instance)
    return env


def _qms(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QMS, *args], capture_output=True, text=True, env=_env(instance), check=False
    )


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    instance = tmp_path_factory.mktemp("demo") / "instance"
    run = _qms(instance, "demo", "--size", "tiny")
    assert run.returncode == 0, run.stderr
    assert "sign in as admin with password demo-admin" in run.stdout
    (instance.parent / "demo.out").write_text(run.stdout)
    return instance


def test_demo_summary_counts_the_events_status_counts(demo_instance: Path) -> None:
    summary = (demo_instance.parent / "demo.out").read_text()
    found = re.search(r"^demo: (\d+) events ", summary, re.MULTILINE)
    assert found is not None, summary
    status = _qms(demo_instance, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert int(found.group(1)) == json.loads(status.stdout)["size"]


def _ledger_size(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT max(seq) FROM ledger_events").fetchone()[0])
        finally:
            db.close()
    except (sqlite3.Error, TypeError):  # not created yet, or empty
        return 0


def test_a_demo_stopped_halfway_is_not_retried_on_the_same_ledger(
    tmp_path: Path,
) -> None:
    """SQLite only: one killed demo in a subprocess is enough to leave its records."""
    instance = tmp_path / "instance"
    proc = subprocess.Popen(
        [*QMS, "demo", "--size", "tiny"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(instance),
    )
    try:
        for _ in range(6000):  # until the demo has recorded its first units
            if _ledger_size(instance / "qms.sqlite3") >= 20 or proc.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL  # stopped halfway, not finished
    left = _ledger_size(instance / "qms.sqlite3")
    assert left >= 20
    again = _qms(instance, "demo", "--size", "tiny")
    assert again.returncode == 1
    lines = again.stderr.strip().splitlines()
    assert lines[-1].startswith("qms: error: the demo fills an empty ledger only")
    assert "a new QMS_INSTANCE" in lines[-1]
    assert "Traceback" not in again.stderr
    assert _ledger_size(instance / "qms.sqlite3") == left
    verified = _qms(instance, "verify")
    assert (verified.returncode, verified.stdout.startswith(f"OK n={left} ")) == (
        0,
        True,
    )


def test_demo_ledger_verifies_and_refuses_a_second_demo(demo_instance: Path) -> None:
    run = _qms(demo_instance, "verify", "--json")
    result = json.loads(run.stdout)
    assert (run.returncode, result["ok"]) == (0, True)
    assert result["esignatures"] > 0
    again = _qms(demo_instance, "demo", "--size", "tiny")
    assert again.returncode == 1
    assert "the demo fills an empty ledger only" in again.stderr


def test_report_as_of_a_past_instant_is_stable_across_a_rebuild(
    demo_instance: Path, tmp_path: Path
) -> None:
    args = ("report", "--as-of", "2026-06-30T12:00:00Z", "--unit", "BJ")
    first = _qms(demo_instance, *args, "--out", str(tmp_path / "r1.json"))
    assert first.returncode == 0, first.stderr
    rebuilt = _qms(demo_instance, "rebuild")
    assert (rebuilt.returncode, "rebuilt read models from" in rebuilt.stdout) == (
        0,
        True,
    )
    second = _qms(demo_instance, *args, "--out", str(tmp_path / "r2.json"))
    assert (tmp_path / "r1.json").read_bytes() == (tmp_path / "r2.json").read_bytes()
    report = json.loads((tmp_path / "r1.json").read_bytes())
    assert report["units"][0] == "BJ"
    assert report["ledger"]["checkpoint"].startswith("qms.localhost/ledger\n")
    assert (
        first.stderr.strip().splitlines()[-1] == second.stderr.strip().splitlines()[-1]
    )
    html = _qms(demo_instance, *args, "--out", str(tmp_path / "r.html"))
    assert html.returncode == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<svg" in page
    assert report["ledger"]["root"] in page


def test_verify_draws_a_progress_bar_on_a_terminal(demo_instance: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*QMS, "verify"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=_env(demo_instance),
    )
    os.close(follower)
    out, _ = proc.communicate(timeout=60)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert out.decode().startswith("OK n=")
    assert b"verifying" in drawn
    assert b"100%" in drawn


def test_a_report_needs_events_and_current_read_models(demo_instance: Path) -> None:
    early = _qms(demo_instance, "report", "--as-of", "1999-01-01T00:00:00Z")
    assert (
        early.returncode,
        "holds no event recorded at or before" in early.stderr,
    ) == (1, True)
    db = sqlite3.connect(demo_instance / "qms.sqlite3")
    with db:
        db.execute("UPDATE projection_positions SET position = 5")
    db.close()
    stale = _qms(demo_instance, "report", "--as-of", "2026-06-30T12:00:00Z")
    assert stale.returncode == 1
    assert "the read models have reached event 5" in stale.stderr
    assert "run `qms rebuild`" in stale.stderr
    assert _qms(demo_instance, "rebuild").returncode == 0
    assert (
        _qms(demo_instance, "report", "--as-of", "2026-06-30T12:00:00Z").returncode == 0
    )
