"""CSRF on every form, security headers on every response, cookie flags, escaping, the secret key."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from ledger.clock import FixedClock
from ledger.domain import units as un
from ledger.domain import users as us
from ledger.integrity.signing import SigningKey
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.service import secret
from tests.support.webapp import (
    client,
    make_web_app,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from web.app import CONTENT_SECURITY_POLICY

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _assert_headers(headers: Headers) -> None:
    assert headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere() -> None:
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in CONTENT_SECURITY_POLICY


def test_every_response_carries_the_security_headers(client: FlaskClient) -> None:
    anonymous = [
        client.get("/login"),
        client.get("/healthz"),
        client.get("/static/qms.css"),
        client.get("/no-such-page"),
        client.get("/me"),
        client.post("/login", data={}),
        client.get("/language?lang=en&next=/login"),
    ]
    sign_in(client, "alice")
    signed_in = [client.get("/me"), client.get("/no-such-page")]
    for response in [*anonymous, *signed_in]:
        _assert_headers(response.headers)
        response.close()


def test_pages_have_no_inline_script_or_style(client: FlaskClient) -> None:
    pages = [client.get("/login").get_data(as_text=True)]
    sign_in(client, "alice")
    pages.append(client.get("/me").get_data(as_text=True))
    pages.append(client.get("/no-such-page").get_data(as_text=True))
    for page in pages:
        assert "<script" not in page
        assert "style=" not in page
        assert "<style" not in page
        assert "http://" not in page  # no asset from outside the server
        assert "https://" not in page


def test_a_form_without_its_csrf_token_is_refused_with_a_clear_page(
    client: FlaskClient,
) -> None:
    response = client.post(
        "/login", data={"user_id": "alice", "password": secret("alice")}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<h1>表单已失效</h1>" in page
    assert "没有保存任何内容" in page
    assert client.get("/me").status_code == 302  # not signed in


def test_a_wrong_csrf_token_on_sign_out_keeps_the_session(client: FlaskClient) -> None:
    sign_in(client, "alice")
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/me").status_code == 200


def test_a_password_change_without_csrf_token_changes_nothing(
    client: FlaskClient, web_app: Flask
) -> None:
    sign_in(client, "alice")
    response = client.post(
        "/me/password",
        data={
            "old_password": secret("alice"),
            "new_password": "changed-by-a-forged-form",
            "confirm_password": "changed-by-a-forged-form",
        },
    )
    assert response.status_code == 400
    assert sign_in(web_app.test_client(), "alice").status_code == 302


def test_cookies_are_httponly_and_samesite_lax(client: FlaskClient) -> None:
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("qms-session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on the developer's machine


def test_over_https_the_cookie_is_secure_with_the_host_prefix(
    client: FlaskClient,
) -> None:
    response = client.get("/login", base_url="https://qms.example")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-qms-session=")
    assert "; Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain=" not in cookie


def test_qms_https_makes_the_cookie_secure_behind_a_proxy(
    people_store: EventStore,
    people_signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    app = make_web_app(
        people_store, people_signer, clock, tmp_path / "instance", {"QMS_HTTPS": "1"}
    )
    try:
        cookie = app.test_client().get("/login").headers["Set-Cookie"]
        assert cookie.startswith("__Host-qms-session=")
        assert "; Secure" in cookie
    finally:
        app.extensions["qms.store"].engine.dispose()


def test_the_secret_key_is_generated_privately_once_and_shared(
    people_store: EventStore,
    people_signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    instance = tmp_path / "instance"
    first = make_web_app(people_store, people_signer, clock, instance)
    second = make_web_app(people_store, people_signer, clock, instance)
    configured = make_web_app(
        people_store,
        people_signer,
        clock,
        instance,
        {"QMS_SECRET_KEY": "from-the-environment"},
    )
    try:
        key_file = instance / "web-secret-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert first.secret_key == second.secret_key == key_file.read_text().strip()
        assert len(str(first.secret_key)) >= 40
        assert configured.secret_key == "from-the-environment"
        # A session made by one worker is good in the other.
        browser = first.test_client()
        sign_in(browser, "alice")
        cookie = browser.get_cookie("qms-session")
        assert cookie is not None
        other = second.test_client()
        other.set_cookie("qms-session", cookie.value)
        assert other.get("/me").status_code == 200
    finally:
        for app in (first, second, configured):
            app.extensions["qms.store"].engine.dispose()


def test_names_and_input_are_escaped_wherever_shown(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    service = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    service.handle(
        un.CreateUnit(code="B3", name_zh=XSS, name_en=XSS, kind="bureau", parent="HQ"),
        "root",
    )
    service.handle(
        us.RegisterUser(
            user_id="mallory",
            name=XSS,
            unit="B3",
            email="mallory@example.org",
            temporary_password="temporary-1",
        ),
        "root",
    )
    service.change_password("mallory", "temporary-1", secret("mallory"))
    refused = sign_in(client, XSS, "wrong-password").get_data(as_text=True)
    assert "<script>" not in refused
    assert "&lt;script&gt;" in refused
    sign_in(client, "mallory")
    for lang in ("zh_CN", "en"):
        client.get(f"/language?lang={lang}&next=/me")
        page = client.get("/me").get_data(as_text=True)
        assert "<script>" not in page
        assert "<img" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_the_language_switch_never_redirects_off_the_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/language", query_string={"lang": "en", "next": target})
        assert response.status_code == 302
        assert response.headers["Location"] == "/login"


def test_behind_a_trusted_proxy_the_forwarded_address_and_scheme_count(
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
        {"QMS_PROXY_HOPS": "1"},
    )
    try:
        office = app.test_client()
        office.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
        for n in range(20):
            sign_in(office, f"user{n // 4}", "wrong-password")
        assert sign_in(office, "mia").status_code == 429
        home = app.test_client()
        home.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
        assert sign_in(home, "mia").status_code == 302
        secure = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        assert secure.headers["Set-Cookie"].startswith("__Host-qms-session=")
    finally:
        app.extensions["qms.store"].engine.dispose()


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    client: FlaskClient,
) -> None:
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["Set-Cookie"].startswith("qms-session=")


def test_a_page_with_several_forms_has_no_duplicate_ids(client: FlaskClient) -> None:
    sign_in(client, "alice")
    page = client.get("/me").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert ids
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
