"""The service key as a user meets it: rotations that race or crash, reading without
the private key, the key file's mode, the configured origin and `qms pubkey`.

Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ledger.cli import LedgerContext
from ledger.servicekey import ROTATION_STEPS, ledger_keys_in_force
from ledger.servicekey.keyfile import load_key
from ledger.settings import LedgerSettings
from tests.support.cli import Qms

QMS = [sys.executable, "-c", "from web.cli import main; main()"]

# Rotates through the real code path and SIGKILLs itself when it reaches the step
# named by argv[1]: what a power cut or an OOM kill at that point leaves behind.
KILL_AT_STEP = """
import os, signal, sys
from ledger.cli import LedgerContext
from ledger.settings import LedgerSettings

def hook(step):
    if step == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)

ctx = LedgerContext(LedgerSettings.from_env())
ctx.service_key().rotate("crash test", hook=hook)
"""


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


def _key_path(qms: Qms) -> Path:
    return qms.instance / "signing-key.pem"


def _env() -> dict[str, str]:
    return dict(os.environ)  # the Qms runner set QMS_* in this process's environment


def _key_in_force(qms: Qms) -> str:
    code, out, err = qms("status", "--json")
    assert code == 0, err
    return str(json.loads(out)["key"])


def _assert_appends_and_verifies(qms: Qms) -> None:
    """The key file holds the key in force; the ledger signs, appends and verifies."""
    assert load_key(_key_path(qms)).key_id == _key_in_force(qms)
    n = qms.size()
    code, _, err = qms("checkpoint")
    assert code == 0, err
    code, out, err = qms("key", "rotate")  # an append of two events
    assert code == 0, err
    assert qms.size() == n + 2
    code, out, err = qms("verify")
    assert (code, out.startswith(f"OK n={n + 2} ")) == (0, True), out + err
    assert load_key(_key_path(qms)).key_id == _key_in_force(qms)
    leftovers = {p.name for p in qms.instance.glob("signing-key.pem.*")}
    assert leftovers == set()


# ------------------------------------------------------------------ concurrent rotations


@pytest.mark.parametrize("rotations", [4, 8])
def test_concurrent_rotations_keep_the_key_file_and_the_ledger_in_step(
    qms: Qms, rotations: int
) -> None:
    start = qms.size()
    settings = LedgerSettings.from_env()
    rounds = 20
    for _ in range(rounds):
        failures: list[BaseException] = []
        contexts = [LedgerContext(settings) for _ in range(rotations)]
        barrier = threading.Barrier(rotations, timeout=60)

        def rotate(
            ctx: LedgerContext,
            barrier: threading.Barrier = barrier,
            failures: list[BaseException] = failures,
        ) -> None:
            try:
                ctx.store()
                barrier.wait()
                ctx.service_key().rotate("concurrent")
            except BaseException as exc:  # noqa: BLE001  # reported below
                failures.append(exc)
            finally:
                ctx.close()

        threads = [threading.Thread(target=rotate, args=(c,)) for c in contexts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert load_key(_key_path(qms)).key_id == _key_in_force(qms)
        code, _, err = qms("checkpoint")
        assert code == 0, err
    # Every rotation registered one key and revoked one: one key in force at the end.
    ctx = LedgerContext(settings)
    try:
        in_force = ledger_keys_in_force(ctx.store().key_records())
    finally:
        ctx.close()
    assert [r.key_id for r in in_force] == [load_key(_key_path(qms)).key_id]
    assert qms.size() == start + 2 * rounds * rotations
    _assert_appends_and_verifies(qms)


def test_concurrent_rotate_commands_in_separate_processes(qms: Qms) -> None:
    for _ in range(2):
        processes = [
            subprocess.Popen(
                [*QMS, "key", "rotate"],
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
        assert [r[0] for r in results] == [0] * 4, results
        _assert_appends_and_verifies(qms)


# ------------------------------------------------------------------ crash during rotation


def _kill_rotation_at(step: str) -> None:
    crashed = subprocess.run(
        [sys.executable, "-c", KILL_AT_STEP, step],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr


@pytest.mark.parametrize("first", ["checkpoint", "key rotate", "verify"])
@pytest.mark.parametrize("step", ROTATION_STEPS)
def test_a_rotation_killed_at_any_step_leaves_a_ledger_that_appends(
    qms: Qms, step: str, first: str
) -> None:
    old = load_key(_key_path(qms)).key_id
    n = qms.size()
    _kill_rotation_at(step)
    committed = step != "staged"
    # The first command, reading or signing, completes the rotation (or undoes it).
    code, out, err = qms(*first.split())
    assert code == 0, out + err
    assert "Traceback" not in out + err
    in_force = _key_in_force(qms)
    assert (in_force != old) == (committed or first == "key rotate")
    assert qms.size() == n + 2 * committed + 2 * (first == "key rotate")
    _assert_appends_and_verifies(qms)


def test_a_staged_key_the_ledger_registered_is_installed_not_deleted(
    qms: Qms, tmp_path: Path
) -> None:
    _kill_rotation_at("registered")
    staged = _key_path(qms).with_name("signing-key.pem.new")
    new = load_key(staged).key_id
    code, _, err = qms("key", "rotate")
    assert code == 0, err
    assert f"installed the staged key {new}, the ledger key in force" in err
    code, _out, _ = qms("verify")
    assert code == 0
    # The staged key signed: its revocation of the old key, the next registration.
    signed_by = [json.loads(line)["key"] for line in _export_lines(qms, tmp_path / "x")]
    assert signed_by[-3:-1] == [new, new]


def _export_lines(qms: Qms, out: Path) -> list[str]:
    code, _, err = qms("export", "--out", str(out))
    assert code == 0, err
    return (out / "events.jsonl").read_text().splitlines()


# ------------------------------------------------------------------ reading without the key


def test_reading_commands_work_without_the_private_key(
    qms: Qms, tmp_path: Path
) -> None:
    _, out, _ = qms("pubkey", "--json")
    first = json.loads(out)["key_id"]  # the genesis key: no rotation yet
    code, _, err = qms("key", "rotate")  # stores a checkpoint of the size before
    assert code == 0, err
    _key_path(qms).unlink()
    n = qms.size()
    for args in (
        ("status",),
        ("verify",),
        ("verify", "--trusted-key", first),
        ("export", "--out", str(tmp_path / "e")),
        ("prove", "inclusion", "1"),
        ("prove", "consistency", "1", str(n)),
        ("rebuild",),  # `key rotate` does not move the read models
        ("report", "--as-of", "2099-01-01T00:00:00Z"),
        ("pubkey",),
    ):
        code, out, err = qms(*args)
        assert code == 0, (args, err)
        assert "Traceback" not in out + err
    code, out, err = qms(
        "verify", "--export", str(tmp_path / "e"), "--trusted-key", first
    )
    assert (code, out.startswith(f"OK n={n - 2} ")) == (0, True), out + err
    code, out, err = qms("checkpoint")
    assert code == 1
    assert "restore the file from its offline backup" in err
    assert len(err.strip().splitlines()) == 1
    assert not _key_path(qms).exists()
    assert qms.size() == n


def test_init_refuses_to_write_a_fresh_key_over_an_initialized_ledger(
    qms: Qms,
) -> None:
    n = qms.size()
    _key_path(qms).unlink()
    code, _out, err = qms("init")
    assert code == 2
    assert "signing key file" in err
    assert "restore the file from its offline backup" in err
    assert len(err.strip().splitlines()) == 1
    assert not _key_path(qms).exists()
    assert qms.size() == n
    code, _, err = qms("demo", "--size", "tiny")
    assert code == 2
    assert "restore the file from its offline backup" in err
    assert not _key_path(qms).exists()
    assert qms.size() == n


# ------------------------------------------------------------------ the key file's mode


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_open_to_others_is_refused(qms: Qms, mode: int) -> None:
    path = _key_path(qms)
    path.chmod(mode)
    n = qms.size()
    code, _, err = qms("checkpoint")
    assert code == 1
    assert f"chmod 600 {path}" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = qms("key", "rotate")
    assert code == 1
    assert f"chmod 600 {path}" in err
    assert qms.size() == n
    path.chmod(0o600)
    _assert_appends_and_verifies(qms)


# ------------------------------------------------------------------ the configured origin


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("pubkey",),
        ("verify",),
        ("checkpoint",),
        ("key", "rotate"),
        ("report",),
        ("export", "--out", "never"),
        ("prove", "inclusion", "1"),
        ("init",),
        ("demo", "--size", "tiny"),
    ],
)
def test_a_configured_origin_other_than_the_ledgers_stops_every_command(
    qms: Qms, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    n = qms.size()
    key = _key_path(qms).read_bytes()
    monkeypatch.setenv("QMS_ORIGIN", "other.example/ledger")
    code, _out, err = qms(*args)
    assert code == 2
    assert err == (
        "qms: error: QMS_ORIGIN is other.example/ledger but this ledger's origin "
        "is qms.test.gov.cn/ledger\n"
    )
    assert not Path("never").exists()
    monkeypatch.setenv("QMS_ORIGIN", "qms.test.gov.cn/ledger")
    assert qms.size() == n
    assert _key_path(qms).read_bytes() == key


# ------------------------------------------------------------------ pubkey after a rotation


def test_pubkey_names_the_genesis_key_to_trust_and_the_current_key(
    qms: Qms,
) -> None:
    _, out, _ = qms("pubkey", "--json")
    first = json.loads(out)["key_id"]
    assert json.loads(out)["genesis_key_id"] == first
    code, _, err = qms("key", "rotate")
    assert code == 0, err
    code, out, _ = qms("pubkey", "--json")
    keys = json.loads(out)
    assert code == 0
    assert keys["genesis_key_id"] == first
    assert keys["key_id"] == load_key(_key_path(qms)).key_id != first
    code, text, _ = qms("pubkey")
    lines = text.splitlines()
    assert lines[0].startswith(f"genesis_key_id {first} (publish and trust")
    assert lines[1].startswith(f"key_id {keys['key_id']} (the key in force")
    code, out, _ = qms("verify", "--trusted-key", keys["genesis_key_id"])
    assert (code, out.startswith("OK ")) == (0, True)
