"""The controlled documents pages: the register, the document page and its actions."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.service import draft
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

STREAM = "document/QP-07"
HIDDEN = re.compile(r'name="(command_id|version)" type="hidden" value="([^"]*)"')
XSS = "<script>alert(1)</script>"


@pytest.fixture
def service(people_store: EventStore, clock: FixedClock) -> Service:
    return Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )


def form_of(page: TestResponse, **data: object) -> dict[str, object]:
    """The hidden fields of the page's form with `data` filled in."""
    found = dict(HIDDEN.findall(page.get_data(as_text=True)))
    return {"csrf_token": csrf_token(page), **found, **data}


def text(page: TestResponse) -> str:
    return page.get_data(as_text=True)


def types(store: EventStore, stream: str = STREAM) -> list[str]:
    return [e.type for e in store.read_stream(stream)]


def submitted(service: Service) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")


def endorsed(service: Service) -> None:
    submitted(service)
    service.handle(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")


def effective(service: Service, clock: FixedClock) -> None:
    endorsed(service)
    service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password="bob-own-secret")
    service.handle(
        d.MakeDocumentEffective(doc_id="QP-07", effective_on=clock.now().date()), "bob"
    )


# --- drafting -----------------------------------------------------------------------


def _new(client: FlaskClient, **data: object) -> TestResponse:
    page = client.get("/documents/new")
    values: dict[str, object] = {
        "doc_id": "QP-09",
        "unit": "B1",
        "title": "Control of records",
        "kind": "procedure",
        "review_interval_months": "12",
        "retention_years": "10",
        "file": (io.BytesIO(b"%PDF-1.4 rev A"), "qp-09.pdf", "application/pdf"),
    }
    values.update(data)
    return client.post(
        "/documents/new",
        data=form_of(page, **values),
        content_type="multipart/form-data",
    )


