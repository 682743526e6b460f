"""The controlled documents pages in a real browser, in Chinese: register, document, draft form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.browser.conftest import AxeCheck, LiveServer, PageLog, Shot

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
