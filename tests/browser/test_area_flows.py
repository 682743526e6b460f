"""One flow per area besides documents, in a real browser on a demo ledger of this
module's own (the flows record): a finding raised, its actions planned, done and
verified with an e-signature; an audit planned, started and reported; an indicator
measurement recorded and seen on the dashboard's chart; a management review held; an
administrator registering a person and resetting their password. Each step's page
passes axe-core and is photographed; no page reports a CSP violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import (
    AxeCheck,
    LiveServer,
    PageFactory,
    PageLog,
    Shot,
    serve_demo,
)
from web.demo.story import ADMIN_ID

if TYPE_CHECKING:
    from playwright.sync_api import Page

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUDITOR = "hq.auditor1"
MANAGER = "bj.manager"
VERIFIER = "hq.auditor2"
EVIDENCE = {
    "name": "photo.txt",
    "mimeType": "text/plain",
    "buffer": "未受控的记录表 An uncontrolled form in use".encode(),
}


@pytest.fixture(scope="module")
def flow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A tiny demo for the flows of this module (each records its own records)."""
    with serve_demo(tmp_path_factory.mktemp("flows")) as server:
        yield server


def _today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


def _in_days(days: int) -> str:
    return (datetime.now(SHANGHAI).date() + timedelta(days=days)).isoformat()


def _sign_in(page: Page, server: LiveServer, user_id: str) -> None:
    page.goto("/login")
    page.fill("#user_id", user_id)
    page.fill("#password", server.password(user_id))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/login" not in page.url, f"{user_id} could not sign in"


def _send(page: Page, form: str = "main form[method=post]") -> None:
    """Send `form` and check that it was taken (no error summary on the next page)."""
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").first.click()
    summary = page.locator(".error-summary")
    assert summary.count() == 0, f"{page.url}: {summary.first.inner_text()}"


def _look(page: Page, axe_check: AxeCheck, shot: Shot, name: str) -> None:
    axe_check(page)
    shot(name, of=page)


def _sign(page: Page, server: LiveServer, user_id: str) -> None:
    """On the e-signature page: the password again, then sign."""
    assert page.locator("section.esign").count() == 1
    page.fill("section.esign ~ * #password, #password", server.password(user_id))
    _send(page)


