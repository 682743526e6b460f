"""Management reviews: the register, a review's page, recording a review that pins the
status report it looked at; roles, rule messages, double submits, escaping, as-of."""

from __future__ import annotations

import hashlib
import re

from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.domain import reviews as rv
from ledger.service import Service
from ledger.store import EventStore
from tests.support.webapp import (
    client,
    csrf_token,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_indicators import XSS, hidden, kpi, post_form, service

__all__ = [
    "client",
    "kpi",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]

REVIEW = {
    "review_id": "MR-2026",
    "unit": "B1",
    "held_on": "2026-01-05",
    "attendees": "mia\nbob\n",
    "decisions": "Keep the objectives\n" + XSS,
    "actions": "Hold metrology training | dave | 2026-04-30",
    "report_as_of": "",
}


def test_hold_review_pins_the_report(
    client: FlaskClient, kpi: str, people_store: EventStore, clock: FixedClock
) -> None:
    sign_in(client, "mia")
    clock.advance(seconds=1)  # the report's moment: past once the review is recorded
    report = client.get("/reports/status?unit=B1").get_data(as_text=True)
    digest = re.search(r'id="report-sha256">([0-9a-f]{64})<', report)
    at = re.search(r"report_as_of=([^\"&]+)", report)
    assert digest
    assert at
    moment = at.group(1).replace("%3A", ":")
    clock.advance(seconds=1)
    form = client.get(f"/reviews/new?unit=B1&report_as_of={moment}")
    assert digest.group(1) in form.get_data(as_text=True)  # shown before it is pinned
    before = people_store.size()
    answer = client.post(
        "/reviews/new", data={**hidden(form), **REVIEW, "report_as_of": moment}
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/reviews/MR-2026")
    assert people_store.size() == before + 1
    event = people_store.read_stream("review/MR-2026")[0]
    assert event.data["inputs"][0]["sha256"] == digest.group(1)  # type: ignore[index]
    page = client.get("/reviews/MR-2026").get_data(as_text=True)
    assert "管理评审 MR-2026 已登记。" in page
    assert digest.group(1) in page
    assert "Hold metrology training" in page
    assert XSS not in page
    assert "&lt;script&gt;" in page
    json = client.get(f"/reports/status?unit=B1&at={moment}&format=json").get_data()
    assert hashlib.sha256(json).hexdigest() == digest.group(1)


def test_hold_review_rule_violations(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    before = people_store.size()
    answer, _ = post_form(
        client, "/reviews/new", {**REVIEW, "attendees": "", "actions": "no bars here"}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="attendees-error"' in text
    assert "error-summary" in text
    assert people_store.size() == before
    answer, _ = post_form(client, "/reviews/new", {**REVIEW, "actions": "no bars here"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="actions-error"' in text
    assert "Keep the objectives" in text  # input kept
    assert people_store.size() == before


def test_hold_review_roles_and_csrf(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "vic")
    assert client.get("/reviews/new").status_code == 403
    assert "/reviews/new" not in client.get("/reviews").get_data(as_text=True)
    page = client.get("/reviews")
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    sign_in(client, "mia")
    form = client.get("/reviews/new")
    data = {**dict(hidden(form)), **REVIEW}
    del data["csrf_token"]
    before = people_store.size()
    assert client.post("/reviews/new", data=data).status_code == 400
    answer, _ = post_form(client, "/reviews/new", {**REVIEW, "unit": "B2"})
    assert answer.status_code == 422  # B2 is not offered to the manager of B1
    assert 'id="unit-error"' in answer.get_data(as_text=True)
    assert people_store.size() == before


def test_double_submit_and_existing_review(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    answer, sent = post_form(client, "/reviews/new", REVIEW)
    assert answer.status_code == 302
    size = people_store.size()
    assert client.post("/reviews/new", data=sent).status_code == 302
    assert people_store.size() == size
    answer, _ = post_form(client, "/reviews/new", REVIEW)  # a new form, same number
    assert answer.status_code in (409, 422)
    assert people_store.size() == size


def test_register_search_sort_csv_as_of(
    client: FlaskClient, service: Service, clock: FixedClock
) -> None:
    for review_id, unit, held in (("MR-A", "B1", 3), ("MR-B", "B2", 4)):
        clock.advance(days=1)
        service.handle(
            rv.HoldManagementReview(
                review_id=review_id,
                unit=unit,
                held_on=clock.now().date().replace(day=held),
                attendees=["hank"],
            ),
            "hank",
        )
    sign_in(client, "vic")  # a viewer of B1 reads B1's reviews only
    assert "MR-B" not in client.get("/reviews").get_data(as_text=True)
    assert client.get("/reviews/MR-B").status_code == 404
    sign_in(client, "hank")
    text = client.get("/reviews").get_data(as_text=True)
    assert text.index("MR-B") < text.index("MR-A")  # newest held first
    assert "MR-B" not in client.get("/reviews?q=MR-A").get_data(as_text=True)
    assert "MR-B" not in client.get("/reviews?unit=B1").get_data(as_text=True)
    assert client.get("/reviews?sort=colour").status_code == 400
    csv_text = client.get("/reviews?format=csv&unit=B2").get_data(as_text=True)
    assert "MR-B" in csv_text
    assert "MR-A" not in csv_text
    then = client.get("/reviews?as_of=2026-01-06").get_data(as_text=True)
    assert "banner-as-of" in then
    assert "MR-A" in then
    assert "MR-B" not in then
    assert client.get("/reviews/MR-B?as_of=2026-01-06").status_code == 404
    assert client.get("/reviews/NOPE").status_code == 404


def test_a_report_of_the_future_is_not_pinned(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    future = "2099-01-01T00:00:00.000000Z"
    assert client.get(f"/reports/status?unit=B1&at={future}").status_code == 400
    before = people_store.size()
    answer, _ = post_form(client, "/reviews/new", {**REVIEW, "report_as_of": future})
    assert answer.status_code == 422
    assert 'id="report_as_of-error"' in answer.get_data(as_text=True)
    assert people_store.size() == before
