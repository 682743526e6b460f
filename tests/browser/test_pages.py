"""The application in headless Chromium: its pages, their CSP, accessibility and Chinese.

Every page without URL parameters is opened, signed out, in Chinese and in English: it
answers without an error, reports no Content-Security-Policy violation, and every HTML
page it leads to passes axe-core's WCAG 2.1 A/AA rules (test_page_types.py opens every
kind of page signed in). More pages come with the rest of the UI; this
module finds them in the application's URL map.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import combinations
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, PageLog, Shot

if TYPE_CHECKING:
    from playwright.sync_api import Page

LOCALES = ["zh-CN", "en"]
REQUIRED_CSP = [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
]
PROBLEM = "有问题需要处理"  # the error summary's heading, "There is a problem"


def _pages(live_server: LiveServer) -> Iterator[str]:
    """The paths of the application's GET pages that take no URL parameters."""
    for rule in sorted(live_server.app.url_map.iter_rules(), key=lambda r: r.rule):
        gets = "GET" in (rule.methods or ())
        if gets and rule.endpoint != "static" and not rule.arguments:
            yield rule.rule


def test_healthz_shows_the_demo_ledger(
    page: Page, live_server: LiveServer, page_log: PageLog, shot: Shot
) -> None:
    response = page.goto("/healthz")
    assert response is not None
    assert response.status == 200
    assert json.loads(page.inner_text("body")) == {
        "ledger": "reachable",
        "origin": live_server.settings.origin,
        "size": live_server.demo.ledger_size,
    }
    shot("healthz")
    assert page_log.csp_violations == []
    assert page_log.errors == []


def test_every_page_sends_the_content_security_policy(
    page: Page, live_server: LiveServer
) -> None:
    for path in _pages(live_server):
        response = page.goto(path)
        assert response is not None
        policy = response.headers.get("content-security-policy", "")
        directives = {d.strip() for d in policy.split(";")}
        assert set(REQUIRED_CSP) <= directives, f"{path}: {policy!r}"
        assert "unsafe-inline" not in policy, f"{path}: {policy!r}"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_opens_without_error_csp_violation_or_wcag_violation(
    page_in: PageFactory,
    live_server: LiveServer,
    page_log: PageLog,
    shot: Shot,
    axe_check: AxeCheck,
    locale: str,
) -> None:
    page = page_in(locale)
    page.goto(f"/language?lang={locale.replace('-', '_')}&next=/login")
    opened = []
    checked = set()  # signed out, most pages lead to the sign-in page: check it once
    for path in _pages(live_server):
        if path.startswith("/api/"):
            continue  # the JSON API answers a browser without a token 401, by design
        response = page.goto(path)
        assert response is not None, path
        assert response.status < 400, f"{path}: {response.status}"
        shown = page.url.split("?")[0]
        if "text/html" in response.headers.get("content-type", "") and (
            shown not in checked
        ):
            axe_check(page)
            shot(path.strip("/") or "home", of=page)
            checked.add(shown)
        opened.append(path)
    assert "/healthz" in opened
    assert page_log.csp_violations == []
    assert page_log.errors == []


def test_chinese_renders_as_glyphs_not_boxes(
    page: Page, page_log: PageLog, shot: Shot, axe_check: AxeCheck
) -> None:
    # Without a CJK font every character is the same empty box; characters of the
    # private use area, which no font here draws, show what that looks like.
    boxes = "".join(chr(0xE000 + i) for i in range(len(PROBLEM)))
    page.set_content(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{PROBLEM}</title></head><body><main>"
        f"<h1>{PROBLEM}</h1>"
        f"<p>{''.join(f'<span class=cjk>{c}</span>' for c in PROBLEM)}</p>"
        f'<p aria-hidden="true">{"".join(f"<span class=box>{c}</span>" for c in boxes)}</p>'
        "</main></body></html>"
    )
    shot("chinese")
    glyphs = [s.screenshot() for s in page.locator("span.cjk").all()]
    tofu = [s.screenshot() for s in page.locator("span.box").all()]
    assert len(glyphs) == len(tofu) == len(PROBLEM)
    assert len(set(tofu)) == 1, "the control characters should all be one box"
    for (i, a), (j, b) in combinations(enumerate(glyphs), 2):
        assert a != b, f"{PROBLEM[i]} and {PROBLEM[j]} look the same: no CJK font"
    assert tofu[0] not in glyphs, "a Chinese character renders as a box"
    axe_check(page)
    assert page_log.csp_violations == []


def test_a_csp_violation_is_reported(
    page: Page, live_server: LiveServer, page_log: PageLog
) -> None:
    # A page served with the policy the UI sends and an inline style it forbids.
    page.route(
        f"{live_server.url}/csp-check",
        lambda route: route.fulfill(
            status=200,
            headers={"Content-Security-Policy": "; ".join(REQUIRED_CSP)},
            content_type="text/html; charset=utf-8",
            body='<!doctype html><html lang="en"><title>CSP</title>'
            '<p style="color: red">inline style</p></html>',
        ),
    )
    with page_log.expect_violation(page):
        page.goto("/csp-check")
    assert [v["directive"] for v in page_log.csp_violations] == ["style-src-attr"]


def test_axe_finds_a_wcag_violation(page: Page, axe_check: AxeCheck) -> None:
    # An image without a text alternative, an unlabelled field: WCAG 1.1.1 and 4.1.2.
    page.set_content(
        '<!doctype html><html lang="en"><title>axe</title><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<input type="text"></main></html>'
    )
    with pytest.raises(AssertionError) as failed:
        axe_check(page)
    assert "image-alt" in str(failed.value)
    assert "label" in str(failed.value)
