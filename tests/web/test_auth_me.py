"""The person's own page: who they are, and the open-task sections other areas add."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import Markup

from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from web.auth import SignedIn
from web.views.me import add_task_section

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]


def test_the_own_page_shows_no_task_section_while_no_area_adds_one(
    client: FlaskClient,
) -> None:
    sign_in(client, "mia")
    page = client.get("/me").get_data(as_text=True)
    assert "我的待办事项" not in page
    assert "管理者 · B1" in page


def test_an_area_adds_its_open_tasks_for_the_person(
    web_app: Flask, client: FlaskClient
) -> None:
    def reviews(person: SignedIn) -> str | None:
        if person.user_id != "bob":
            return None
        return Markup("<p>QP-07 {}</p>").format(person.name)

    add_task_section(web_app, reviews)
    sign_in(client, "bob")
    page = client.get("/me").get_data(as_text=True)
    assert '<h2 id="tasks-title">我的待办事项</h2>' in page
    assert "<p>QP-07 Bob</p>" in page
    other = web_app.test_client()
    sign_in(other, "alice")
    assert "我的待办事项" not in other.get("/me").get_data(as_text=True)
