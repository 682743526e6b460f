"""The audits register and an audit's page: planning, starting, the lead auditor's
signed report, closing and cancelling with a reason."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.domain import audits as a
from ledger.domain import findings as f
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.service import secret
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_findings import DIGEST, XSS, english, events, evidence, form_data

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]


@pytest.fixture
def service(people_store: EventStore, clock: FixedClock) -> Service:
    return Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )


def plan(
    service: Service, audit_id: str = "IA-1", unit: str = "B1", scope: str = "records"
) -> None:
    service.handle(
        a.PlanAudit(
            audit_id=audit_id,
            programme="2026",
            unit=unit,
            scope=scope,
            criteria=["7.5"],
            lead_auditor="carol",
            team=[],
            planned_start=date(2026, 2, 1),
            planned_end=date(2026, 2, 3),
        ),
        "carol",
    )


def test_the_register_filters_searches_sorts_and_exports(
    client: FlaskClient, service: Service
) -> None:
    plan(service, "IA-1", scope="document control")
    plan(service, "IA-2", scope="purchasing")
    plan(service, "IA-3", unit="B2", scope="training")
    service.handle(a.StartAudit(audit_id="IA-2", started_on=date(2026, 2, 1)), "carol")
    sign_in(client, "mia")
    text = client.get("/audits").get_data(as_text=True)
    assert "IA-1" in text
    assert "IA-3" not in text
    text = client.get("/audits?status=in_progress").get_data(as_text=True)
    assert "IA-2" in text
    assert "IA-1" not in text
    text = client.get("/audits?q=document").get_data(as_text=True)
    assert "IA-1" in text
    assert "IA-2" not in text
    text = client.get("/audits?sort=id&desc=1").get_data(as_text=True)
    assert text.index("IA-2") < text.index("IA-1")
    assert client.get("/audits?status=nonsense").status_code == 400
    body = client.get("/audits?format=csv").get_data(as_text=True)
    assert "document control" in body
    assert "IA-3" not in body


def test_planning_an_audit_records_it(
    client: FlaskClient, people_store: EventStore
) -> None:
    english(client)
    sign_in(client, "carol")
    page = client.get("/audits/new")
    data = form_data(
        page,
        audit_id="IA-9",
        programme="2026",
        unit="B1",
        scope=f"records {XSS}",
        criteria="7.5, 8.4",
        lead_auditor="carol",
        team="erin",
        planned_start="2026-02-01",
        planned_end="2026-02-03",
    )
    sent = client.post("/audits/new", data=data)
    assert sent.status_code == 302
    assert events(people_store, "audit/IA-9") == ["audit.planned"]
    text = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Audit IA-9 is planned." in text
    assert XSS not in text
    assert "&lt;script&gt;" in text
    before = people_store.size()
    data["command_id"] = "1" * 32
    data["audit_id"] = "IA-10"
    data["lead_auditor"] = "lars"  # an auditor, but of the audited unit
    refused = client.post("/audits/new", data=data)
    assert refused.status_code == 422
    assert refused.get_data(as_text=True).count("may not audit it") == 2
    assert people_store.size() == before


def test_the_lead_auditor_is_picked_from_the_auditors(
    client: FlaskClient, people_store: EventStore
) -> None:
    english(client)
    sign_in(client, "carol")
    page = client.get("/audits/new")
    offered = re.search(
        r'<select[^>]*name="lead_auditor".*?</select>',
        page.get_data(as_text=True),
        re.S,
    )
    assert offered
    assert re.findall(r'value="([^"]*)"', offered.group(0)) == [
        "",
        "carol",
        "erin",
        "lars",
    ]
    data = form_data(
        page,
        audit_id="IA-9",
        programme="2026",
        unit="B1",
        scope="records",
        criteria="7.5",
        lead_auditor="dave",  # not an auditor: not offered
        planned_start="2026-02-01",
        planned_end="2026-02-03",
    )
    before = people_store.size()
    refused = client.post("/audits/new", data=data)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="lead_auditor-error"' in text
    assert "Choose one of the people offered" in text
    data["unit"] = "B9"
    assert "Choose one of the units offered" in client.post(
        "/audits/new", data=data
    ).get_data(as_text=True)
    assert people_store.size() == before


def test_planning_needs_the_auditor_role(client: FlaskClient) -> None:
    sign_in(client, "mia")
    assert client.get("/audits/new").status_code == 403


def test_start_report_and_close(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    plan(service)
    english(client)
    sign_in(client, "erin")  # an auditor, not the lead
    page = client.get("/audits/IA-1")
    assert "Start the audit" in page.get_data(as_text=True)
    sent = client.post(
        "/audits/IA-1/start", data=form_data(page, started_on="2026-02-01")
    )
    assert sent.status_code == 302
    assert "Write and sign" not in client.get("/audits/IA-1").get_data(as_text=True)
    assert client.get("/audits/IA-1/report").status_code == 403
    sign_in(client, "carol")
    page = client.get("/audits/IA-1/report")
    assert page.status_code == 200
    assert "Continue to sign" in page.get_data(as_text=True)
    sent = client.post(
        "/audits/IA-1/report",
        data=form_data(
            page, summary=f"all fine {XSS}", findings="", password=secret("carol")
        ),
    )
    assert sent.status_code == 302
    text = client.get("/audits/IA-1").get_data(as_text=True)
    assert "The audit report is signed and recorded." in text
    assert "Signed by" in text
    assert XSS not in text
    page = client.get("/audits/IA-1")
    assert client.post("/audits/IA-1/close", data=form_data(page)).status_code == 302
    assert events(people_store, "audit/IA-1")[-1] == "audit.closed"


def test_cancelling_needs_a_reason_and_a_stale_form_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    plan(service)
    english(client)
    sign_in(client, "carol")
    page = client.get("/audits/IA-1")
    refused = client.post("/audits/IA-1/cancel", data=form_data(page, reason=""))
    assert refused.status_code == 422
    assert "Give the reason for cancelling" in refused.get_data(as_text=True)
    stale = form_data(page, reason="unit reorganised")
    service.handle(a.StartAudit(audit_id="IA-1", started_on=date(2026, 2, 1)), "carol")
    before = people_store.size()
    assert client.post("/audits/IA-1/cancel", data=stale).status_code == 409
    assert people_store.size() == before
    page = client.get("/audits/IA-1")
    data = form_data(page, reason="unit reorganised")
    assert client.post("/audits/IA-1/cancel", data=data).status_code == 302
    assert client.post("/audits/IA-1/cancel", data=data).status_code == 302
    assert events(people_store, "audit/IA-1").count("audit.cancelled") == 1
    del data["csrf_token"]
    assert client.post("/audits/IA-1/cancel", data=data).status_code == 400


def test_another_units_audit_is_not_there_and_as_of_hides_forms(
    client: FlaskClient, service: Service, clock: FixedClock
) -> None:
    plan(service, "IA-3", unit="B2")
    plan(service)
    clock.advance(days=2)
    service.handle(a.StartAudit(audit_id="IA-1", started_on=date(2026, 2, 1)), "carol")
    sign_in(client, "mia")
    assert client.get("/audits/IA-3").status_code == 404
    english(client)
    sign_in(client, "carol")
    text = client.get("/audits/IA-1?as_of=2026-01-05").get_data(as_text=True)
    assert "As known at" in text
    assert "Planned" in text
    assert "In progress" not in text
    assert "/audits/IA-1/cancel" not in text


def test_a_finding_raised_from_a_running_audit_is_offered_in_its_report(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    plan(service)
    service.handle(a.StartAudit(audit_id="IA-1", started_on=date(2026, 2, 1)), "carol")
    english(client)
    sign_in(client, "carol")
    page = client.get("/audits/IA-1")
    assert "/findings/new?audit=IA-1&amp;unit=B1" in page.get_data(as_text=True)
    form = client.get("/findings/new?audit=IA-1&unit=B1").get_data(as_text=True)
    assert 'value="IA-1"' in form
    assert '<option selected value="internal_audit">' in form
    service.handle(
        f.RaiseFinding(
            finding_id="F-7",
            unit="B1",
            source="internal_audit",
            classification="minor",
            criterion={"clause": "7.5.3"},
            description="d",
            evidence=evidence(people_store),
            due_on=date(2026, 3, 31),
            audit="IA-1",
        ),
        "carol",
    )
    report = client.get("/audits/IA-1/report").get_data(as_text=True)
    assert 'value="F-7"' in report


def test_the_report_is_reviewed_then_signed_with_its_digest(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    plan(service)
    service.handle(a.StartAudit(audit_id="IA-1", started_on=date(2026, 2, 1)), "carol")
    english(client)
    sign_in(client, "carol")
    page = client.get("/audits/IA-1/report")
    review = client.post(
        "/audits/IA-1/report",
        data=form_data(page, stage="review", summary="effective", findings=""),
    )
    text = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "The report you sign" in text
    found = DIGEST.search(text)
    assert found is not None
    edit = client.post(
        "/audits/IA-1/report",
        data=form_data(review, stage="edit", summary="effective", findings=""),
    )
    assert 'name="password"' not in edit.get_data(as_text=True)
    data = form_data(review, summary="effective", findings="", password=secret("carol"))
    assert client.post("/audits/IA-1/report", data=data).status_code == 302
    signed = people_store.read_stream("audit/IA-1")[-1]
    assert signed.data["esig"]["subject_sha256"] == found.group(1)  # type: ignore[index]


def test_a_finding_names_an_audit_picked_from_the_units_audits(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    plan(service, "IA-1", "B1")
    plan(service, "IA-2", "B2")
    english(client)
    sign_in(client, "carol")
    page = client.get("/findings/new?audit=IA-1&unit=B1")
    offered = re.search(
        r'<select[^>]*name="audit".*?</select>', page.get_data(as_text=True), re.S
    )
    assert offered
    assert sorted(re.findall(r'value="([^"]*)"', offered.group(0))) == [
        "",
        "IA-1",
        "IA-2",
    ]
    assert re.search(r'<option selected value="IA-1">', offered.group(0))

    def raised(audit: str) -> str:
        data = form_data(
            page,
            finding_id="F-9",
            unit="B1",
            source="internal_audit",
            classification="minor",
            clause="7.5.3",
            description="records not signed",
            due_on="2026-03-31",
            audit=audit,
            evidence=(io.BytesIO(b"scan"), "scan.pdf"),
        )
        sent = client.post(
            "/findings/new", data=data, content_type="multipart/form-data"
        )
        assert sent.status_code == 422
        return sent.get_data(as_text=True)

    before = people_store.size()
    assert "Choose an audit of unit B1" in raised("IA-2")
    assert "Choose one of the audits offered" in raised("IA-99")
    assert people_store.size() == before
