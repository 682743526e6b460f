"""The audits and findings pages in Chinese in a real browser: no WCAG 2.1 A/AA
violation, no CSP violation, and screenshots to look at."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import AxeCheck, LiveServer, PageLog, Shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

AUDITOR = "hq.auditor1"


def _sign_in(page: Page, live_server: LiveServer, user_id: str) -> None:
    page.goto("/login")
    page.fill("#user_id", user_id)
    page.fill("#password", live_server.password(user_id))
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _open(page: Page, path: str, axe_check: AxeCheck, shot: Shot, name: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, path
    axe_check(page)
    shot(name)


def test_the_audits_and_findings_pages_in_chinese(
    page: Page,
    live_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    _sign_in(page, live_server, AUDITOR)
    _open(page, "/findings", axe_check, shot, "findings-register")
    assert "审核发现" in page.inner_text("h1")
    first = page.locator("table tbody a").first.get_attribute("href")
    assert first is not None
    _open(page, first, axe_check, shot, "finding")
    assert "历史记录" in page.inner_text("main")
    _open(page, "/findings?open=1&sort=due_on", axe_check, shot, "findings-open")
    _open(page, "/findings/new", axe_check, shot, "finding-new")
    page.click("button.button[type=submit]")
    page.wait_for_load_state()
    assert "有问题需要处理" in page.inner_text("main")
    axe_check(page)
    shot("finding-new-errors")
    _open(page, "/audits", axe_check, shot, "audits-register")
    first = page.locator("table tbody a").first.get_attribute("href")
    assert first is not None
    _open(page, first, axe_check, shot, "audit")
    _open(page, "/audits?as_of=2025-01-01", axe_check, shot, "audits-as-of")
    _open(page, "/audits/new", axe_check, shot, "audit-new")
    _open(page, "/me", axe_check, shot, "me")
    assert page_log.errors == []
