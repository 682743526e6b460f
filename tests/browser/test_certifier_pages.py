"""The certifier's partial export in a real browser, in Chinese: the form, its errors
and the download; no WCAG 2.1 A/AA violation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, PageLog, Shot
from tests.browser.test_admin_pages import _sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _open(page: Page, path: str, axe_check: AxeCheck, shot: Shot, name: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, path
    axe_check(page)
    shot(name, of=page)


def test_the_partial_export_form_reads_well_and_downloads(
    page_in: PageFactory,
    live_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    page = page_in("zh-CN")
    _sign_in(page, live_server)
    _open(page, "/certifier/partial", axe_check, shot, "partial")
    assert "单位的部分导出" in page.inner_text("h1")
    page.fill("#from", "2026-06-01")
    page.fill("#to", "2026-05-31")
    page.click("main form[method=get] button[type=submit]")
    page.wait_for_load_state()
    assert "有问题需要处理" in page.inner_text("main")
    assert "最后一天不能早于第一天" in page.inner_text(".error-summary")
    axe_check(page)
    shot("partial-errors", of=page)
    page.fill("#to", "2026-12-31")
    with page.expect_download() as download:
        page.click("main form[method=get] button[type=submit]")
    name = download.value.suggested_filename
    assert name.startswith("partial-")
    assert name.endswith("-2026-06-01-2026-12-31.zip")
    _open(page, "/certifier/guide", axe_check, shot, "guide")
    assert page.locator("#partial-export").count() == 1
