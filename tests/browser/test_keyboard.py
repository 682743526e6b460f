"""The whole document flow with the keyboard alone (Tab, Enter, Space, arrows and
typing; no click): sign in, a refused draft whose error summary takes the focus and
whose links move it to the field, the draft, submit, review, approve on the
e-signature page, the history, the page as it stood, the other language. Every
element reached shows where the focus is.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, PageLog, Shot

if TYPE_CHECKING:
    from playwright.sync_api import FileChooser, Page

DOC = "QP-KEYS"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n% a procedure drafted with the keyboard\n%%EOF\n"
MOST_TABS = 120
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
    || style.boxShadow !== 'none';
}"""


def _focused(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            "(s) => !!document.activeElement && document.activeElement.matches(s)",
            selector,
        )
    )


def _tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element matching `selector` has the focus, and see it shows."""
    for _ in range(MOST_TABS):
        page.keyboard.press("Tab")
        if _focused(page, selector):
            assert page.evaluate(FOCUS_SHOWN), f"the focus on {selector} is not visible"
            return
    raise AssertionError(f"{selector} is not reachable with Tab on {page.url}")


def _follow(page: Page, selector: str) -> None:
    """Tab to a link or button and press Enter: the next page opens."""
    _tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _sign_in(page: Page, server: LiveServer, user_id: str) -> None:
    page.goto("/login")
    _tab_to(page, "#user_id")
    page.keyboard.type(user_id)
    page.keyboard.press("Tab")
    assert _focused(page, "#password")
    page.keyboard.type(server.password(user_id))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/login" not in page.url


def _open_file_chooser(page: Page) -> FileChooser:
    """Space on the focused file field opens the chooser. On a loaded machine Chromium
    can drop the first press while the page is still settling, as a person's would be;
    press again, as a person would, at most three times."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    assert _focused(page, "input[type=file]")
    for _ in range(2):
        try:
            with page.expect_file_chooser(timeout=5000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeoutError:
            continue
        return chooser.value
    with page.expect_file_chooser(timeout=10000) as chooser:
        page.keyboard.press("Space")
    return chooser.value


def _choose(page: Page, selector: str, value: str) -> None:
    """A select or a radio group: Tab to it, then arrows until `value` is chosen."""
    _tab_to(page, selector)
    for _ in range(20):
        chosen = page.evaluate(
            "(s) => { const el = document.activeElement;"
            " return el.type === 'radio' ? (el.checked ? el.value : '') : el.value; }",
            selector,
        )
        if chosen == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} cannot be chosen in {selector} with the arrows")


def test_the_document_flow_with_the_keyboard_alone(
    page_in: PageFactory,
    own_live_server: LiveServer,
    page_log: PageLog,
    shot: Shot,
    axe_check: AxeCheck,
) -> None:
    server = own_live_server
    author = page_in("zh-CN", server=server)
    _sign_in(author, server, "hq.author")
    _follow(author, "header a[href='/documents'], nav a[href='/documents']")
    _follow(author, "main a[href='/documents/new']")

    # Sent empty: the error summary takes the focus; its link takes it to the field.
    _tab_to(author, "main form[method=post] button[type=submit]")
    with author.expect_navigation():
        author.keyboard.press("Enter")
    # The page's script moves the focus once it has run: wait for it (5 s at most).
    author.wait_for_function(
        "(s) => !!document.activeElement && document.activeElement.matches(s)",
        arg=".error-summary",
        timeout=5000,
    )
    assert _focused(author, ".error-summary")
    assert author.evaluate(FOCUS_SHOWN), "the focus on the error summary is not visible"
    shot("error-summary-focused", of=author)
    first = author.locator(".error-summary a").first
    target = (first.get_attribute("href") or "").removeprefix("#")
    assert target
    _tab_to(author, ".error-summary a")
    author.keyboard.press("Enter")
    assert _focused(author, f"#{target}"), (
        f"the link did not move the focus to #{target}"
    )

    author.keyboard.press("Shift+Tab")  # back before the first field, then forwards
    _tab_to(author, "#doc_id")
    author.keyboard.type(DOC)
    _choose(author, "#unit", "HQ")
    _tab_to(author, "#title")
    author.keyboard.type("键盘起草的程序 A procedure drafted with the keyboard")
    _tab_to(author, "#file")
    _open_file_chooser(author).set_files(
        files=[{"name": "procedure.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    shot("draft-form", of=author)
    _follow(author, "main form[method=post] button[type=submit]")
    assert author.url.endswith(f"/documents/{DOC}")
    _follow(author, f"main form[action$='/documents/{DOC}/submit'] button")
    shot("submitted", of=author)

    approver = page_in("zh-CN", server=server)
    _sign_in(approver, server, "hq.approver")
    _follow(approver, "nav a[href='/documents'], header a[href='/documents']")
    _follow(approver, f"main a[href='/documents/{DOC}']")
    _follow(approver, f"main a[href='/documents/{DOC}/review']")
    _choose(approver, "input[name=outcome]", "endorsed")
    _follow(approver, "main form[method=post] button[type=submit]")
    assert approver.url.endswith(f"/documents/{DOC}")
    # The moment to look back to: after the review, before the signature.
    before = (datetime.now(SHANGHAI) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(max(0.0, (before - datetime.now(SHANGHAI)).total_seconds()) + 0.05)

    _follow(approver, f"main a[href='/documents/{DOC}/approve']")
    assert approver.locator("section.esign").count() == 1
    _tab_to(approver, "#password")
    approver.keyboard.type(server.password("hq.approver"))
    shot("signing-page", of=approver)
    with approver.expect_navigation():
        approver.keyboard.press("Enter")
    assert approver.url.endswith(f"/documents/{DOC}")
    history = approver.locator("h2", has_text="历史记录").locator(
        "xpath=following::table[1]"
    )
    assert "hq.approver" in history.inner_text()
    shot("approved-history", of=approver)

    _tab_to(approver, "#as_of")
    approver.keyboard.type(before.strftime("%Y-%m-%d %H:%M:%S"))
    _tab_to(approver, "form.as-of button[type=submit]")
    with approver.expect_navigation():
        approver.keyboard.press("Space")
    assert approver.locator(".banner-as-of").count() == 1
    assert approver.locator("table tbody .badge-endorsed").count() >= 1
    assert approver.locator("main form[method=post]").count() == 0
    shot("as-it-stood", of=approver)

    _follow(approver, "ul.language-switch a[lang=en]")
    assert approver.locator("html").get_attribute("lang") == "en"
    assert approver.locator(".banner-as-of").count() == 1
    axe_check(approver)
    shot("in-english", of=approver)
    assert page_log.csp_violations == []
    assert page_log.errors == []
