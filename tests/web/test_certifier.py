"""A certifier's session: the area's pages, its two forms only, verify now, the streamed
full export verified offline without a database driver, the kept checkpoint's check,
both languages, and the people the area is not for."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.integrity.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from ledger.integrity.signing import SigningKey
from ledger.service import Service
from ledger.store import EventStore
from ledger.store.verifications import claim_run, latest_run, run_claimed
from tests.support.cli import Qms
from tests.support.origin import ORIGIN
from tests.support.webapp import (
    client,
    csrf_token,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_findings import english, raise_finding, service

__all__ = [
    "client",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]

REPO = Path(__file__).resolve().parents[2]
AREA_PAGES = (
    "/certifier/",
    "/certifier/consistency",
    "/certifier/partial",
    "/certifier/guide",
)


class _Forms(HTMLParser):
    """The forms of a page: (method, action)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            found = dict(attrs)
            self.forms.append(
                ((found.get("method") or "get").lower(), found.get("action") or "")
            )


def forms_of(html: str) -> list[tuple[str, str]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def _join_verification(run_id: int) -> None:
    """Wait for the background verification of `run_id` to end (no time limit asserted)."""
    for thread in threading.enumerate():
        if thread.name == f"verification-{run_id}":
            thread.join()


# ------------------------------------------------------------------ who may enter


@pytest.mark.parametrize("user", ["alice", "vic", "mia"])
def test_the_area_is_refused_to_other_roles(client: FlaskClient, user: str) -> None:
    sign_in(client, user)
    for path in (*AREA_PAGES, "/certifier/export.zip", "/certifier/verify/1"):
        assert client.get(path).status_code == 403, path
    assert "/certifier/" not in client.get("/dashboard/").get_data(as_text=True)


def test_the_area_asks_to_sign_in_first(client: FlaskClient) -> None:
    answer = client.get("/certifier/")
    assert answer.status_code == 302
    assert "/login" in answer.headers["Location"]


def test_a_certifier_sees_only_the_units_assigned(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1", unit="B1")
    raise_finding(service, people_store, "F-2", unit="B2")
    sign_in(client, "cert")
    assert client.get("/findings/F-1").status_code == 200
    assert client.get("/findings/F-2").status_code == 404
    page = client.get("/certifier/").get_data(as_text=True)
    assert (
        '<ul class="plain-list" id="assigned-units">\n    <li>B1</li>\n  </ul>' in page
    )


# ------------------------------------------------------------------ the home page


def test_home_shows_the_latest_checkpoint_and_the_keys(
    client: FlaskClient, people_store: EventStore, people_signer: SigningKey
) -> None:
    sign_in(client, "cert")
    answer = client.get("/certifier/")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    size = people_store.size()
    note = people_store.checkpoint_for(size)
    assert note is not None  # the page signed the head's checkpoint
    assert f'<dd id="checkpoint-size">{size}</dd>' in page
    root = base64.b64encode(people_store.root(size)).decode()
    assert f'id="checkpoint-root">{root}</code>' in page
    assert note.split("\n")[-2].split(" ")[-1] in page  # the signature line
    assert verifier_key(ORIGIN, people_signer.public_raw) in page
    assert f"<code>{people_signer.key_id}</code>" in page
    assert 'href="/certifier/"' in page  # the main navigation names the area


def test_an_administrator_may_open_the_area(client: FlaskClient) -> None:
    sign_in(client, "root")
    assert client.get("/certifier/").status_code == 200


def test_no_form_in_the_area_changes_a_record(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    sign_in(client, "cert")
    run = claim_run(people_store, clock, "cert")
    pages = [*AREA_PAGES, f"/certifier/verify/{run.id}"]
    allowed = {"/certifier/verify", "/certifier/consistency", "/logout"}
    for path in pages:
        for method, action in forms_of(client.get(path).get_data(as_text=True)):
            if method == "post":
                assert action in allowed, (path, action)
    run_claimed(people_store, clock, run.id, workers=1)


# ------------------------------------------------------------------ verify now


def test_verify_now_runs_and_its_result_shows_on_the_page_and_in_status(
    client: FlaskClient,
    people_store: EventStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sign_in(client, "cert")
    english(client)
    home = client.get("/certifier/")
    assert "The ledger has not been verified here yet." in home.get_data(as_text=True)
    answer = client.post("/certifier/verify", data={"csrf_token": csrf_token(home)})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    run_id = int(location.rsplit("/", 1)[1])
    _join_verification(run_id)
    page = client.get(location).get_data(as_text=True)
    size = people_store.size()
    root = base64.b64encode(people_store.root(size)).decode()
    assert f"OK: the {size} events" in page
    assert root in page
    assert 'http-equiv="refresh"' not in page
    assert root in client.get("/certifier/").get_data(as_text=True)

    qms = Qms(tmp_path / "instance", str(people_store.engine.url), monkeypatch, capsys)
    monkeypatch.setenv("QMS_ORIGIN", ORIGIN)
    code, out, err = qms("status")
    assert code == 0, err
    assert f"last verification: OK n={size} root={root} at " in out


def test_a_running_verification_shows_its_progress_and_is_the_only_one(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    sign_in(client, "cert")
    run = claim_run(people_store, clock, "cert")
    page = client.get(f"/certifier/verify/{run.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert f'<progress id="verification-progress" max="{run.target}" value="0">' in page
    home = client.get("/certifier/")
    again = client.post("/certifier/verify", data={"csrf_token": csrf_token(home)})
    assert again.headers["Location"].endswith(f"/certifier/verify/{run.id}")
    run_claimed(people_store, clock, run.id, workers=1)
    assert client.get(f"/certifier/verify/{run.id}").status_code == 200
    assert client.get(f"/certifier/verify/{run.id + 1}").status_code == 404


def test_a_failed_verification_names_the_first_failing_event(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    # Tampering needs a copy without the append-only triggers: drop them first.
    with people_store.engine.begin() as conn:
        for (name,) in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        ):
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        envelope = conn.exec_driver_sql(
            "SELECT envelope FROM ledger_events WHERE seq = 3"
        ).scalar_one()
        conn.exec_driver_sql(
            "UPDATE ledger_events SET envelope = ? WHERE seq = 3",
            (envelope.replace('"version":', '"version": ', 1),),
        )
    run = claim_run(people_store, clock, "cert")
    ended = run_claimed(people_store, clock, run.id, workers=1)
    assert (ended.outcome, ended.failure_seq) == ("failed", 3)
    sign_in(client, "cert")
    english(client)
    page = client.get(f"/certifier/verify/{run.id}").get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Verification failed at event 3" in page
    last = latest_run(people_store.engine, finished=True)
    assert last is not None
    assert last.summary().startswith("FAIL seq=3 ")


def verify_offline(
    export: Path, trusted_key: str, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """Run `python -m ledger.verify --export` on `export` in a subprocess where
    importing sqlalchemy, psycopg, flask, marshmallow or alembic fails."""
    blocker = tmp_path / "blocker"
    blocker.mkdir(exist_ok=True)
    for name in ("sqlalchemy", "psycopg", "flask", "marshmallow", "alembic"):
        (blocker / f"{name}.py").write_text(
            f"raise ImportError('{name} is not available offline')\n"
        )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.verify",
            "--export",
            str(export),
            "--trusted-key",
            trusted_key,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"},
        cwd=tmp_path,
        check=False,
    )


# ------------------------------------------------------------------ the full export


def test_the_streamed_full_export_verifies_offline_without_a_database_driver(
    client: FlaskClient, people_store: EventStore, tmp_path: Path
) -> None:
    sign_in(client, "cert")
    answer = client.get("/certifier/export.zip")
    assert answer.status_code == 200
    assert answer.is_streamed
    assert answer.mimetype == "application/zip"
    size = people_store.size()
    assert f"filename=ledger-export-{size}.zip" in answer.headers["Content-Disposition"]
    archive = tmp_path / "ledger-export.zip"
    archive.write_bytes(answer.get_data())
    run = verify_offline(archive, next(people_store.read(1, 1)).key, tmp_path)
    assert run.returncode == 0, run.stderr
    root = base64.b64encode(people_store.root(size)).decode()
    assert run.stdout.startswith(f"OK n={size} root={root}")


# ------------------------------------------------------------------ a kept checkpoint


def _check(client: FlaskClient, note: str) -> tuple[int, str]:
    page = client.get("/certifier/consistency")
    answer = client.post(
        "/certifier/consistency",
        data={"csrf_token": csrf_token(page), "note": note},
    )
    return answer.status_code, answer.get_data(as_text=True)


def _grow(service: Service, store: EventStore) -> None:
    raise_finding(service, store, "F-9")


def test_a_kept_checkpoint_is_consistent_with_the_latest(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    kept = people_store.checkpoint()
    kept_size = people_store.size()
    _grow(service, people_store)
    sign_in(client, "cert")
    english(client)
    status, page = _check(client, kept)
    assert status == 200
    latest = people_store.size()
    assert (
        f"OK: the kept checkpoint of {kept_size} events is consistent with the "
        f"latest one of {latest} events." in page
    )
    assert 'role="alert"' not in page
    link = f"/certifier/consistency/proof.json?size1={kept_size}&amp;size2={latest}"
    assert link in page
    proof = client.get(link.replace("&amp;", "&")).get_json()
    assert proof == {
        "size1": kept_size,
        "size2": latest,
        "hashes": [h.hex() for h in people_store.consistency_proof(kept_size, latest)],
    }


def test_a_kept_checkpoint_can_be_uploaded(
    client: FlaskClient, people_store: EventStore
) -> None:
    import io

    kept = people_store.checkpoint()
    sign_in(client, "cert")
    english(client)
    page = client.get("/certifier/consistency")
    answer = client.post(
        "/certifier/consistency",
        data={
            "csrf_token": csrf_token(page),
            "upload": (io.BytesIO(kept.encode()), "checkpoint.old"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    assert "is consistent with the latest one" in answer.get_data(as_text=True)


def test_checkpoints_that_cannot_be_true_with_ours_raise_the_alarm(
    client: FlaskClient,
    service: Service,
    people_store: EventStore,
    people_signer: SigningKey,
) -> None:
    size = people_store.size()
    root = people_store.root(size)
    _grow(service, people_store)
    sign_in(client, "cert")
    english(client)
    forged = sign_checkpoint(Checkpoint(ORIGIN, size, root), SigningKey.generate())
    rewritten = sign_checkpoint(Checkpoint(ORIGIN, size, bytes(32)), people_signer)
    ahead = sign_checkpoint(
        Checkpoint(ORIGIN, people_store.size() + 5, bytes(32)), people_signer
    )
    cases = {
        forged: "The signature does not verify with any key of this ledger",
        rewritten: f"The ledger&#39;s tree of {size} events has another root",
        ahead: "names more events",
    }
    for note, reason in cases.items():
        status, page = _check(client, note)
        assert status == 200
        assert 'role="alert"' in page
        assert (
            "Alarm: the kept checkpoint and the latest one cannot both be true" in page
        )
        assert reason in page


def test_text_that_is_no_checkpoint_of_this_ledger_names_the_field(
    client: FlaskClient, people_store: EventStore, people_signer: SigningKey
) -> None:
    sign_in(client, "cert")
    english(client)
    status, page = _check(client, "")
    assert status == 400
    assert "Paste a checkpoint or choose its file" in page
    status, page = _check(client, "not a checkpoint\n")
    assert status == 400
    assert "This is not a signed checkpoint note." in page
    other = sign_checkpoint(
        Checkpoint("other.example/log", 1, bytes(32)), people_signer
    )
    status, page = _check(client, other)
    assert status == 400
    assert "This checkpoint is of another ledger" in page
    assert "Alarm" not in page


# ------------------------------------------------------------------ languages and the guide


def test_the_area_speaks_both_languages(client: FlaskClient) -> None:
    sign_in(client, "cert")
    chinese = client.get("/certifier/").get_data(as_text=True)
    assert "最新检查点" in chinese
    assert "Latest checkpoint" not in chinese
    english(client)
    page = client.get("/certifier/").get_data(as_text=True)
    assert "Latest checkpoint" in page
    assert "最新检查点" not in page


def test_the_guide_gives_the_exact_commands_and_downloads(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "cert")
    genesis = next(people_store.read(1, 1)).key
    for lang, heading in (
        ("zh_CN", "离线验证账本"),
        ("en", "Verifying the ledger offline"),
    ):
        client.set_cookie("qms_lang", lang)
        page = client.get("/certifier/guide").get_data(as_text=True)
        assert heading in page
        assert f"qms verify --export ledger-export.zip --trusted-key {genesis}" in page
        assert (
            "--old-checkpoint checkpoint.old --consistency-proof consistency.json"
            in page
        )
    download = client.get("/certifier/guide?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert f"--trusted-key {genesis}" in text
    assert "<form" not in text
