"""The flow the web UI exists for, in a real browser: an author drafts and submits a
document, an approver reviews it and approves it on the e-signature page, it becomes
effective; its history shows the signature; the page as it stood before the approval
shows the earlier state without forms; the page switches language; sign-in and
signing work with the keyboard alone."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, Shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

DOC = "QP-E2E"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n% a procedure for the end-to-end test\n%%EOF\n"


def _keyboard_sign_in(page: Page, live_server: LiveServer, user_id: str) -> None:
    """Sign in with the keyboard alone: Tab to each field, type, Enter."""
    page.goto("/login")
    for _ in range(20):
        page.keyboard.press("Tab")
        if (
            page.evaluate("document.activeElement && document.activeElement.id")
            == "user_id"
        ):
            break
    else:
        raise AssertionError("the user id field is not reachable with Tab")
    page.keyboard.type(user_id)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(live_server.password(user_id))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url


def _post_form(page: Page) -> None:
    with page.expect_navigation():
        page.click("main form[method=post] button[type=submit]")


def test_draft_submit_review_sign_effective_history_as_of_and_language(
    page_in: PageFactory,
    own_live_server: LiveServer,
    shot: Shot,
    axe_check: AxeCheck,
) -> None:
    live_server = own_live_server  # the flow records: not on the shared demo
    author = page_in("zh-CN", server=live_server)
    _keyboard_sign_in(author, live_server, "hq.author")
    author.goto("/documents/new")
    author.fill("#doc_id", DOC)
    author.select_option("#unit", "HQ")
    author.fill("#title", "端到端测试程序")
    author.set_input_files(
        "#file",
        files=[{"name": "procedure.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    shot("draft-form", of=author)
    _post_form(author)
    assert author.url.endswith(f"/documents/{DOC}")
    shot("drafted", of=author)
    assert author.locator(".banner-success").all_inner_texts() == ["版本草稿已保存。"]
    with author.expect_navigation():
        author.click(f'main form[action$="/documents/{DOC}/submit"] button')
    shot("submitted", of=author)

    approver = page_in("zh-CN", server=live_server)
    _keyboard_sign_in(approver, live_server, "hq.approver")
    approver.goto(f"/documents/{DOC}/review")
    approver.check("input[name=outcome][value=endorsed]")
    _post_form(approver)
    assert approver.url.endswith(f"/documents/{DOC}")
    # The moment to look back to: after the review, before the signature.
    before = (datetime.now(SHANGHAI) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (before - datetime.now(SHANGHAI)).total_seconds()) + 0.05)

    approver.goto(f"/documents/{DOC}/approve")
    signing = approver.locator("section.esign")
    assert signing.count() == 1
    text = signing.inner_text()
    assert DOC in text
    assert "批准" in text  # the meaning
    assert len(approver.locator("section.esign code.digest").inner_text().strip()) == 64
    axe_check(approver)
    shot("signing-page", of=approver)
    approver.focus("#password")
    approver.keyboard.type(live_server.password("hq.approver"))
    with approver.expect_navigation():
        approver.keyboard.press("Enter")  # signing with the keyboard
    assert approver.url.endswith(f"/documents/{DOC}")
    approver.goto(f"/documents/{DOC}/make_effective")
    approver.fill("#effective_on", datetime.now(SHANGHAI).date().isoformat())
    _post_form(approver)
    assert approver.url.endswith(f"/documents/{DOC}")
    assert "badge-effective" in (
        approver.locator("h1 .badge").get_attribute("class") or ""
    )
    history = approver.locator("main").inner_text()
    assert "批准" in history
    assert (
        approver.locator("main", has_text="hq.approver").count()
        + approver.locator("main", has_text="审批").count()
        >= 1
    )
    axe_check(approver)
    shot("effective-with-history", of=approver)

    then = before.strftime("%Y-%m-%d %H:%M:%S")
    approver.goto(f"/documents/{DOC}?as_of={then.replace(' ', '%20')}")
    assert approver.locator(".banner-as-of").count() == 1
    # The state then: the revision endorsed, not yet approved nor effective.
    assert approver.locator("table tbody .badge-endorsed").count() >= 1
    assert approver.locator(".badge-effective, .badge-approved").count() == 0
    assert (
        approver.locator("main form[method=post]").count() == 0
    )  # no forms in the past
    axe_check(approver)
    shot("as-it-stood-before-approval", of=approver)

    with approver.expect_navigation():
        approver.click("ul.language-switch a[lang=en]")
    assert approver.locator("html").get_attribute("lang") == "en"
    assert approver.locator(".banner-as-of").count() == 1  # still as it stood then
    axe_check(approver)
    shot("in-english", of=approver)
