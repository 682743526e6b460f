"""A form that records a command: one event per form however often it is sent, a stale
version refused with what changed, rule messages beside the fields, roles enforced."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask, redirect, render_template_string
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wtforms import StringField

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
from web.commands import CommandForm, conflict_page, record

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

STREAM = "document/QP-07"
PAGE = """{% from "macros.html" import error_summary, field %}
<form method="post">{{ form.csrf_token }}{{ form.command_id }}{{ form.version }}
{{ error_summary(form, general) }}{{ field(form.outcome) }}{{ field(form.comment) }}</form>"""
HIDDEN = re.compile(r'name="(command_id|version)" type="hidden" value="([^"]*)"')


class ReviewForm(CommandForm):
    outcome = StringField("Outcome")
    comment = StringField("Comment")


def _review() -> ResponseReturnValue:
    from web.wiring import current_wiring

    store = current_wiring().store
    form = ReviewForm()
    if form.validate_on_submit():
        outcome = record(
            form,
            d.ReviewDocument(
                doc_id="QP-07",
                outcome=str(form.outcome.data),
                comment=str(form.comment.data or ""),
            ),
            current_user.user_id,
        )
        if outcome.ok:
            return redirect("/me")
        if outcome.conflict:
            return conflict_page(STREAM, form.seen_version, "/trial/review")
        return render_template_string(PAGE, form=form, general=outcome.general), 422
    form.stamp(store.stream_version(STREAM))
    return render_template_string(PAGE, form=form, general=[])


@pytest.fixture
def service(people_store: EventStore, clock: FixedClock) -> Service:
    svc = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    svc.handle(draft(people_store, "QP-07"), "alice")
    svc.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    return svc


@pytest.fixture
def trial(web_app: Flask, service: Service) -> Flask:
    bp = Blueprint("trial", __name__)
    bp.add_url_rule("/trial/review", "review", _review, methods=["GET", "POST"])
    web_app.register_blueprint(bp)
    return web_app


def _form(client: FlaskClient, **values: str) -> dict[str, str]:
    page = client.get("/trial/review")
    assert page.status_code == 200
    hidden = dict(HIDDEN.findall(page.get_data(as_text=True)))
    return {"csrf_token": csrf_token(page), **hidden, **values}


def test_sending_the_form_twice_records_one_review(
    trial: Flask, client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "bob")
    data = _form(client, outcome="endorsed")
    before = people_store.size()
    first = client.post("/trial/review", data=data)
    assert first.status_code == 302
    assert people_store.size() == before + 1
    again = client.post(
        "/trial/review", data=data
    )  # a double click, a reload after POST
    assert again.status_code == 302
    assert people_store.size() == before + 1


def test_a_change_meanwhile_is_refused_and_shown(
    trial: Flask, client: FlaskClient, people_store: EventStore, service: Service
) -> None:
    sign_in(client, "bob")
    data = _form(client, outcome="endorsed")
    service.handle(
        d.ReviewDocument(
            doc_id="QP-07", outcome="changes_requested", comment="see 4.2"
        ),
        "bob",
    )
    before = people_store.size()
    page = client.post("/trial/review", data=data)
    assert page.status_code == 409
    assert people_store.size() == before
    text = page.get_data(as_text=True)
    # Who changed what meanwhile, in words: the event, the field and its states.
    assert "Bob" in text
    assert "审核" in text
    assert "第A版 · 状态: 已提交审核 → 草稿" in text
    assert "see 4.2" in text
    for raw in ("document.reviewed", "revisions.A.status", "submitted →", "payload."):
        assert raw not in text


def test_the_change_meanwhile_reads_in_english(
    trial: Flask, client: FlaskClient, people_store: EventStore, service: Service
) -> None:
    sign_in(client, "bob")
    client.get("/language?lang=en&next=/me")
    data = _form(client, outcome="endorsed")
    service.handle(
        d.ReviewDocument(doc_id="QP-07", outcome="changes_requested", comment="x"),
        "bob",
    )
    page = client.post("/trial/review", data=data)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert "Reviewed" in text
    assert "Revision A · Status: Submitted for review → Draft" in text
    assert "revisions.A.status" not in text
    assert "document.reviewed" not in text


def test_a_broken_rule_is_shown_beside_its_field_and_nothing_is_stored(
    trial: Flask, client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "bob")
    before = people_store.size()
    page = client.post("/trial/review", data=_form(client, outcome="maybe"))
    assert page.status_code == 422
    assert people_store.size() == before
    text = page.get_data(as_text=True)
    assert 'id="outcome-error"' in text
    assert 'href="#outcome"' in text


def test_a_person_without_the_role_gets_403_and_nothing_is_stored(
    trial: Flask, client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "vic")  # a viewer
    before = people_store.size()
    page = client.post("/trial/review", data=_form(client, outcome="endorsed"))
    assert page.status_code == 403
    assert people_store.size() == before
    assert "vic 无权执行此操作：需要以下角色之一：批准人" in page.get_data(as_text=True)
    client.set_cookie("qms_lang", "en")
    page = client.post("/trial/review", data=_form(client, outcome="endorsed"))
    assert page.status_code == 403
    assert "vic may not ReviewDocument for unit B1: needs role Approver" in (
        page.get_data(as_text=True)
    )


def test_a_form_without_its_command_id_is_refused(
    trial: Flask, client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "bob")
    data = _form(client, outcome="endorsed")
    data["command_id"] = "not-an-id"
    before = people_store.size()
    page = client.post("/trial/review", data=data)
    assert page.status_code == 200  # shown again, the form's own check failed
    assert people_store.size() == before
