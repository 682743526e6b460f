"""The status report page: its figures, its SHA-256, the same report again by its link,
and the printable HTML, CSV and JSON downloads."""

from __future__ import annotations

import hashlib
import re

from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.domain import indicators as ind
from ledger.service import Service
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_indicators import kpi, service

__all__ = [
    "client",
    "kpi",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]

DIGEST = re.compile(r'id="report-sha256">([0-9a-f]{64})<')
EXACT = re.compile(r'href="(/reports/status\?[^"]*at=[^"&]*)"')


def test_report_page_shows_digest_and_figures(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "vic")
    answer = client.get("/reports/status")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "B1 质量管理体系状况报告" in text
    assert DIGEST.search(text)
    assert "KPI-1" in text
    assert "style=" not in text


def test_downloads_match_the_digest(
    client: FlaskClient, kpi: str, service: Service, clock: FixedClock
) -> None:
    sign_in(client, "vic")
    text = client.get("/reports/status?unit=B1").get_data(as_text=True)
    digest = DIGEST.search(text)
    link = EXACT.search(text)
    assert digest
    assert link
    clock.advance(minutes=1)
    service.handle(
        ind.RecordMeasurement(indicator_id=kpi, period="2025-12", value="99"), "dave"
    )
    exact = link.group(1).replace("&amp;", "&")
    again_answer = client.get(exact)
    again = again_answer.get_data(as_text=True)
    assert again_answer.status_code == 200, (exact, again[-3000:])
    assert DIGEST.search(again).group(1) == digest.group(1)  # type: ignore[union-attr]
    data = client.get(exact + "&format=json")
    assert data.mimetype == "application/json"
    assert hashlib.sha256(data.get_data()).hexdigest() == digest.group(1)
    csv_answer = client.get(exact + "&format=csv")
    assert csv_answer.mimetype == "text/csv"
    assert "section,item,field,value" in csv_answer.get_data(as_text=True)
    printable = client.get(exact + "&format=html")
    assert "attachment" in printable.headers["Content-Disposition"]
    assert digest.group(1) in printable.get_data(as_text=True)
    now = client.get("/reports/status?unit=B1").get_data(as_text=True)
    assert DIGEST.search(now).group(1) != digest.group(1)  # type: ignore[union-attr]


def test_report_as_of_and_unknown_unit(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "vic")
    text = client.get("/reports/status?unit=B1&as_of=2026-01-05").get_data(as_text=True)
    assert "banner-as-of" in text
    assert "/reviews/new" not in text
    assert client.get("/reports/status?unit=NOPE").status_code == 404


def test_manager_offered_a_review_of_the_report(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "mia")
    text = client.get("/reports/status?unit=B1").get_data(as_text=True)
    assert "/reviews/new?unit=B1&amp;report_as_of=" in text


def _b2_indicator(service: Service) -> None:
    service.handle(
        ind.DefineIndicator(
            indicator_id="KPI-2",
            unit="B2",
            owner="zoe",
            name="Audit days",
            measure="d",
            direction="lower_is_better",
            target="10",
            frequency="quarterly",
            method="count",
            effective_from="2025-Q1",
        ),
        "hank",
    )


def test_the_report_of_a_subtree_holds_what_the_reader_may_see(
    client: FlaskClient, kpi: str, service: Service
) -> None:
    _b2_indicator(service)
    sign_in(client, "hank")  # manager of headquarters: every unit below
    text = client.get("/reports/status?subtree=HQ").get_data(as_text=True)
    assert "HQ 质量管理体系状况报告" in text
    assert "B1, B2, HQ" in text
    assert "KPI-1" in text
    assert "KPI-2" in text
    text = client.get("/reports/status?subtree=B2").get_data(as_text=True)
    assert "KPI-2" in text
    assert "KPI-1" not in text
    sign_in(client, "cert")  # of headquarters, certifier of B1: not B2
    text = client.get("/reports/status?subtree=HQ").get_data(as_text=True)
    assert "B1, HQ" in text
    assert "KPI-2" not in text
    sign_in(client, "vic")  # a viewer of B1 sees B1 in headquarters' subtree
    data = client.get("/reports/status?subtree=HQ&format=json").get_json()
    assert data["unit"] == "HQ"
    assert data["units"] == ["B1"]
    assert [i["indicator_id"] for i in data["indicators"]] == ["KPI-1"]
    assert client.get("/reports/status?subtree=B2").status_code == 404


def test_a_subtree_no_unit_has_is_refused_by_name(
    client: FlaskClient, kpi: str
) -> None:
    sign_in(client, "hank")
    answer = client.get("/reports/status?subtree=NOPE")
    assert answer.status_code == 400
    assert "NOPE" in answer.get_data(as_text=True)


def test_a_report_limited_to_what_the_reader_sees_is_not_offered_for_review(
    client: FlaskClient, kpi: str
) -> None:
    sign_in(client, "mia")  # manager of B1: of headquarters' subtree, B1 only
    text = client.get("/reports/status?subtree=HQ").get_data(as_text=True)
    assert "HQ 质量管理体系状况报告" in text
    assert "/reviews/new" not in text
    text = client.get("/reports/status?subtree=B1").get_data(as_text=True)
    assert "/reviews/new?unit=B1" in text
