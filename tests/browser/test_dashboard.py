"""The dashboard, indicators, management reviews and status report in a real browser,
signed in as the demo's headquarters manager, in Chinese: no error, no CSP violation,
no WCAG 2.1 A/AA violation; screenshots of each page."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, PageLog, Shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

MANAGER = "hq.manager"


def _open(page: Page, path: str, axe_check: AxeCheck, shot: Shot, name: str) -> None:
    response = page.goto(path)
    assert response is not None, path
    assert response.status == 200, f"{path}: {response.status}"
    axe_check(page)
    shot(name, of=page)


def test_dashboard_indicators_reviews_report(
    page_in: PageFactory,
    live_server: LiveServer,
    page_log: PageLog,
    shot: Shot,
    axe_check: AxeCheck,
) -> None:
    page = page_in("zh-CN")
    page.goto("/login")
    page.fill("#user_id", MANAGER)
    page.fill("#password", live_server.password(MANAGER))
    page.click("button[type=submit]")
    page.wait_for_url("**/me")
    _open(page, "/", axe_check, shot, "dashboard")  # the start page
    assert page.url.endswith("/dashboard")
    assert page.locator("svg.trend-chart").count() >= 1
    assert page.locator("table.trend-table").count() >= 1

    _open(page, "/indicators", axe_check, shot, "indicators")
    first = page.locator("table.table tbody a").first.get_attribute("href")
    assert first
    _open(page, first, axe_check, shot, "indicator")
    assert page.locator("svg.trend-chart").count() == 1
    _open(page, "/indicators/new", axe_check, shot, "indicator-new")
    page.click(
        "main form[method=post] button[type=submit]"
    )  # nothing filled in: the error summary
    assert page.locator(".error-summary").count() == 1
    axe_check(page)
    shot("indicator-new-errors", of=page)

    _open(page, "/reviews", axe_check, shot, "reviews")
    review = page.locator("table.table tbody a").first.get_attribute("href")
    assert review
    _open(page, review, axe_check, shot, "review")
    _open(page, "/reports/status", axe_check, shot, "status-report")
    assert len(page.inner_text("#report-sha256")) == 64
    _open(page, "/reviews/new", axe_check, shot, "review-new")
    earlier = live_server.demo.last_day - timedelta(days=60)
    _open(page, f"/dashboard?as_of={earlier}", axe_check, shot, "dashboard-as-of")
    assert page.locator(".banner-as-of").count() == 1
    assert page_log.csp_violations == []
    assert page_log.errors == []
