"""Administration in a real browser, in Chinese: the unit tree, a unit, the people, a
person, their sign-offs and a form with its errors; no WCAG 2.1 A/AA violation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, PageLog, Shot
from web.demo.story import ADMIN_ID

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _sign_in(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    page.fill("#user_id", ADMIN_ID)
    page.fill("#password", live_server.password(ADMIN_ID))
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def _open(page: Page, path: str, axe_check: AxeCheck, shot: Shot, name: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, path
    axe_check(page)
    shot(name, of=page)


def test_administration_pages_read_well_and_pass_axe(
    page_in: PageFactory,
    live_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    page = page_in("zh-CN")
    _sign_in(page, live_server)
    _open(page, "/admin/units", axe_check, shot, "units")
    assert "单位" in page.inner_text("h1")
    first_unit = page.locator(".unit-tree a").first.get_attribute("href")
    assert first_unit
    _open(page, first_unit, axe_check, shot, "unit")
    assert "历史记录" in page.inner_text("main")
    _open(page, "/admin/users", axe_check, shot, "users")
    person = page.locator("main table tbody a").nth(1).get_attribute("href")
    assert person
    _open(page, person, axe_check, shot, "user")
    assert "历史记录" in page.inner_text("main")
    _open(page, f"{person}/signoffs", axe_check, shot, "signoffs")
    _open(page, "/admin/users?search=zzzz", axe_check, shot, "users-none")
    assert "没有符合条件的人员" in page.inner_text("main")
    _open(page, "/admin/users/new", axe_check, shot, "register")
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_load_state()
    assert "有问题需要处理" in page.inner_text("main")
    axe_check(page)
    shot("register-errors", of=page)
    _open(page, "/admin/units?as_of=2020-01-01", axe_check, shot, "units-as-of")
    assert page.locator(".banner-as-of").count() == 1
    assert "按当时的记录，没有单位" in page.inner_text("main")
    english = page_in("en")
    _sign_in(english, live_server)
    english.click("a[hreflang=en]")
    english.wait_for_load_state()
    _open(english, person, axe_check, shot, "user-en")
    assert "History" in english.inner_text("main")
    _open(english, f"{person}/reset", axe_check, shot, "reset-en")
    assert "must choose their own" in english.inner_text("main")
    assert page_log.csp_violations == []
    assert page_log.errors == []
