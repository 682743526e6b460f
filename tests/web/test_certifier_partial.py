"""A certifier's partial export: the form, the streamed zip that verifies offline without
a database driver, the units they may not export, the dates typed wrong, both
languages, and the guide's section on it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from ledger.integrity.verify.partial import CANNOT_SHOW
from ledger.service import Service
from ledger.store import EventStore
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_certifier import verify_offline
from tests.web.test_findings import english, raise_finding, service

__all__ = [
    "client",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]

PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}
OPTION = re.compile(r'<option[^>]*value="([^"]*)"')


def _export(client: FlaskClient, **args: str) -> tuple[int, str, str]:
    """GET the partial export: (status, mimetype, the page's text or '')."""
    answer = client.get("/certifier/partial", query_string=args)
    text = answer.get_data(as_text=True) if answer.mimetype == "text/html" else ""
    return answer.status_code, answer.mimetype or "", text


def _unit_options(page: str) -> list[str]:
    select = page[page.index("<select") :]
    return OPTION.findall(select[: select.index("</select>")])


def _events(archive: bytes) -> list[dict[str, object]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        lines = opened.read("events.jsonl").splitlines()
    return [json.loads(line) for line in lines]


# ------------------------------------------------------------------ the download


def test_a_certifiers_partial_export_downloads_and_verifies_offline(
    client: FlaskClient, service: Service, people_store: EventStore, tmp_path: Path
) -> None:
    raise_finding(service, people_store, "F-1", unit="B1")
    raise_finding(service, people_store, "F-2", unit="B2")
    sign_in(client, "cert")
    answer = client.get(
        "/certifier/partial", query_string={"unit": "B1", "subtree": "yes", **PERIOD}
    )
    assert answer.status_code == 200
    assert answer.is_streamed
    assert answer.mimetype == "application/zip"
    assert (
        answer.headers["Content-Disposition"]
        == "attachment; filename=partial-B1-2026-01-01-2026-12-31.zip"
    )
    archive = answer.get_data()
    streams = {str(e["stream"]) for e in _events(archive)}
    assert "finding/F-1" in streams
    assert "finding/F-2" not in streams
    assert "ledger/keys" in streams
    # as the guide says: unzip into a folder of its own and verify the folder
    folder = tmp_path / "partial-export"
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        opened.extractall(folder)
    genesis = next(people_store.read(1, 1)).key
    run = verify_offline(folder, genesis, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("OK partial events=")
    assert "scope: units B1, recorded 2026-01-01 to 2026-12-31 (UTC)" in run.stdout
    assert "a partial export cannot show:" in run.stdout
    zipped = tmp_path / "partial.zip"
    zipped.write_bytes(archive)
    assert verify_offline(zipped, genesis, tmp_path).returncode == 0


def test_a_period_without_the_records_changes_leaves_them_out(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1", unit="B1")
    sign_in(client, "cert")
    answer = client.get(
        "/certifier/partial",
        query_string={
            "unit": "B1",
            "subtree": "no",
            "from": "2025-01-01",
            "to": "2025-12-31",
        },
    )
    assert answer.status_code == 200
    assert (
        "filename=partial-B1-2025-01-01-2025-12-31.zip"
        in (answer.headers["Content-Disposition"])
    )
    streams = {str(e["stream"]) for e in _events(answer.get_data())}
    assert "finding/F-1" not in streams
    assert streams <= {"ledger/keys", "ledger/blobs"}


def test_an_administrator_may_export_any_unit(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-2", unit="B2")
    sign_in(client, "root")
    page = client.get("/certifier/partial").get_data(as_text=True)
    assert _unit_options(page) == ["B1", "B2", "HQ"]
    answer = client.get("/certifier/partial", query_string={"unit": "HQ", **PERIOD})
    assert answer.status_code == 200
    assert "finding/F-2" in {str(e["stream"]) for e in _events(answer.get_data())}


# ------------------------------------------------------------------ who may have it


def test_only_the_units_assigned_are_offered_and_another_is_not_found(
    client: FlaskClient,
) -> None:
    sign_in(client, "cert")
    page = client.get("/certifier/partial").get_data(as_text=True)
    assert _unit_options(page) == ["B1"]
    for unit in ("B2", "HQ", "NOPE"):
        status, mimetype, _page = _export(client, unit=unit, subtree="yes", **PERIOD)
        assert (status, mimetype) == (404, "text/html"), unit
        # the unit is refused first, whatever else is wrong
        assert _export(client, unit=unit, **{"from": "x", "to": ""})[0] == 404


@pytest.mark.parametrize("user", ["alice", "vic", "mia"])
def test_the_partial_export_is_refused_to_other_roles(
    client: FlaskClient, user: str
) -> None:
    sign_in(client, user)
    assert client.get("/certifier/partial").status_code == 403
    assert _export(client, unit="B1", **PERIOD)[0] == 403


def test_the_partial_export_asks_to_sign_in_first(client: FlaskClient) -> None:
    answer = client.get("/certifier/partial", query_string={"unit": "B1", **PERIOD})
    assert answer.status_code == 302
    assert "/login" in answer.headers["Location"]


# ------------------------------------------------------------------ dates typed wrong


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (
            "2026-13-01",
            "2026-12-31",
            "from",
            "Enter the date as year-month-day, for example 2026-03-31",
        ),
        (
            "2026-01-01",
            "31.12.2026",
            "to",
            "Enter the date as year-month-day, for example 2026-03-31",
        ),
        ("", "2026-12-31", "from", "Enter the first day of the period"),
        ("2026-01-01", "", "to", "Enter the last day of the period"),
        (
            "2026-06-01",
            "2026-05-31",
            "to",
            "The last day must not be before the first day",
        ),
    ],
)
def test_dates_typed_wrong_name_the_field_and_download_nothing(
    client: FlaskClient, start: str, end: str, field: str, message: str
) -> None:
    sign_in(client, "cert")
    english(client)
    status, mimetype, page = _export(
        client, unit="B1", subtree="yes", **{"from": start, "to": end}
    )
    assert (status, mimetype) == (400, "text/html")
    assert 'class="error-summary"' in page
    assert f'<li><a href="#{field}">{message}</a></li>' in page
    assert f'<p class="error-message" id="{field}-error">' in page
    assert f'value="{start}"' in page or not start  # what was typed is kept


def test_a_subtree_answer_that_is_neither_yes_nor_no_names_the_field(
    client: FlaskClient,
) -> None:
    sign_in(client, "cert")
    english(client)
    status, _mimetype, page = _export(client, unit="B1", subtree="maybe", **PERIOD)
    assert status == 400
    assert (
        '<li><a href="#subtree">Choose whether the units below it count</a></li>'
        in page
    )


# ------------------------------------------------------------------ languages and the guide


def test_the_form_speaks_both_languages(client: FlaskClient) -> None:
    sign_in(client, "cert")
    chinese = client.get("/certifier/partial")
    assert chinese.status_code == 200
    text = chinese.get_data(as_text=True)
    assert "单位的部分导出" in text
    assert "下载部分导出（zip）" in text
    assert "Partial export of a unit" not in text
    english(client)
    page = client.get("/certifier/partial").get_data(as_text=True)
    assert "<h1>Partial export of a unit</h1>" in page
    assert "Download the partial export (zip)" in page
    assert '<form method="get" action="/certifier/partial"' in page
    assert "单位的部分导出" not in page
    home = client.get("/certifier/").get_data(as_text=True)
    assert 'href="/certifier/partial"' in home


def test_the_guide_gives_the_partial_export_commands(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "cert")
    genesis = next(people_store.read(1, 1)).key
    for lang, heading in (
        ("zh_CN", "4. 验证某一单位的部分导出"),
        ("en", "4. Verify a partial export of a unit"),
    ):
        client.set_cookie("qms_lang", lang)
        page = client.get("/certifier/guide").get_data(as_text=True)
        assert f'<h2 id="partial-export">{heading}</h2>' in page
        assert (
            "unzip partial-&lt;unit&gt;-&lt;from&gt;-&lt;to&gt;.zip -d partial-export"
            in page
        )
        assert f"qms verify --export partial-export --trusted-key {genesis}" in page
        assert (
            f"python -m ledger.verify --export partial-export --trusted-key {genesis}"
            in page
        )
        assert "a partial export cannot show:" in page
        for item in CANNOT_SHOW:
            assert f"  - {item}".replace("'", "&#39;") in page
    download = client.get("/certifier/guide?download=1").get_data(as_text=True)
    assert f"qms verify --export partial-export --trusted-key {genesis}" in download
