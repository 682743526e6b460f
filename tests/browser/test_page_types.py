"""Every kind of page the UI has, in Chinese and in English, on the shared demo ledger:
it answers as it should, is in the language chosen, reports no Content-Security-Policy
violation and no script error, and passes axe-core's WCAG 2.1 A/AA rules.

Each page type names who opens it and how its address is found on the demo (the first
record of a register, the first record whose form that person may use). A person signs
in once per session; each test starts a browser context with their cookies. Nothing is
recorded: a form is only sent when it is refused (errors, a conflict) or leads to the
e-signature page, which records nothing until the password is given. The forms of
a record in a passing state (a finding's actions, an audit's report) are checked in
the flows that bring a record there (test_area_flows.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.conftest import AxeCheck, LiveServer, PageFactory, PageLog, Shot
from web.demo.story import ADMIN_ID
from web.i18n import LANGUAGE_COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}
AUTHOR = "hq.author"
AUDITOR = "hq.auditor1"
MANAGER = "hq.manager"
APPROVER = "bj.approver"
WITHDRAWN_DOC = "BJ-FM-01"  # effective in the demo; its approver may withdraw it
PROBES = 60  # records tried at most when looking for one a form applies to


def _links(page: Page, path: str, pattern: str) -> list[str]:
    """The distinct links of `path` (fetched with the page's cookies) matching `pattern`."""
    response = page.request.get(path)
    assert response.ok, f"{path}: {response.status}"
    found = re.findall(rf'href="({pattern})"', response.text())
    return list(dict.fromkeys(found))


def _first(register: str, pattern: str) -> Callable[[Page, LiveServer], str]:
    def find(page: Page, _server: LiveServer) -> str:
        links = _links(page, register, pattern)
        assert links, f"no record in {register}"
        return links[0]

    return find


def _first_with(
    register: str, pattern: str, suffix: str = "", contains: str = ""
) -> Callable[[Page, LiveServer], str]:
    """The first record of `register` whose page `suffix` answers 200 (and shows `contains`)."""

    def find(page: Page, _server: LiveServer) -> str:
        for href in _links(page, register, pattern)[:PROBES]:
            response = page.request.get(href + suffix)
            if response.ok and (
                not contains or contains.format(href=href) in response.text()
            ):
                return href + suffix
        raise AssertionError(f"no record in {register} answers {suffix!r} {contains!r}")

    return find


def _path(path: str) -> Callable[[Page, LiveServer], str]:
    return lambda _page, _server: path


def _days_before_end(path: str, days: int) -> Callable[[Page, LiveServer], str]:
    def find(_page: Page, server: LiveServer) -> str:
        return f"{path}?as_of={server.demo.last_day - timedelta(days=days)}"

    return find


def _send(page: Page) -> None:
    with page.expect_navigation():
        page.click("main form[method=post] button[type=submit]")


def _send_stale_withdrawal(page: Page) -> None:
    # The form as someone saw it before the record's later changes: a conflict.
    page.fill("#reason", "superseded")
    page.eval_on_selector("input[name=version]", "(input) => { input.value = '1'; }")
    _send(page)


def _ask_to_sign_verification(page: Page) -> None:
    page.check("#effective-0")
    page.fill("#comment", "three months of records checked")
    _send(page)


@dataclass(frozen=True)
class PageType:
    """A kind of page: who opens it, where it is, what it must show."""

    name: str
    user: str | tuple[str, ...] | None  # a tuple: the first for whom `find` finds it
    find: Callable[[Page, LiveServer], str]
    shows: str  # a CSS selector the page must have
    status: int = 200
    then: Callable[[Page], None] | None = None  # a form sent, showing the page to check


RECORD = r"(?!new\b)[A-Za-z0-9.-]+"  # a record's id, not the form for a new one
DOCS = rf"/documents/{RECORD}"
AUDITS = rf"/audits/{RECORD}"
FINDINGS = rf"/findings/{RECORD}"
INDICATORS = rf"/indicators/{RECORD}"
REVIEWS = rf"/reviews/{RECORD}"
UNITS = rf"/admin/units/{RECORD}"
USERS = rf"/admin/users/{RECORD}"
BUREAUS = ("bj", "sh", "gz", "cd", "wh", "xa")
AUDITORS = ("hq.auditor1", "hq.auditor2", "hq.auditor3")

PAGE_TYPES = [
    PageType("login", None, _path("/login"), "form input#password"),
    PageType("dashboard", MANAGER, _path("/dashboard"), "svg.trend-chart"),
    PageType("documents", AUTHOR, _path("/documents"), "table.doc-table"),
    PageType("document", AUTHOR, _first("/documents", DOCS), "main table"),
    PageType("audits", AUDITOR, _path("/audits"), "main table"),
    PageType("audit", AUDITOR, _first("/audits", AUDITS), "main h1"),
    PageType("findings", AUDITOR, _path("/findings"), "main table"),
    PageType("finding", AUDITOR, _first("/findings", FINDINGS), "main h1"),
    PageType("indicators", MANAGER, _path("/indicators"), "table.table"),
    PageType(
        "indicator", MANAGER, _first("/indicators", INDICATORS), "svg.trend-chart"
    ),
    PageType("reviews", MANAGER, _path("/reviews"), "table.table"),
    PageType("review", MANAGER, _first("/reviews", REVIEWS), "main h1"),
    PageType("document-new", AUTHOR, _path("/documents/new"), "input#doc_id"),
    PageType(
        "document-new-errors",
        AUTHOR,
        _path("/documents/new"),
        ".error-summary:focus",
        then=_send,
    ),
    PageType(
        "document-withdraw",
        APPROVER,
        _path(f"/documents/{WITHDRAWN_DOC}/withdraw"),
        "textarea#reason, input#reason",
    ),
    PageType("finding-new", AUDITOR, _path("/findings/new"), "input#finding_id"),
    PageType(
        "finding-new-errors",
        AUDITOR,
        _path("/findings/new"),
        ".error-summary:focus",
        then=_send,
    ),
    PageType("audit-new", AUDITOR, _path("/audits/new"), "main form[method=post]"),
    PageType(
        "indicator-measure",
        tuple(f"{b}.owner" for b in BUREAUS),
        _first_with("/indicators", INDICATORS, "/measure"),
        "main form[method=post]",
    ),
    PageType("review-new", MANAGER, _path("/reviews/new"), "main form[method=post]"),
    PageType(
        "e-signature",
        AUDITOR,
        _first_with("/findings?open=1", FINDINGS, "/verify"),
        "section.esign input#password",
        then=_ask_to_sign_verification,
    ),
    PageType(
        "conflict",
        APPROVER,
        _path(f"/documents/{WITHDRAWN_DOC}/withdraw"),
        ".error-summary[role=alert]",
        then=_send_stale_withdrawal,
    ),
    PageType("forbidden", AUTHOR, _path("/admin/users"), "main h1", status=403),
    PageType(
        "not-found", AUTHOR, _path("/documents/NO-SUCH-DOC"), "main h1", status=404
    ),
    PageType(
        "register-as-of",
        AUTHOR,
        _days_before_end("/documents", 60),
        ".banner-as-of",
    ),
    PageType(
        "record-as-of",
        AUTHOR,
        _days_before_end("/documents/HQ-QM-01", 30),
        ".banner-as-of",
    ),
    PageType("report", MANAGER, _path("/reports/status"), "#report-sha256"),
    PageType("units", ADMIN_ID, _path("/admin/units"), ".unit-tree"),
    PageType("unit", ADMIN_ID, _first("/admin/units", UNITS), "main h1"),
    PageType("users", ADMIN_ID, _path("/admin/users"), "main table"),
    PageType("user", ADMIN_ID, _first_with("/admin/users", USERS), "main h1"),
    PageType(
        "password-reset",
        ADMIN_ID,
        _first_with("/admin/users", USERS, "/reset"),
        "main form[method=post]",
    ),
    PageType(
        "signoffs",
        ADMIN_ID,
        _first_with("/admin/users", USERS, "/signoffs"),
        "main h1",
    ),
    PageType("me", AUTHOR, _path("/me"), "main h1"),
]


SignedIn = Callable[[str | None, str], Any]


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: LiveServer) -> SignedIn:
    """`signed_in(user, locale)`: the cookies of `user` signed in, reading `locale`.

    Each person signs in once; the language is the cookie of the language switch.
    """
    cookies: dict[str | None, list[Any]] = {None: []}

    def state(user: str | None, locale: str) -> Any:
        if user not in cookies:
            assert user is not None
            context = browser.new_context(base_url=live_server.url)
            page = context.new_page()
            page.goto("/login")
            page.fill("#user_id", user)
            page.fill("#password", live_server.password(user))
            with page.expect_navigation():
                page.click("main button[type=submit]")
            assert "/login" not in page.url, f"{user} could not sign in"
            cookies[user] = context.cookies()
            context.close()
        language = {
            "name": LANGUAGE_COOKIE,
            "value": LANGUAGES[locale],
            "domain": "127.0.0.1",
            "path": "/",
            "expires": -1,
            "httpOnly": True,
            "secure": False,
            "sameSite": "Lax",
        }
        return {"cookies": [*cookies[user], language], "origins": []}

    return state


