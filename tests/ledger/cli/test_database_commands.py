"""The `qms` command on the database as it finds it: no ledger yet, a read-only copy,
a server that may lose commits, two `qms init` at once, the files' modes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ledger.integrity.signing import SigningKey, write_private_key_file
from ledger.store import create_engine_for
from tests.support.cli import Qms

READ_COMMANDS = [
    ("status",),
    ("verify",),
    ("checkpoint",),
    ("prove", "inclusion", "1"),
    ("rebuild",),
    ("report",),
]


def _one_line(err: str, out: str = "") -> bool:
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


@pytest.fixture
def qms_ro(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Qms, Path]:
    """An initialized SQLite ledger, and the database file it lives in."""
    database = tmp_path / "ledger.sqlite3"
    runner = Qms(tmp_path / "instance", f"sqlite:///{database}", monkeypatch, capsys)
    code, _, err = runner("init")
    assert code == 0, err
    return runner, database


@pytest.mark.parametrize("args", READ_COMMANDS)
@pytest.mark.parametrize("where", ["missing", "empty"])
def test_no_sqlite_ledger_is_named_and_no_file_is_made(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
    args: tuple[str, ...],
) -> None:
    database = tmp_path / "nothing.sqlite3"
    if where == "empty":
        database.touch()
    instance = tmp_path / "instance"
    instance.mkdir()
    write_private_key_file(instance / "signing-key.pem", SigningKey.generate())
    runner = Qms(instance, f"sqlite:///{database}", monkeypatch, capsys)
    code, out, err = runner(*args)
    assert (code, err.strip()) == (2, "qms: error: no ledger here: run qms init")
    assert _one_line(err, out)
    if where == "missing":
        assert not database.exists()
    else:
        assert database.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["instance", *(["nothing.sqlite3"] if where == "empty" else [])]
    )


@pytest.mark.postgresql
@pytest.mark.parametrize("args", READ_COMMANDS)
def test_a_fresh_postgresql_database_holds_no_ledger(
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    write_private_key_file(instance / "signing-key.pem", SigningKey.generate())
    runner = Qms(instance, pg_url, monkeypatch, capsys)
    code, out, err = runner(*args)
    assert (code, err.strip()) == (2, "qms: error: no ledger here: run qms init")
    assert _one_line(err, out)
    engine = create_engine_for(pg_url)
    try:
        assert sa.inspect(engine).get_table_names() == []  # nothing was created
    finally:
        engine.dispose()
    code, _, err = runner("init")  # and init still makes one
    assert code == 0, err
    assert runner("verify")[0] == 0


@pytest.mark.parametrize("query", ["mode=ro&uri=true", "mode=ro&immutable=1&uri=true"])
def test_a_read_only_copy_is_read_and_never_written(
    qms_ro: tuple[Qms, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    qms, database = qms_ro
    code, writable_status, _ = qms("status", "--json")
    assert code == 0
    size = json.loads(writable_status)["size"]
    before = database.read_bytes()
    monkeypatch.setenv("QMS_DATABASE_URL", f"sqlite:///file:{database}?{query}")

    assert qms("status", "--json") == (0, writable_status, "")
    code, out, _ = qms("verify")
    assert (code, out.startswith(f"OK n={size} root=")) == (0, True)
    # What would write says why it cannot, in one line, and writes nothing.
    code, out, err = qms("rebuild")
    assert (code, "this database is read-only" in err) == (2, True)
    assert _one_line(err, out)
    code, out, err = qms("export", "--out", str(tmp_path / "e"))
    assert (code, "holds no signed checkpoint of its" in err) == (2, True)
    assert _one_line(err, out)
    assert not (tmp_path / "e").exists()
    for args in (("checkpoint",), ("report",)):
        code, out, err = qms(*args)
        assert (code, "the database is read-only" in err) == (2, True), err
        assert (_one_line(err, out), out) == (True, "")
    assert database.read_bytes() == before
    monkeypatch.setenv("QMS_DATABASE_URL", f"sqlite:///{database}")
    code, out, _ = qms("verify")  # the ledger itself, untouched
    assert (code, out.startswith(f"OK n={size} root=")) == (0, True)


def test_a_read_only_copy_reports_and_exports_as_the_ledger_did(
    qms_ro: tuple[Qms, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qms, database = qms_ro
    later = ("--as-of", "2100-01-01T00:00:00Z")  # every event, the same T twice
    code, _, err = qms("report", *later, "--out", str(tmp_path / "ledger.json"))
    assert code == 0, err  # signs and stores the checkpoint of the current size
    _, keys, _ = qms("pubkey", "--json")
    monkeypatch.setenv(
        "QMS_DATABASE_URL", f"sqlite:///file:{database}?mode=ro&immutable=1&uri=true"
    )
    code, _, err = qms("report", *later, "--out", str(tmp_path / "copy.json"))
    assert code == 0, err
    assert (tmp_path / "copy.json").read_bytes() == (
        tmp_path / "ledger.json"
    ).read_bytes()
    code, out, err = qms("export", "--out", str(tmp_path / "e"))
    assert code == 0, err
    note = (tmp_path / "e" / "checkpoint").read_text()
    assert (
        json.loads((tmp_path / "copy.json").read_text())["ledger"]["checkpoint"] == note
    )
    code, out, _ = qms(
        "verify",
        "--export",
        str(tmp_path / "e"),
        "--trusted-key",
        json.loads(keys)["key_id"],
    )
    assert code == 0, out


def test_a_read_only_copy_without_read_models_says_so(
    qms_ro: tuple[Qms, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qms, database = qms_ro
    engine = create_engine_for(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE proj_units")
    engine.dispose()
    monkeypatch.setenv(
        "QMS_DATABASE_URL", f"sqlite:///file:{database}?mode=ro&uri=true"
    )
    code, out, err = qms("report")
    assert (code, err.strip()) == (
        2,
        "qms: error: the read models are not built in this read-only copy: "
        "rebuild a writable copy",
    )
    assert out == ""


def test_a_chmod_read_only_file_and_folder_still_serve_the_read_commands(
    qms_ro: tuple[Qms, Path], tmp_path: Path
) -> None:
    qms, database = qms_ro
    code, status, _ = qms("status")
    database.chmod(0o444)
    database.parent.chmod(0o555)
    try:
        assert qms("status") == (0, status, "")
        assert qms("verify")[0] == 0
        code, _, err = qms("report")
        assert code == 0, err
    finally:
        database.parent.chmod(0o755)


def test_wal_and_shm_files_are_as_private_as_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "ledger.sqlite3"
    url = f"sqlite:///{database}"
    # A process that has the database open (the service, say) while `qms init` runs.
    holder = create_engine_for(url)
    try:
        with holder.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            connection.commit()  # open, holding no lock
            runner = Qms(tmp_path / "instance", url, monkeypatch, capsys)
            code, _, err = runner("init")
            assert code == 0, err
            files = {p.name: p for p in tmp_path.glob("ledger.sqlite3*")}
            assert sorted(files) == [
                "ledger.sqlite3",
                "ledger.sqlite3-shm",
                "ledger.sqlite3-wal",
            ]
            modes = {name: stat.S_IMODE(p.stat().st_mode) for name, p in files.items()}
            assert set(modes.values()) == {0o600}, modes
    finally:
        holder.dispose()


@pytest.mark.postgresql
def test_status_warns_when_the_server_may_lose_commits(
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    qms = Qms(tmp_path / "instance", pg_url, monkeypatch, capsys)
    assert qms("init")[0] == 0
    code, text, err = qms("status")
    assert (code, err) == (0, "")
    code, as_json, err = qms("status", "--json")
    assert (code, err) == (0, "")
    name = make_url(pg_url).database
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'ALTER DATABASE "{name}" SET synchronous_commit = off'
        )
    admin.dispose()
    for args, out in ((("status",), text), (("status", "--json"), as_json)):
        code, shown, err = qms(*args)
        assert (code, shown) == (0, out)  # stdout as before
        assert err.startswith(
            "qms: warning: PostgreSQL runs with synchronous_commit = off"
        )
        assert _one_line(err)


def test_status_gives_no_warning_on_sqlite(qms_ro: tuple[Qms, Path]) -> None:
    qms, _ = qms_ro
    code, _, err = qms("status")
    assert (code, err) == (0, "")


_INIT = "import sys; from web.cli import main; main(sys.argv[1:])"


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.parametrize("attempt", range(3))
def test_two_inits_at_once_both_succeed(
    pg_url: str, tmp_path: Path, attempt: int
) -> None:
    key_file = tmp_path / "signing-key.pem"
    write_private_key_file(key_file, SigningKey.generate())
    env = {
        **os.environ,
        "QMS_DATABASE_URL": pg_url,
        "QMS_INSTANCE": str(tmp_path / "instance"),
        "QMS_SIGNING_KEY_FILE": str(key_file),
        "QMS_ORIGIN": "qms.test.gov.cn/ledger",
        "QMS_ADMIN_PASSWORD": "first-admin-password",
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _INIT, "init"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(child.wait(120), *child.communicate()) for child in children]
    for code, _out, err in results:
        assert (code, err) == (0, ""), (attempt, results)
    outputs = sorted(out.splitlines()[0].split(":")[0] for _, out, _ in results)
    assert outputs == [
        "initialized ledger qms.test.gov.cn/ledger",
        "ledger qms.test.gov.cn/ledger is initialized",
    ], results
    verified = subprocess.run(
        [sys.executable, "-c", _INIT, "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