def test_an_author_drafts_a_new_document_with_its_file(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "alice")
    response = _new(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/documents/QP-09")
    assert types(people_store, "document/QP-09") == ["document.drafted"]
    event = people_store.read_stream("document/QP-09")[0]
    content = event.data["content"]
    assert isinstance(content, dict)
    assert people_store.get_blob(str(content["blob"])) == b"%PDF-1.4 rev A"
    page = text(client.get("/documents/QP-09"))
    assert "版本草稿已保存。" in page
    assert "qp-09.pdf" in page
    file = client.get("/documents/QP-09/revisions/A/file")
    assert file.data == b"%PDF-1.4 rev A"


def test_a_draft_without_a_file_or_number_is_refused_beside_the_fields(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "alice")
    response = _new(client, doc_id="", file=(io.BytesIO(b""), ""))
    assert response.status_code == 422
    page = text(response)
    assert "有问题需要处理" in page
    assert 'id="doc_id-error"' in page
    assert 'id="file-error"' in page
    assert "请选择文件附件" in page
    assert types(people_store, "document/QP-09") == []


def test_a_file_over_the_limit_is_refused(
    web_app: Flask, client: FlaskClient, people_store: EventStore
) -> None:
    web_app.config["QMS_DOCUMENT_MAX_BYTES"] = 1024
    sign_in(client, "alice")
    big = io.BytesIO(b"x" * 1025)
    response = _new(client, file=(big, "big.pdf", "application/pdf"))
    assert response.status_code == 422
    assert "1 KB" in text(response)
    assert 'id="file-error"' in text(response)
    assert types(people_store, "document/QP-09") == []


def test_a_draft_without_csrf_token_is_refused(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "alice")
    page = client.get("/documents/new")
    data = form_of(page, doc_id="QP-09", unit="B1", title="T", kind="procedure")
    del data["csrf_token"]
    assert client.post("/documents/new", data=data).status_code == 400
    assert types(people_store, "document/QP-09") == []


def test_only_authors_draft(client: FlaskClient) -> None:
    sign_in(client, "bob")
    assert client.get("/documents/new").status_code == 403


def test_a_double_submit_drafts_once(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "alice")
    page = client.get("/documents/new")
    for _ in range(2):
        values = form_of(
            page,
            doc_id="QP-09",
            unit="B1",
            title="Control",
            kind="procedure",
            review_interval_months="12",
            retention_years="10",
            file=(io.BytesIO(b"same"), "a.pdf", "application/pdf"),
        )
        response = client.post(
            "/documents/new", data=values, content_type="multipart/form-data"
        )
        assert response.status_code == 302
    assert types(people_store, "document/QP-09") == ["document.drafted"]


def test_a_title_with_markup_is_shown_as_text(client: FlaskClient) -> None:
    sign_in(client, "alice")
    assert _new(client, title=XSS).status_code == 302
    for path in (
        "/documents/QP-09",
        "/documents",
        "/documents?q=script",
        "/documents/QP-09/update",
        "/documents/new?doc_id=QP-09",
    ):
        page = text(client.get(path))
        assert XSS not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- the document page and its actions ----------------------------------------------


def _act(
    client: FlaskClient, name: str, doc_id: str = "QP-07", **data: object
) -> TestResponse:
    page = client.get(f"/documents/{doc_id}/{name}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/documents/{doc_id}/{name}", data=form_of(page, **data))


def test_the_page_offers_an_author_only_the_steps_of_a_draft(
    client: FlaskClient, service: Service
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    sign_in(client, "alice")
    page = text(client.get("/documents/QP-07"))
    assert "/documents/QP-07/update" in page
    assert "提交审核" in page
    assert "/documents/QP-07/approve" not in page
    sign_in(client, "bob")
    page = text(client.get("/documents/QP-07"))
    assert "/documents/QP-07/update" not in page
    assert "提交审核" not in page


def test_the_author_submits_from_the_page(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    sign_in(client, "alice")
    page = client.get("/documents/QP-07")
    response = client.post("/documents/QP-07/submit", data=form_of(page))
    assert response.status_code == 302
    assert types(people_store)[-1] == "document.submitted"
    assert "已提交审核" in text(client.get("/documents/QP-07"))


def test_the_author_changes_the_draft_title_and_file(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    sign_in(client, "alice")
    page = client.get("/documents/QP-07/update")
    response = client.post(
        "/documents/QP-07/update",
        data=form_of(
            page,
            title="Records, revised",
            file=(io.BytesIO(b"rev A, second draft"), "b.pdf", "application/pdf"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert types(people_store)[-1] == "document.draft_updated"
    shown = text(client.get("/documents/QP-07"))
    assert "Records, revised" in shown
    assert "b.pdf" in shown


def test_a_review_asking_for_changes_needs_a_comment(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    submitted(service)
    sign_in(client, "bob")
    before = types(people_store)
    response = _act(client, "review", outcome="changes_requested", comment="")
    assert response.status_code == 422
    page = text(response)
    assert "有问题需要处理" in page
    assert 'id="comment-error"' in page
    assert types(people_store) == before


def test_the_approver_reviews_and_the_comment_is_escaped(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    submitted(service)
    sign_in(client, "bob")
    response = _act(client, "review", outcome="changes_requested", comment=XSS)
    assert response.status_code == 302
    assert types(people_store)[-1] == "document.reviewed"
    page = text(client.get("/documents/QP-07"))
    assert "您的审核意见已记录" in page
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_review_without_the_approver_role_is_forbidden(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    submitted(service)
    sign_in(client, "alice")
    assert client.get("/documents/QP-07/review").status_code == 403
    page = client.get("/documents/QP-07")
    data = form_of(page, command_id=uuid.uuid4().hex, version="2", outcome="endorsed")
    response = client.post("/documents/QP-07/review", data=data)
    assert response.status_code == 403
    assert types(people_store)[-1] == "document.submitted"


def test_another_units_document_is_not_there_for_its_author(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    sign_in(client, "zoe")
    page = client.get("/documents/new")
    assert client.get("/documents/QP-07").status_code == 404
    assert client.get("/documents/QP-07/update").status_code == 404
    assert client.get("/documents/QP-07/revisions/A/file").status_code == 404
    response = client.post(
        "/documents/QP-07/update",
        data=form_of(page, command_id=uuid.uuid4().hex, version="1", title="Taken"),
    )
    assert response.status_code == 404
    assert types(people_store) == ["document.drafted"]


def test_a_reader_of_the_unit_who_may_not_act_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    sign_in(client, "vic")
    assert "/documents/QP-07/update" not in text(client.get("/documents/QP-07"))
    assert client.get("/documents/QP-07/update").status_code == 403


def test_an_unknown_document_is_not_found(client: FlaskClient) -> None:
    sign_in(client, "alice")
    assert client.get("/documents/NOPE-1").status_code == 404
    assert client.get("/documents/NOPE-1/withdraw").status_code == 404


def test_a_review_is_recorded_once_when_sent_twice(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    submitted(service)
    sign_in(client, "bob")
    page = client.get("/documents/QP-07/review")
    data = form_of(page, outcome="endorsed")
    assert client.post("/documents/QP-07/review", data=data).status_code == 302
    assert client.post("/documents/QP-07/review", data=data).status_code == 302
    assert types(people_store).count("document.reviewed") == 1


def test_a_stale_form_shows_the_conflict_and_stores_nothing(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    effective(service, clock)
    sign_in(client, "bob")
    page = client.get("/documents/QP-07/withdraw")
    service.handle(
        d.ChangeRetention(doc_id="QP-07", retention_years=15, reason="law"), "bob"
    )
    before = types(people_store)
    response = client.post(
        "/documents/QP-07/withdraw", data=form_of(page, reason="obsolete")
    )
    assert response.status_code == 409
    assert types(people_store) == before


def test_the_approval_is_a_signing_page_with_what_is_signed(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    endorsed(service)
    sign_in(client, "bob")
    page = client.get("/documents/QP-07/approve")
    shown = text(page)
    digest = people_store.read_stream(STREAM)[0].data["content"]
    assert isinstance(digest, dict)
    assert str(digest["blob"]) in shown
    assert "电子签名" in shown
    assert "Bob" in shown
    wrong = client.post(
        "/documents/QP-07/approve", data=form_of(page, password="wrong-password")
    )
    assert wrong.status_code == 422
    assert 'id="password-error"' in text(wrong)
    assert types(people_store)[-1] == "document.reviewed"
    right = client.post(
        "/documents/QP-07/approve", data=form_of(page, password="bob-own-secret")
    )
    assert right.status_code == 302
    assert types(people_store)[-1] == "document.approved"
    after = text(client.get("/documents/QP-07"))
    assert "已批准并签名" in after
    assert "approved" in after  # the signature's meaning in the history


def test_the_author_may_not_open_the_signing_page(
    client: FlaskClient, service: Service
) -> None:
    endorsed(service)
    sign_in(client, "alice")
    assert client.get("/documents/QP-07/approve").status_code == 403


def test_the_approver_makes_effective_distributes_and_withdraws(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    endorsed(service)
    service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password="bob-own-secret")
    sign_in(client, "bob")
    assert _act(client, "make_effective", effective_on="").status_code == 422
    assert _act(client, "make_effective", effective_on="2026-02-01").status_code == 302
    assert types(people_store)[-1] == "document.became_effective"
    assert _act(client, "distribute", units="B1, B2").status_code == 302
    assert types(people_store)[-1] == "document.distributed"
    assert (
        _act(
            client, "periodic_review", reviewed_on="2026-03-01", comment="ok"
        ).status_code
        == 302
    )
    assert types(people_store)[-1] == "document.review_completed"
    assert (
        _act(client, "retention", retention_years="10", reason="x").status_code == 422
    )
    assert (
        _act(client, "retention", retention_years="20", reason="law").status_code == 302
    )
    assert types(people_store)[-1] == "document.retention_changed"
    missing = _act(client, "withdraw", reason="")
    assert missing.status_code == 422
    assert "请填写撤回原因" in text(missing)
    assert _act(client, "withdraw", reason=XSS).status_code == 302
    assert types(people_store)[-1] == "document.withdrawn"
    page = text(client.get("/documents/QP-07"))
    assert XSS not in page
    assert "已撤回" in page


def test_the_document_page_as_it_stood_shows_no_forms(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    service.handle(draft(service.store, "QP-07", text="first"), "alice")
    clock.advance(days=1)
    service.handle(d.UpdateDocumentDraft(doc_id="QP-07", title="Later title"), "alice")
    sign_in(client, "alice")
    now = text(client.get("/documents/QP-07"))
    assert "Later title" in now
    assert "/documents/QP-07/update" in now
    past = client.get("/documents/QP-07?as_of=2026-01-05")
    shown = text(past)
    assert past.status_code == 200
    assert "Later title" not in shown
    assert "/documents/QP-07/update" not in shown
    assert "banner-as-of" in shown


def test_an_action_page_as_it_stood_shows_the_document_then_and_no_form(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    service.handle(draft(service.store, "QP-07", text="first"), "alice")
    clock.advance(days=1)
    service.handle(d.UpdateDocumentDraft(doc_id="QP-07", title="Later title"), "alice")
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    sign_in(client, "bob")
    form_tag = 'action="/documents/QP-07/review"'
    assert form_tag in text(client.get("/documents/QP-07/review"))
    past = client.get("/documents/QP-07/review?as_of=2026-01-05")
    shown = text(past)
    assert past.status_code == 200
    assert "banner-as-of" in shown
    assert "Control of records" in shown
    assert "Later title" not in shown
    assert "草稿" in shown  # the revision was a draft then
    assert form_tag not in shown
    assert "/documents/QP-07?as_of=2026-01-05" in shown
    wrong = client.get("/documents/QP-07/review?as_of=yesterday")
    assert wrong.status_code == 400
    assert form_tag not in text(wrong)
    assert 'id="as_of-error"' in text(wrong)
    before = people_store.size()
    page = client.get("/documents/QP-07/review")
    sent = client.post(
        "/documents/QP-07/review?as_of=2026-01-05",
        data=form_of(page, outcome="endorsed", comment="fine"),
    )
    assert sent.status_code == 400
    assert people_store.size() == before
    assert client.get("/documents/QP-07/review?as_of=2026-01-01").status_code == 404
    file_then = client.get("/documents/QP-07/revisions/A/file?as_of=2026-01-05")
    assert file_then.get_data() == b"first"


def test_the_open_tasks_list_revisions_waiting_for_the_approver(
    client: FlaskClient, service: Service
) -> None:
    submitted(service)
    sign_in(client, "bob")
    page = text(client.get("/me"))
    assert "等待您处理的文件" in page
    assert "/documents/QP-07" in page
    sign_in(client, "alice")
    assert "等待您处理的文件" not in text(client.get("/me"))


# --- the register -------------------------------------------------------------------


@pytest.fixture
def register(service: Service) -> Service:
    """QP-01..QP-07 in B1 (QP-07 submitted) and WI-20 in B2."""
    for n in range(1, 8):
        doc = draft(service.store, f"QP-0{n}", text=f"text {n}")
        service.handle(
            d.DraftDocument(
                doc_id=doc.doc_id,
                unit="B1",
                title=f"Procedure {8 - n}",
                kind="procedure",
                content=doc.content,
            ),
            "alice",
        )
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    b2 = draft(service.store, "WI-20", text="b2")
    service.handle(
        d.DraftDocument(
            doc_id="WI-20",
            unit="B2",
            title="Sampling instruction",
            kind="instruction",
            content=b2.content,
        ),
        "zoe",
    )
    return service


def _ids(page: TestResponse) -> list[str]:
    return re.findall(r'<td><a href="/documents/([A-Z0-9-]+)', text(page))


def test_the_register_filters_by_unit_status_and_words(
    client: FlaskClient, register: Service
) -> None:
    sign_in(client, "root")
    assert len(_ids(client.get("/documents"))) == 8
    assert _ids(client.get("/documents?unit=B2")) == ["WI-20"]
    assert _ids(client.get("/documents?status=submitted")) == ["QP-07"]
    assert _ids(client.get("/documents?q=sampling")) == ["WI-20"]
    assert "共 8 份文件" in text(client.get("/documents"))


def test_the_register_and_its_export_hold_only_the_readers_units(
    client: FlaskClient, register: Service
) -> None:
    sign_in(client, "vic")
    assert len(_ids(client.get("/documents"))) == 7
    assert "WI-20" not in text(client.get("/documents?format=csv"))
    assert _ids(client.get("/documents?unit=B2")) == []
    sign_in(client, "zoe")
    assert _ids(client.get("/documents")) == ["WI-20"]
    assert "QP-01" not in text(client.get("/documents?format=csv"))
    sign_in(client, "hank")  # a manager of headquarters: the bureaus below too
    assert len(_ids(client.get("/documents"))) == 8


def test_the_register_sorts_and_pages(
    client: FlaskClient, register: Service, web_app: Flask
) -> None:
    sign_in(client, "root")
    by_title = _ids(client.get("/documents?sort=title&unit=B1"))
    assert by_title[0] == "QP-07"  # "Procedure 1"
    assert _ids(client.get("/documents?sort=id&desc=1"))[0] == "WI-20"
    bad = client.get("/documents?sort=colour")
    assert bad.status_code == 400
    assert "请按表格中的某一列排序" in text(bad)
    import web.views.documents as views

    old = views.PER_PAGE
    views.PER_PAGE = 3
    try:
        first = client.get("/documents?sort=id")
        third = client.get("/documents?sort=id&page=3")
    finally:
        views.PER_PAGE = old
    assert _ids(first) == ["QP-01", "QP-02", "QP-03"]
    assert _ids(third) == ["QP-07", "WI-20"]
    assert "第 3 页，共 3 页" in text(third)


def test_the_csv_holds_what_is_shown(client: FlaskClient, register: Service) -> None:
    sign_in(client, "vic")
    response = client.get("/documents?format=csv&unit=B1&status=drafted&sort=id")
    assert response.mimetype == "text/csv"
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    )
    assert rows[0][0] == "编号"
    assert [r[0] for r in rows[1:]] == [f"QP-0{n}" for n in range(1, 7)]


def test_the_register_as_it_stood_has_no_draft_button(
    client: FlaskClient, register: Service
) -> None:
    sign_in(client, "alice")
    assert "/documents/new" in text(client.get("/documents"))
    past = client.get("/documents?as_of=2026-01-04")
    assert past.status_code == 200
    assert "/documents/new" not in text(past)
    assert _ids(past) == []


def test_an_overdue_periodic_review_carries_the_word(
    client: FlaskClient, service: Service, clock: FixedClock
) -> None:
    effective(service, clock)
    sign_in(client, "vic")
    assert "逾期" not in text(client.get("/documents"))
    clock.advance(days=400)
    sign_in(client, "vic")
    assert "逾期" in text(client.get("/documents"))


def test_the_history_shows_the_file_and_the_signature_in_words(
    client: FlaskClient, service: Service, clock: FixedClock
) -> None:
    effective(service, clock)
    sign_in(client, "vic")
    page = text(client.get("/documents/QP-07"))
    assert "doc.pdf (" in page
    assert "{&#39;blob&#39;" not in page
    assert "Bob · 批准" in page
    # Field names and states in words, never the record's paths or codes.
    assert "第A版 · 状态：" in page or "第A版 · 状态:" in page
    assert "revisions.A.status" not in page
    assert "已提交审核 → " in page or "已提交审核 →" in page


def test_the_register_and_signing_page_read_in_english(
    client: FlaskClient, register: Service
) -> None:
    register.handle(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    sign_in(client, "bob")
    client.get("/language?lang=en&next=/documents")
    page = text(client.get("/documents?unit=HQ"))
    assert "Controlled documents" in page
    assert "7 documents" in page  # B1's: B2's instruction is not bob's to read
    signing = text(client.get("/documents/QP-07/approve"))
    assert "Electronic signature: approve QP-07 revision A" in signing
    assert "Approval" in signing


def test_an_author_drafts_the_next_revision_of_an_effective_document(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    effective(service, clock)
    sign_in(client, "alice")
    assert "/documents/new?doc_id=QP-07" in text(client.get("/documents/QP-07"))
    page = client.get("/documents/new?doc_id=QP-07")
    assert "起草 QP-07 的新版本" in text(page)
    response = client.post(
        "/documents/new?doc_id=QP-07",
        data=form_of(
            page,
            doc_id="QP-07",
            unit="B1",
            title="Control of records",
            kind="procedure",
            review_interval_months="12",
            retention_years="10",
            file=(io.BytesIO(b"rev B"), "b.pdf", "application/pdf"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    drafted = people_store.read_stream(STREAM)[-1]
    assert drafted.type == "document.drafted"
    assert drafted.data["revision"] == "B"


def test_a_draft_change_that_changes_nothing_is_refused(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    service.handle(draft(service.store, "QP-07"), "alice")
    sign_in(client, "alice")
    response = _act(client, "update", title="Control of records")
    assert response.status_code == 422
    assert 'id="title-error"' in text(response)
    assert types(people_store) == ["document.drafted"]