_FOUND: dict[str, tuple[str | None, str]] = {}  # who opens each page type, where


def _locate(
    kind: PageType, page_in: PageFactory, signed_in: SignedIn, live_server: LiveServer
) -> tuple[str | None, str]:
    if kind.name not in _FOUND:
        people = kind.user if isinstance(kind.user, tuple) else (kind.user,)
        failures = []
        for user in people:
            probe = page_in("zh-CN", storage_state=signed_in(user, "zh-CN"))
            try:
                _FOUND[kind.name] = user, kind.find(probe, live_server)
                break
            except AssertionError as failed:
                failures.append(f"{user}: {failed}")
            finally:
                probe.context.close()
        else:
            raise AssertionError("; ".join(failures))
    return _FOUND[kind.name]


@pytest.mark.parametrize("locale", list(LANGUAGES))
@pytest.mark.parametrize("kind", PAGE_TYPES, ids=[p.name for p in PAGE_TYPES])
def test_every_page_type_passes_axe_without_csp_violation(
    page_in: PageFactory,
    live_server: LiveServer,
    signed_in: SignedIn,
    page_log: PageLog,
    axe_check: AxeCheck,
    shot: Shot,
    kind: PageType,
    locale: str,
) -> None:
    user, path = _locate(kind, page_in, signed_in, live_server)
    page = page_in(locale, storage_state=signed_in(user, locale))
    response = page.goto(path)
    assert response is not None
    assert response.status == kind.status, f"{path}: {response.status}"
    if kind.then is not None:
        kind.then(page)
    assert page.locator(kind.shows).count() >= 1, f"{path}: no {kind.shows}"
    assert page.locator("html").get_attribute("lang") == LANGUAGES[locale].replace(
        "_", "-"
    )
    axe_check(page)
    shot(kind.name, of=page)
    assert page_log.csp_violations == []
    assert page_log.errors == []
