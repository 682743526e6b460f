"""The controlled documents pages in a real browser, in Chinese: register, document, draft form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.browser.conftest import AxeCheck, LiveServer, PageLog, Shot
from tests.support.service import draft
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _sign_in(page: Page, live_server: LiveServer, user_id: str) -> None:
    page.goto("/login")
    page.fill("#user_id", user_id)
    page.fill("#password", live_server.password(user_id))
    page.click("main button[type=submit]")
    page.wait_for_url("**/me")


def test_the_documents_pages_read_well_and_pass_axe(
    page: Page,
    live_server: LiveServer,
    page_log: PageLog,
    shot: Shot,
    axe_check: AxeCheck,
) -> None:
    _sign_in(page, live_server, "hq.author")
    response = page.goto("/documents")
    assert response is not None
    assert response.status == 200
    assert page.locator("h1").inner_text() == "受控文件"
    axe_check(page)
    shot("register")
    first = page.locator("table.doc-table tbody a").first
    href = first.get_attribute("href")
    assert href
    assert re.fullmatch(r"/documents/[A-Z0-9-]+", href)
    page.goto(href)
    assert page.locator("h2", has_text="历史记录").count() == 1
    axe_check(page)
    shot("document")
    page.goto("/documents/new")
    axe_check(page)
    shot("new")
    page.click("main button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    axe_check(page)
    shot("new-errors")
    page.click("form.logout button")
    _sign_in(page, live_server, "bj.approver")
    page.goto("/documents/BJ-FM-01")
    withdraw = page.locator("a[href='/documents/BJ-FM-01/withdraw']")
    assert withdraw.count() == 1
    withdraw.click()
    axe_check(page)
    shot("withdraw")
    page.click("main form button[type=submit]")
    assert page.locator("#reason-error").count() == 1
    axe_check(page)
    shot("withdraw-errors")
    assert page_log.csp_violations == []
    assert page_log.errors == []


def test_the_signing_page_reads_well_and_passes_axe(
    page: Page,
    live_server: LiveServer,
    page_log: PageLog,
    shot: Shot,
    axe_check: AxeCheck,
    client: FlaskClient,
    people_store: EventStore,
    clock: FixedClock,
) -> None:
    # The signing page of an endorsed revision on the people's ledger, shown in the
    # browser with the application's own stylesheet (the demo ledger stays as it is).
    service = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    service.handle(draft(people_store, "QP-07"), "alice")
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    service.handle(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    sign_in(client, "bob")
    html = client.get("/documents/QP-07/approve").get_data(as_text=True)
    page.route(
        f"{live_server.url}/signing-preview",
        lambda route: route.fulfill(
            status=200, content_type="text/html; charset=utf-8", body=html
        ),
    )
    page.goto("/signing-preview")
    assert "电子签名：批准 QP-07 第A版" in page.locator("h1").inner_text()
    assert page.locator("#password").count() == 1
    axe_check(page)
    shot("signing")
    assert page_log.csp_violations == []