def test_a_finding_raised_planned_done_and_verified_with_a_signature(
    page_in: PageFactory,
    flow_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    finding = "F-E2E-1"
    auditor = page_in("zh-CN", server=flow_server)
    _sign_in(auditor, flow_server, AUDITOR)
    auditor.goto("/findings/new")
    auditor.fill("#finding_id", finding)
    auditor.select_option("#unit", "BJ")
    auditor.select_option("#source", "supervision")
    auditor.select_option("#classification", "minor")
    auditor.fill("#clause", "7.5.3")
    auditor.fill(
        "#description", "记录表未受控 The record form in use was not controlled"
    )
    auditor.fill("#due_on", _in_days(30))
    auditor.set_input_files("#evidence", files=[EVIDENCE])
    _look(auditor, axe_check, shot, "finding-form")
    _send(auditor)
    assert auditor.url.endswith(f"/findings/{finding}")
    _look(auditor, axe_check, shot, "finding-raised")

    manager = page_in("zh-CN", server=flow_server)
    _sign_in(manager, flow_server, MANAGER)
    manager.goto(f"/findings/{finding}")
    if manager.locator("form[action$='/contain']").count():
        manager.fill(
            "#action", "已收回未受控副本 The uncontrolled copies were withdrawn"
        )
        _send(manager, "form[action$='/contain']")
    if manager.locator("form[action$='/analyse']").count():
        manager.fill(
            "#cause", "文件发放无登记 Copies were handed out without a register"
        )
        manager.fill("#method", "5 Whys")
        _send(manager, "form[action$='/analyse']")
    _look(manager, axe_check, shot, "actions-form")
    manager.fill("#actions-0-description", "建立发放登记 Keep a register of copies")
    manager.select_option("#actions-0-owner", MANAGER)
    manager.fill("#actions-0-due_on", _in_days(20))
    _send(manager, "form[action$='/plan']")
    _look(manager, axe_check, shot, "actions-planned")
    done = manager.locator("form[action$='/complete']")
    assert done.count() == 1
    done.locator("textarea").first.fill("登记表已启用 The register is in use")
    _send(manager, "form[action$='/complete']")
    _look(manager, axe_check, shot, "action-done")

    # another auditor verifies: not the one who raised it
    verifier = page_in("zh-CN", server=flow_server)
    _sign_in(verifier, flow_server, VERIFIER)
    auditor = verifier
    auditor.goto(f"/findings/{finding}/verify")
    auditor.check("#effective-0")
    auditor.fill("#comment", "抽查登记表，有效 The register was checked: effective")
    with auditor.expect_navigation():
        auditor.click("main form[method=post] button[type=submit]")
    _look(auditor, axe_check, shot, "verify-signing-page")
    _sign(auditor, flow_server, VERIFIER)
    assert auditor.url.endswith(f"/findings/{finding}")
    _look(auditor, axe_check, shot, "verified")
    assert VERIFIER in auditor.inner_text("main")
    assert page_log.errors == []


def test_an_audit_planned_started_and_reported(
    page_in: PageFactory,
    flow_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    audit = "A-E2E-1"
    page = page_in("zh-CN", server=flow_server)
    _sign_in(page, flow_server, AUDITOR)
    page.goto("/audits/new")
    page.fill("#audit_id", audit)
    page.fill("#programme", "2026")
    page.select_option("#unit", "SH")
    page.fill("#scope", "文件控制 Document control")
    page.fill("#criteria", "ISO 9001:2015")
    page.select_option("#lead_auditor", AUDITOR)
    page.fill("#team", "hq.auditor2")
    page.fill("#planned_start", _today())
    page.fill("#planned_end", _in_days(2))
    _look(page, axe_check, shot, "audit-form")
    _send(page)
    assert page.url.endswith(f"/audits/{audit}")
    _look(page, axe_check, shot, "audit-planned")
    page.fill("#started_on", _today())
    _send(page, "form[action$='/start']")
    _look(page, axe_check, shot, "audit-started")
    page.goto(f"/audits/{audit}/report")
    page.fill("#summary", "体系运行有效 The system works; no finding")
    _look(page, axe_check, shot, "report-form")
    english = page_in(
        "en", server=flow_server, storage_state=page.context.storage_state()
    )
    english.goto(f"/language?lang=en&next=/audits/{audit}/report")
    _look(english, axe_check, shot, "report-form-en")
    with page.expect_navigation():
        page.click("main form[method=post] button[type=submit]")
    _look(page, axe_check, shot, "report-signing-page")
    _sign(page, flow_server, AUDITOR)
    assert page.url.endswith(f"/audits/{audit}")
    _look(page, axe_check, shot, "audit-reported")
    assert page_log.errors == []


def test_a_measurement_recorded_and_seen_on_the_dashboard_chart(
    page_in: PageFactory,
    flow_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    page = page_in("zh-CN", server=flow_server)
    _sign_in(page, flow_server, "bj.owner")
    page.goto("/indicators")
    indicator = page.locator("table.table tbody a[href*='BJ']").first
    href = indicator.get_attribute("href")
    assert href
    page.goto(f"{href}/measure")
    period = "2026-11"
    page.fill("#period", period)
    page.fill("#value", "1.25")
    _look(page, axe_check, shot, "measurement-form")
    _send(page)
    _look(page, axe_check, shot, "measured")
    page.goto("/dashboard")
    chart = page.locator("section, article, div", has=page.locator(f"a[href='{href}']"))
    assert chart.locator("table.trend-table", has_text=period).count() >= 1
    assert page.locator("svg.trend-chart").count() >= 1
    _look(page, axe_check, shot, "dashboard-with-the-measurement")
    assert page_log.errors == []


def test_a_management_review_held(
    page_in: PageFactory,
    flow_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    page = page_in("zh-CN", server=flow_server)
    _sign_in(page, flow_server, "hq.manager")
    page.goto("/reviews/new")
    page.fill("#review_id", "MR-E2E-1")
    page.select_option("#unit", "HQ")
    page.fill("#held_on", _today())
    page.fill("#attendees", "hq.manager\nhq.auditor1")
    page.fill("#decisions", "增加内审频次 Audit twice a year")
    page.fill(
        "#actions", f"修订审核方案 Revise the programme | hq.manager | {_in_days(30)}"
    )
    _look(page, axe_check, shot, "review-form")
    _send(page)
    assert page.url.endswith("/reviews/MR-E2E-1")
    assert "MR-E2E-1" in page.inner_text("main")
    _look(page, axe_check, shot, "review-held")
    assert page_log.errors == []


def test_an_administrator_registers_a_person_and_resets_the_password(
    page_in: PageFactory,
    flow_server: LiveServer,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
) -> None:
    person = "bj.clerk"
    page = page_in("zh-CN", server=flow_server)
    _sign_in(page, flow_server, ADMIN_ID)
    page.goto("/admin/users/new")
    page.fill("#user_id", person)
    page.fill("#name", "李小文")
    page.fill("#email", "bj.clerk@qms.example")
    page.select_option("#unit", "BJ")
    for extra in page.locator("main form[method=post] input[type=password]").all():
        extra.fill("Temporary-Pass-2026!")
    _look(page, axe_check, shot, "register-form")
    _send(page)
    assert person in page.inner_text("main")
    _look(page, axe_check, shot, "registered")
    page.goto(f"/admin/users/{person}/reset")
    page.fill("#temporary_password", "Another-Temp-2026!")
    _look(page, axe_check, shot, "reset-form")
    _send(page)
    assert page.locator(".banner-success").count() == 1
    _look(page, axe_check, shot, "reset-done")
    assert page_log.errors == []
