"""The findings register and a finding's page: raising, each step of the corrective
action process, the signed verification, and only the steps a person may take now."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.clock import FixedClock
from ledger.domain import findings as f
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.service import secret
from tests.support.webapp import (
    client,
    csrf_token,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

HIDDEN = re.compile(
    r'name="((?:[\w-]+-)?(?:command_id|version))" type="hidden" value="([^"]*)"'
)
XSS = "<script>alert(1)</script>"


@pytest.fixture
def service(people_store: EventStore, clock: FixedClock) -> Service:
    return Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )


def evidence(store: EventStore, text: bytes = b"photo") -> list[dict[str, object]]:
    return [
        {
            "blob": store.put_blob(text),
            "size": len(text),
            "name": "photo.jpg",
            "media_type": "image/jpeg",
        }
    ]


def raise_finding(
    service: Service,
    store: EventStore,
    finding_id: str = "F-1",
    *,
    unit: str = "B1",
    description: str = "records not signed",
    classification: str = "minor",
) -> None:
    service.handle(
        f.RaiseFinding(
            finding_id=finding_id,
            unit=unit,
            source="supervision",
            classification=classification,
            criterion={"clause": "7.5.3"},
            description=description,
            evidence=evidence(store),
            due_on=date(2026, 3, 31),
        ),
        "carol",
    )


def to_actions_done(
    service: Service, store: EventStore, finding_id: str = "F-1"
) -> None:
    raise_finding(service, store, finding_id)
    service.handle(f.ContainFinding(finding_id=finding_id, action="stop"), "dave")
    service.handle(
        f.AnalyseCause(finding_id=finding_id, cause="no check", method="5 whys"), "dave"
    )
    service.handle(
        f.PlanActions(
            finding_id=finding_id,
            actions=[
                f.ActionPlan(
                    action_id="A1",
                    description="train",
                    owner="dave",
                    due_on=date(2026, 2, 1),
                )
            ],
        ),
        "dave",
    )
    service.handle(f.CompleteAction(finding_id=finding_id, action_id="A1"), "dave")


def english(client: FlaskClient) -> None:
    client.set_cookie("qms_lang", "en")


def form_data(page: TestResponse, **values: object) -> dict[str, object]:
    hidden = dict(HIDDEN.findall(page.get_data(as_text=True)))
    return {"csrf_token": csrf_token(page), **hidden, **values}


def events(store: EventStore, stream: str) -> list[str]:
    return [e.type for e in store.read_stream(stream)]


# --- the register -------------------------------------------------------------------


def test_the_register_filters_searches_sorts_and_exports(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1", description="calibration overdue")
    raise_finding(
        service, people_store, "F-2", classification="major", description="no training"
    )
    raise_finding(service, people_store, "F-3", unit="B2", description="B2 finding")
    english(client)
    sign_in(client, "mia")  # manager of B1: reads B1 only
    page = client.get("/findings")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "F-1" in text
    assert "F-2" in text
    assert "F-3" not in text
    text = client.get("/findings?classification=major").get_data(as_text=True)
    assert "F-2" in text
    assert "F-1" not in text
    text = client.get("/findings?q=calibration").get_data(as_text=True)
    assert "F-1" in text
    assert "F-2" not in text
    text = client.get("/findings?sort=id&desc=1").get_data(as_text=True)
    assert text.index("F-2") < text.index("F-1")
    assert client.get("/findings?sort=nonsense").status_code == 400
    csv = client.get("/findings?format=csv&classification=minor")
    assert csv.mimetype == "text/csv"
    body = csv.get_data(as_text=True)
    assert "F-1" in body
    assert "F-2" not in body
    assert "calibration overdue" in body


def test_the_register_shows_open_findings_only_and_pages(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    for i in range(30):
        raise_finding(service, people_store, f"F-{i:02d}")
    sign_in(client, "hank")
    first = client.get("/findings?open=1&sort=id").get_data(as_text=True)
    assert "F-00" in first
    assert "F-29" not in first
    second = client.get("/findings?open=1&sort=id&page=2").get_data(as_text=True)
    assert "F-29" in second
    assert "F-00" not in second


# --- raising ------------------------------------------------------------------------


def _raise_form(client: FlaskClient, **values: object) -> dict[str, object]:
    page = client.get("/findings/new")
    assert page.status_code == 200
    data = form_data(
        page,
        finding_id="F-9",
        unit="B1",
        source="supervision",
        classification="minor",
        clause="7.5.3",
        description=f"records not signed {XSS}",
        due_on="2026-03-31",
        evidence=(io.BytesIO(b"scan"), "scan.pdf"),
    )
    data.update(values)
    return data


def test_raising_a_finding_records_it_and_shows_it(
    client: FlaskClient, people_store: EventStore
) -> None:
    english(client)
    sign_in(client, "carol")
    sent = client.post(
        "/findings/new", data=_raise_form(client), content_type="multipart/form-data"
    )
    assert sent.status_code == 302
    assert events(people_store, "finding/F-9") == ["finding.raised"]
    page = client.get(sent.headers["Location"])
    text = page.get_data(as_text=True)
    assert "Finding F-9 is raised." in text
    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "scan.pdf" in text


def test_raising_without_evidence_or_a_good_date_is_refused(
    client: FlaskClient, people_store: EventStore
) -> None:
    english(client)
    sign_in(client, "carol")
    before = people_store.size()
    data = _raise_form(client, due_on="31/03/2026")
    del data["evidence"]
    page = client.post("/findings/new", data=data, content_type="multipart/form-data")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert text.count("Enter the due date as year-month-day") == 2  # summary and field
    assert people_store.size() == before
    data = _raise_form(client)
    del data["evidence"]
    page = client.post("/findings/new", data=data, content_type="multipart/form-data")
    assert page.status_code == 422
    assert "Attach at least one file of evidence" in page.get_data(as_text=True)


def test_a_rule_of_the_ledger_is_shown_beside_the_field(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "carol")
    before = people_store.size()
    data = _raise_form(client, source="internal_audit")  # names no audit
    page = client.post("/findings/new", data=data, content_type="multipart/form-data")
    assert page.status_code == 422
    assert (
        page.get_data(as_text=True).count("来自内部审核的审核发现须注明所属审核") == 2
    )
    assert people_store.size() == before


def test_raising_needs_the_role_and_the_token(client: FlaskClient) -> None:
    sign_in(client, "vic")
    assert client.get("/findings/new").status_code == 403
    sign_in(client, "carol")
    data = _raise_form(client)
    del data["csrf_token"]
    assert (
        client.post(
            "/findings/new", data=data, content_type="multipart/form-data"
        ).status_code
        == 400
    )


# --- the steps ------------------------------------------------------------------------


def test_the_owner_sees_and_takes_the_steps_open_to_them(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    english(client)
    sign_in(client, "dave")
    page = client.get("/findings/F-1")
    text = page.get_data(as_text=True)
    assert "Record the containment" in text
    assert "Plan the corrective actions" not in text
    assert "Change the due date" not in text  # managers only
    sent = client.post(
        "/findings/F-1/contain", data=form_data(page, action=f"stopped {XSS}")
    )
    assert sent.status_code == 302
    shown = client.get("/findings/F-1").get_data(as_text=True)
    assert "The containment is recorded." in shown
    assert XSS not in shown
    assert events(people_store, "finding/F-1")[-1] == "finding.contained"


def test_an_actions_owner_is_picked_from_the_owners_of_the_unit(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "dave")
    service.handle(f.AnalyseCause(finding_id="F-1", cause="c", method="m"), "dave")
    english(client)
    sign_in(client, "mia")
    page = client.get("/findings/F-1")
    offered = re.search(
        r'<select[^>]*name="actions-0-owner".*?</select>',
        page.get_data(as_text=True),
        re.S,
    )
    assert offered
    assert re.findall(r'value="([^"]*)"', offered.group(0)) == ["", "dave"]
    before = people_store.size()
    data = form_data(
        page,
        **{
            "actions-0-description": "train the clerks",
            "actions-0-owner": "zoe",  # of another unit, and no owner
            "actions-0-due_on": "2026-02-01",
        },
    )
    sent = client.post("/findings/F-1/plan", data=data)
    assert sent.status_code == 422
    assert "Choose one of the people offered" in sent.get_data(as_text=True)
    assert people_store.size() == before


def test_planning_several_actions_and_completing_one_with_evidence(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "dave")
    service.handle(f.AnalyseCause(finding_id="F-1", cause="c", method="m"), "dave")
    english(client)
    sign_in(client, "mia")
    page = client.get("/findings/F-1")
    data = form_data(
        page,
        **{
            "actions-0-description": "train the clerks",
            "actions-0-owner": "dave",
            "actions-0-due_on": "2026-02-01",
            "actions-1-description": "add a check",
            "actions-1-owner": "dave",
            "actions-1-due_on": "2026-02-15",
        },
    )
    sent = client.post("/findings/F-1/plan", data=data)
    assert sent.status_code == 302
    text = client.get("/findings/F-1").get_data(as_text=True)
    assert "train the clerks" in text
    assert "add a check" in text
    sign_in(client, "dave")
    page = client.get("/findings/F-1")
    assert "Record action A1 as done" in page.get_data(as_text=True)
    data = form_data(
        page,
        **{
            "a-A1-action_id": "A1",
            "a-A1-note": "done",
            "a-A1-evidence": (io.BytesIO(b"attendance"), "list.pdf"),
        },
    )
    sent = client.post(
        "/findings/F-1/complete", data=data, content_type="multipart/form-data"
    )
    assert sent.status_code == 302
    stored = people_store.read_stream("finding/F-1")[-1]
    assert stored.type == "finding.action_completed"
    assert stored.data["evidence"][0]["name"] == "list.pdf"  # type: ignore[index]


def test_a_half_filled_action_row_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "dave")
    service.handle(f.AnalyseCause(finding_id="F-1", cause="c", method="m"), "dave")
    english(client)
    sign_in(client, "mia")
    before = people_store.size()
    page = client.get("/findings/F-1")
    sent = client.post(
        "/findings/F-1/plan", data=form_data(page, **{"actions-0-description": "train"})
    )
    assert sent.status_code == 422
    text = sent.get_data(as_text=True)
    assert "Choose the owner" in text
    assert people_store.size() == before


def test_changing_the_due_date_twice_records_once_and_a_stale_form_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    english(client)
    sign_in(client, "mia")
    page = client.get("/findings/F-1")
    data = form_data(page, due_on="2026-04-30", reason="waiting for the supplier")
    stale = dict(data)
    assert client.post("/findings/F-1/change_due", data=data).status_code == 302
    assert client.post("/findings/F-1/change_due", data=data).status_code == 302
    assert events(people_store, "finding/F-1").count("finding.due_date_changed") == 1
    before = people_store.size()
    stale["command_id"] = "0" * 32
    stale["due_on"] = "2026-05-31"
    assert client.post("/findings/F-1/change_due", data=stale).status_code == 409
    assert people_store.size() == before
    without_reason = form_data(
        client.get("/findings/F-1"), due_on="2026-06-30", reason=""
    )
    refused = client.post("/findings/F-1/change_due", data=without_reason)
    assert refused.status_code == 422
    assert "Give the reason for the change" in refused.get_data(as_text=True)


def test_another_units_finding_is_not_there_and_steps_need_the_role(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-2", unit="B2")
    raise_finding(service, people_store, "F-1")
    sign_in(client, "mia")
    assert client.get("/findings/F-2").status_code == 404
    sign_in(client, "vic")
    page = client.get("/findings/F-1")
    assert page.status_code == 200
    assert "/findings/F-1/contain" not in page.get_data(as_text=True)
    sign_in(client, "dave")
    data = form_data(client.get("/findings/F-1"), due_on="2026-04-30", reason="x")
    assert client.post("/findings/F-1/change_due", data=data).status_code == 403


def test_verifying_is_a_signing_page_for_an_independent_auditor(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    to_actions_done(service, people_store)
    english(client)
    sign_in(client, "carol")  # raised it: may not verify
    assert "Verify the effectiveness" not in client.get("/findings/F-1").get_data(
        as_text=True
    )
    assert client.get("/findings/F-1/verify").status_code == 403
    sign_in(client, "erin")  # auditor from B2
    page = client.get("/findings/F-1/verify")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Continue to sign" in text
    assert "train" in text
    wrong = client.post(
        "/findings/F-1/verify",
        data=form_data(page, effective="yes", comment="checked", password="wrong"),
    )
    assert wrong.status_code == 422
    assert events(people_store, "finding/F-1")[-1] == "finding.action_completed"
    sent = client.post(
        "/findings/F-1/verify",
        data=form_data(
            page, effective="yes", comment=f"checked {XSS}", password=secret("erin")
        ),
    )
    assert sent.status_code == 302
    shown = client.get("/findings/F-1").get_data(as_text=True)
    assert "Your verification is signed and recorded." in shown
    assert "Signed by" in shown
    assert XSS not in shown
    assert events(people_store, "finding/F-1")[-1] == "finding.verified"
    sign_in(client, "hank")
    page = client.get("/findings/F-1")
    assert client.post("/findings/F-1/close", data=form_data(page)).status_code == 302
    page = client.get("/findings/F-1")
    assert "Reopen the finding" in page.get_data(as_text=True)
    assert (
        client.post(
            "/findings/F-1/reopen", data=form_data(page, reason="came back")
        ).status_code
        == 302
    )
    assert events(people_store, "finding/F-1")[-2:] == [
        "finding.closed",
        "finding.reopened",
    ]


def test_the_history_lists_every_event_with_its_position(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    to_actions_done(service, people_store)
    english(client)
    sign_in(client, "mia")
    text = client.get("/findings/F-1").get_data(as_text=True)
    for name in (
        "Finding raised",
        "Containment recorded",
        "Actions planned",
        "Action done",
    ):
        assert name in text
    last = people_store.read_stream("finding/F-1")[-1]
    assert f'<td class="number">{last.seq}<br>' in text
    assert f'href="/ledger/proof/{last.seq}" download>Proof<' in text


def test_as_of_shows_the_earlier_state_without_forms(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    raise_finding(service, people_store)
    clock.advance(days=2)
    service.handle(f.ContainFinding(finding_id="F-1", action="stopped"), "dave")
    english(client)
    sign_in(client, "dave")
    page = client.get("/findings/F-1?as_of=2026-01-05")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "As known at" in text
    assert "Raised" in text
    assert "stopped" not in text
    assert "/findings/F-1/contain" not in text
    assert 'method="post"' not in text.split("</header>")[-1]


def test_the_owner_sees_their_open_actions_on_their_page(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "dave")
    service.handle(f.AnalyseCause(finding_id="F-1", cause="c", method="m"), "dave")
    service.handle(
        f.PlanActions(
            finding_id="F-1",
            actions=[
                f.ActionPlan(
                    action_id="A1",
                    description="train the clerks",
                    owner="dave",
                    due_on=date(2026, 2, 1),
                )
            ],
        ),
        "dave",
    )
    english(client)
    sign_in(client, "dave")
    text = client.get("/me").get_data(as_text=True)
    assert "Corrective actions you own" in text
    assert '<a href="/findings/F-1#action-A1">F-1</a>' in text
    assert "train the clerks" in text
    sign_in(client, "mia")
    assert "Corrective actions you own" not in client.get("/me").get_data(as_text=True)


def test_a_step_no_longer_open_says_why(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    english(client)
    sign_in(client, "dave")
    page = client.get("/findings/F-1")
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "mia")
    data = form_data(page, action="again")
    data["version"] = str(people_store.stream_version("finding/F-1"))
    before = people_store.size()
    refused = client.post("/findings/F-1/contain", data=data)
    assert refused.status_code == 422
    assert "the finding is contained" in refused.get_data(as_text=True)
    assert people_store.size() == before


def test_raising_twice_records_one_finding_and_the_register_escapes_text(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "carol")
    data = _raise_form(client)
    again = dict(data, evidence=(io.BytesIO(b"scan"), "scan.pdf"))
    first = client.post("/findings/new", data=data, content_type="multipart/form-data")
    second = client.post(
        "/findings/new", data=again, content_type="multipart/form-data"
    )
    assert first.status_code == 302
    assert second.status_code == 302
    assert events(people_store, "finding/F-9") == ["finding.raised"]
    text = client.get("/findings").get_data(as_text=True)
    assert XSS not in text
    assert "&lt;script&gt;" in text


def test_a_verification_on_a_changed_finding_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    to_actions_done(service, people_store)
    sign_in(client, "erin")
    page = client.get("/findings/F-1/verify")
    service.handle(
        f.ChangeDueDate(finding_id="F-1", due_on=date(2026, 5, 1), reason="later"),
        "mia",
    )
    before = people_store.size()
    sent = client.post(
        "/findings/F-1/verify",
        data=form_data(page, effective="no", comment="c", password=secret("erin")),
    )
    assert sent.status_code == 409
    assert people_store.size() == before


def test_the_unit_filter_takes_the_units_below(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1")
    raise_finding(service, people_store, "F-2", unit="B2")
    sign_in(client, "hank")
    text = client.get("/findings?unit=HQ&subtree=1").get_data(as_text=True)
    assert "F-1" in text
    assert "F-2" in text
    text = client.get("/findings?unit=B2").get_data(as_text=True)
    assert "F-2" in text
    assert "F-1" not in text
    assert "F-1" not in client.get("/findings?unit=HQ&subtree=0").get_data(as_text=True)


def test_unticking_the_units_below_in_the_filter_form_leaves_them_out(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1")
    sign_in(client, "hank")
    assert "F-1" not in client.get("/findings?filtered=1&unit=HQ").get_data(
        as_text=True
    )
    assert "F-1" in client.get("/findings?filtered=1&unit=HQ&subtree=1").get_data(
        as_text=True
    )


DIGEST = re.compile(r'<code class="digest">([0-9a-f]{64})</code>')


def test_the_signing_page_shows_the_digest_that_is_signed(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    to_actions_done(service, people_store)
    english(client)
    sign_in(client, "erin")
    page = client.get("/findings/F-1/verify")
    assert 'name="password"' not in page.get_data(as_text=True)  # the verdict first
    empty = client.post(
        "/findings/F-1/verify", data=form_data(page, stage="review", comment="")
    )
    assert empty.status_code == 422
    assert "Say what you checked" in empty.get_data(as_text=True)
    review = client.post(
        "/findings/F-1/verify",
        data=form_data(page, stage="review", effective="yes", comment="three months"),
    )
    text = review.get_data(as_text=True)
    assert review.status_code == 200
    assert 'name="password"' in text
    found = DIGEST.search(text)
    assert found is not None
    assert '<input type="hidden" name="comment" value="three months">' in text
    data = form_data(
        review, effective="yes", comment="three months", password=secret("erin")
    )
    assert client.post("/findings/F-1/verify", data=data).status_code == 302
    signed = people_store.read_stream("finding/F-1")[-1]
    assert signed.data["esig"]["subject_sha256"] == found.group(1)  # type: ignore[index]
    assert signed.data["comment"] == "three months"


@pytest.mark.parametrize(
    "step", ["contain", "analyse", "plan", "complete", "change_due", "close", "reopen"]
)
def test_a_step_without_its_token_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore, step: str
) -> None:
    raise_finding(service, people_store)
    sign_in(client, "mia")
    data = form_data(client.get("/findings/F-1"), action="x", reason="x")
    del data["csrf_token"]
    before = people_store.size()
    assert client.post(f"/findings/F-1/{step}", data=data).status_code == 400
    assert people_store.size() == before


@pytest.mark.parametrize(
    ("user", "step"),
    [("vic", "contain"), ("dave", "close"), ("zoe", "contain"), ("carol", "plan")],
)
def test_a_step_by_someone_without_the_role_is_forbidden(
    client: FlaskClient,
    service: Service,
    people_store: EventStore,
    user: str,
    step: str,
) -> None:
    raise_finding(service, people_store)
    sign_in(client, "mia")
    data = form_data(client.get("/findings/F-1"), action="x", reason="x")
    sign_in(client, user)
    data["csrf_token"] = csrf_token(client.get("/findings"))
    if client.get("/findings/F-1").status_code == 404:
        # another unit's finding is not there at all
        assert client.post(f"/findings/F-1/{step}", data=data).status_code == 404
        return
    before = people_store.size()
    assert client.post(f"/findings/F-1/{step}", data=data).status_code == 403
    assert people_store.size() == before


def test_a_reader_of_one_unit_counts_and_pages_only_its_findings(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1")
    for i in range(30):
        raise_finding(service, people_store, f"G-{i:02d}", unit="B2")
    english(client)
    sign_in(client, "vic")
    text = client.get("/findings").get_data(as_text=True)
    assert "1 finding ·" in text
    assert "F-1" in text
    assert "Next page" not in text


def test_the_evidence_of_a_finding_downloads_for_its_readers_only(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    digest = people_store.put_blob(b"photo")
    sign_in(client, "vic")
    page = client.get("/findings/F-1").get_data(as_text=True)
    assert f"/findings/F-1/evidence/{digest}" in page
    got = client.get(f"/findings/F-1/evidence/{digest}")
    assert got.status_code == 200
    assert got.data == b"photo"
    assert "attachment" in got.headers["Content-Disposition"]
    assert client.get(f"/findings/F-1/evidence/{'0' * 64}").status_code == 404
    sign_in(client, "zoe")
    assert client.get(f"/findings/F-1/evidence/{digest}").status_code == 404
