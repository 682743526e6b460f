"""The dashboard of a unit: findings, actions and documents due, audits, indicators with
their trend charts inline and the numbers beside them; as known at an earlier moment."""

from __future__ import annotations

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


def test_start_page_is_the_dashboard(client: FlaskClient) -> None:
    sign_in(client, "vic")
    answer = client.get("/")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/dashboard")


def test_dashboard_of_own_unit(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "vic")
    answer = client.get("/dashboard")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "B1" in text
    assert "严重不符合项" in text  # the classifications, counted
    assert text.count("<svg") == 1  # KPI-1's trend, inline
    assert "trend-1-title" in text
    assert 'class="table trend-table"' in text
    assert "未达标周期：1 个" in text
    assert "style=" not in text


def test_dashboard_of_other_unit_and_unknown(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "vic")
    text = client.get("/dashboard?unit=B2").get_data(as_text=True)
    assert "<svg" not in text
    assert "本单位尚未建立质量指标。" in text
    assert client.get("/dashboard?unit=NOPE").status_code == 404


def test_dashboard_subtree(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "hank")
    assert "KPI-1" in client.get("/dashboard?unit=HQ").get_data(as_text=True)
    only = client.get("/dashboard?unit=HQ&subtree=0").get_data(as_text=True)
    assert "KPI-1" not in only


def test_dashboard_as_of(
    client: FlaskClient, kpi: str, service: Service, clock: FixedClock
) -> None:
    clock.advance(days=2)
    service.handle(
        ind.RecordMeasurement(indicator_id=kpi, period="2025-12", value="80"), "dave"
    )
    sign_in(client, "vic")
    assert "未达标周期：2 个" in client.get("/dashboard").get_data(as_text=True)
    then = client.get("/dashboard?as_of=2026-01-06").get_data(as_text=True)
    assert "banner-as-of" in then
    assert "未达标周期：1 个" in then


def test_dashboard_in_english(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "vic")
    client.set_cookie("qms_lang", "en")
    text = client.get("/dashboard").get_data(as_text=True)
    assert "Dashboard of B1" in text
    assert "Major nonconformity" in text
    assert "Periods missed: 1" in text
