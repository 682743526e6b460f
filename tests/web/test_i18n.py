"""Chinese (the default) and English: complete catalogues, the switch, dates and times."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.errors import ConfigError
from ledger.integrity.signing import SigningKey
from ledger.store import EventStore
from tests.support.service import secret
from tests.support.webapp import (
    client,
    csrf_token,
    make_web_app,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from web.i18n import TRANSLATIONS, compile_catalogues, day, when

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _source_ids() -> set[str]:
    found: set[str] = set()
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map={
            "web/templates/**.html": {"extensions": "jinja2.ext.do", "silent": "false"}
        },
        keywords={**KEYWORDS},
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


class _Text(HTMLParser):
    """The text a reader sees or hears: text nodes and the labelling attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if name in {"aria-label", "title", "alt", "placeholder"} and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def _english_fragments() -> list[str]:
    fragments = []
    for message in _catalog("zh_CN"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for msgid in ids:
            for piece in re.split(r"%\(\w+\)[sd]", msgid):
                if len(piece.strip()) >= 4:
                    fragments.append(piece.strip())
    return fragments


def test_every_message_is_translated_in_chinese_and_none_is_fuzzy() -> None:
    zh = _catalog("zh_CN")
    missing = [
        m.id
        for m in zh
        if m.id
        and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert missing == []
    assert [m.id for m in zh if m.id and m.fuzzy] == []
    assert not zh.fuzzy
    en = _catalog("en")
    assert {m.id for m in en if m.id} == {m.id for m in zh if m.id}
    assert [m.id for m in en if m.id and m.fuzzy] == []


def test_every_message_of_the_sources_is_in_the_catalogue() -> None:
    catalogued = {
        m.id[0] if isinstance(m.id, tuple) else m.id for m in _catalog("zh_CN") if m.id
    }
    sources = _source_ids()
    assert "There is a problem" in sources  # the templates are read too
    assert sorted(sources - catalogued) == []


def test_the_catalogues_compile_when_missing_or_older(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, folder, ignore=shutil.ignore_patterns("*.mo"))
    compile_catalogues(folder)
    mo = folder / "zh_CN" / "LC_MESSAGES" / "messages.mo"
    assert mo.stat().st_size > 0
    assert "有问题需要处理".encode() in mo.read_bytes()


def test_the_sign_in_page_is_chinese_by_default(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "<h1>登录</h1>" in page
    assert '<span aria-current="true" lang="zh-CN">中文</span>' in page
    text = _visible(page)
    assert [f for f in _english_fragments() if f in text] == []


def test_the_own_page_and_its_errors_show_no_english_in_chinese(
    client: FlaskClient,
) -> None:
    sign_in(client, "alice")
    pages = [client.get("/me").get_data(as_text=True)]
    token = csrf_token(client.get("/me"))
    refused = client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "old_password": "",
            "new_password": "x",
            "confirm_password": "y",
        },
    )
    pages.append(refused.get_data(as_text=True))
    pages.append(client.get("/no-such-page").get_data(as_text=True))
    pages.append(client.post("/logout").get_data(as_text=True))  # no CSRF token
    fragments = _english_fragments()
    for page in pages:
        text = _visible(page)
        assert [f for f in fragments if f in text] == []
    assert "有问题需要处理" in pages[1]


def test_the_switch_sets_english_and_back_without_signing_out(
    client: FlaskClient,
) -> None:
    sign_in(client, "alice")
    page = client.get("/me").get_data(as_text=True)
    assert 'href="/language?lang=en&amp;next=/me"' in page
    response = client.get("/language?lang=en&next=/me")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    cookie = [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("qms_lang=")
    ]
    assert cookie
    assert "HttpOnly" in cookie[0]
    assert "SameSite=Lax" in cookie[0]
    english = client.get("/me").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "<h1>Your account</h1>" in english
    assert '<span class="who-unit">Bureau B1</span>' in english
    assert "Author · B1" in english
    client.get("/language?lang=zh_CN&next=/me")
    assert "<h1>我的账户</h1>" in client.get("/me").get_data(as_text=True)


def test_an_unknown_language_leaves_the_choice_as_it_was(client: FlaskClient) -> None:
    response = client.get("/language?lang=xx&next=/login")
    assert not [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("qms_lang=")
    ]
    assert "<h1>登录</h1>" in client.get("/login").get_data(as_text=True)


def test_the_page_names_the_agency_time_zone_once(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert page.count("时间按中国时间显示") == 1


def test_times_are_in_the_agency_zone_with_utc_on_hover(web_app: Flask) -> None:
    moment = datetime(2026, 6, 30, 6, 5, tzinfo=UTC)
    with web_app.test_request_context("/"):
        shown = str(when(moment))
    assert shown == (
        '<time datetime="2026-06-30T06:05:00Z" title="2026-06-30 06:05:00 UTC">'
        "2026年6月30日 14:05</time>"
    )
    with web_app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
        assert ">30 Jun 2026 14:05</time>" in str(when("2026-06-30T06:05:00Z"))


def test_qms_timezone_moves_the_times_and_must_be_a_zone(
    people_store: EventStore,
    people_signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    app = make_web_app(
        people_store,
        people_signer,
        clock,
        tmp_path / "instance",
        {"QMS_TIMEZONE": "Europe/Berlin"},
    )
    try:
        with app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
            assert ">30 Jun 2026 08:05</time>" in str(
                when(datetime(2026, 6, 30, 6, 5, tzinfo=UTC))
            )
    finally:
        app.extensions["qms.store"].engine.dispose()
    with pytest.raises(ConfigError, match="QMS_TIMEZONE"):
        make_web_app(
            people_store,
            people_signer,
            clock,
            tmp_path / "instance",
            {"QMS_TIMEZONE": "Mars/Base"},
        )


def test_a_signed_in_person_keeps_the_language_after_a_password_change(
    client: FlaskClient,
) -> None:
    client.get("/language?lang=en&next=/login")
    sign_in(client, "alice")
    token = csrf_token(client.get("/me"))
    client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "old_password": secret("alice"),
            "new_password": "new-secret-99",
            "confirm_password": "new-secret-99",
        },
    )
    assert "Your password has been changed." in client.get("/me").get_data(as_text=True)


def test_dates_are_written_in_the_readers_language(web_app: Flask) -> None:
    late = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)  # 1 July in Beijing
    with web_app.test_request_context("/"):
        assert day("2026-06-30") == "2026年6月30日"
        assert day(late) == "2026年7月1日"
    with web_app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
        assert day("2026-06-30") == "30 Jun 2026"
        assert day("2026-06-30T17:00:00Z") == "1 Jul 2026"
