"""Signing in and out, server-side sessions and their timeouts, the rate limit, the password change."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, create_engine, event

from ledger.clock import FixedClock
from ledger.domain import users as us
from ledger.integrity.signing import SigningKey
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.service import TEMP, secret
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
from web.auth import Sessions, web_sessions

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

COOKIE = "qms-session"


def _text(client: FlaskClient, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def _signed_in(client: FlaskClient) -> bool:
    response = client.get("/me")
    return response.status_code == 200


def _change(client: FlaskClient, old: str, new: str, again: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/me"))
    return client.post(
        "/me/password",
        data={
            "csrf_token": token,
            "old_password": old,
            "new_password": new,
            "confirm_password": new if again is None else again,
        },
    )


def test_sign_in_with_the_right_password_shows_the_own_page(
    client: FlaskClient,
) -> None:
    response = sign_in(client, "alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    page = client.get("/me").get_data(as_text=True)
    assert '<span class="who-name">Alice</span>' in page
    assert '<span class="who-unit">B1</span>' in page  # the unit's Chinese name
    assert '<span class="who-roles">编写人</span>' in page
    assert "编写人 · B1" in page  # the role, in Chinese


def test_a_page_asks_to_sign_in_first(client: FlaskClient) -> None:
    response = client.get("/me")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/").headers["Location"] == "/login"


def test_sign_in_goes_on_to_the_page_asked_for_but_never_off_the_site(
    client: FlaskClient,
) -> None:
    page = client.get("/login?next=//evil.example/x")
    response = client.post(
        "/login?next=//evil.example/x",
        data={
            "csrf_token": csrf_token(page),
            "user_id": "alice",
            "password": secret("alice"),
        },
    )
    assert response.headers["Location"] == "/me"


def test_a_wrong_password_is_refused_with_the_message_beside_the_field(
    client: FlaskClient,
) -> None:
    response = sign_in(client, "alice", "not-her-password")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "有问题需要处理" in page
    assert '<a href="#password">用户名或密码不正确，请检查后重试。</a>' in page
    assert 'id="password-error"' in page
    assert "<title>错误：登录" in page
    assert 'value="alice"' in page  # the user id is kept, the password is not
    assert not _signed_in(client)


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(
    client: FlaskClient,
) -> None:
    response = sign_in(client, "nobody", "whatever-1")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_empty_fields_are_named_in_the_summary(client: FlaskClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "user_id": "", "password": ""}
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert '<a href="#user_id">请输入您的用户名</a>' in text
    assert '<a href="#password">请输入您的密码</a>' in text


def test_five_failures_lock_the_account_for_a_minute_then_it_opens_again(
    client: FlaskClient, clock: FixedClock
) -> None:
    for _ in range(5):
        assert sign_in(client, "alice", "wrong-password").status_code == 401
    locked = sign_in(client, "alice")  # even the right password waits
    assert locked.status_code == 429
    assert "登录失败次数过多。请等待 1 分钟后再试。" in locked.get_data(as_text=True)
    assert not _signed_in(client)
    clock.advance(seconds=61)
    assert sign_in(client, "alice").status_code == 302
    assert _signed_in(client)


def test_the_lock_doubles_but_never_lasts_more_than_fifteen_minutes(
    client: FlaskClient, clock: FixedClock
) -> None:
    waits = []
    for _round in range(7):
        for _ in range(5):
            sign_in(client, "bob", "wrong-password")
        text = sign_in(client, "bob", "wrong-password").get_data(as_text=True)
        minutes = int(text.split("请等待 ")[1].split(" 分钟")[0])
        waits.append(minutes)
        clock.advance(minutes=minutes, seconds=1)
    assert waits == [1, 2, 4, 8, 15, 15, 15]
    assert sign_in(client, "bob").status_code == 302


def test_failures_from_one_address_lock_that_address_for_every_account(
    web_app: Flask,
) -> None:
    attacker = web_app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for n in range(19):  # four tries on each of many accounts: none is locked
        assert sign_in(attacker, f"user{n // 4}", "wrong-password").status_code == 401
    assert sign_in(attacker, "mia", "wrong-password").status_code == 401
    assert sign_in(attacker, "mia").status_code == 429
    # Another address is not held up by it: mia can sign in from her desk.
    desk = web_app.test_client()
    desk.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(desk, "mia").status_code == 302


def test_the_limit_holds_across_workers_sharing_the_database(
    people_store: EventStore,
    people_signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    first = make_web_app(people_store, people_signer, clock, tmp_path / "instance")
    second = make_web_app(people_store, people_signer, clock, tmp_path / "instance")
    try:
        for _ in range(5):
            sign_in(first.test_client(), "alice", "wrong-password")
        assert sign_in(second.test_client(), "alice").status_code == 429
    finally:
        for app in (first, second):
            app.extensions["qms.store"].engine.dispose()


def test_sign_out_ends_the_session_on_the_server(
    client: FlaskClient, web_app: Flask
) -> None:
    sign_in(client, "alice")
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    token = csrf_token(client.get("/me"))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert "您已退出登录。" in _text(client, "/login")
    assert not _signed_in(client)
    # The cookie copied before signing out opens nothing any more.
    thief = web_app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    assert thief.get("/me").status_code == 302


def test_sign_in_starts_a_fresh_session(client: FlaskClient, web_app: Flask) -> None:
    client.get("/login")
    before = client.get_cookie(COOKIE)
    assert before is not None
    sign_in(client, "alice")
    after = client.get_cookie(COOKIE)
    assert after is not None
    assert after.value != before.value
    # Planting a cookie before sign-in gains nothing: the planted one stays anonymous.
    planted = web_app.test_client()
    planted.set_cookie(COOKIE, before.value)
    assert planted.get("/me").status_code == 302


def test_a_session_ends_after_thirty_minutes_without_a_request(
    client: FlaskClient, clock: FixedClock
) -> None:
    sign_in(client, "alice")
    clock.advance(minutes=29)
    assert _signed_in(client)
    clock.advance(minutes=29)  # 29 minutes after the last request: still alive
    assert _signed_in(client)
    clock.advance(minutes=31)
    assert not _signed_in(client)


def test_a_session_ends_twelve_hours_after_sign_in_even_when_used(
    client: FlaskClient, clock: FixedClock
) -> None:
    sign_in(client, "alice")
    for _ in range(28):  # 11 h 40 min of steady use
        clock.advance(minutes=25)
        assert _signed_in(client)
    clock.advance(minutes=25)
    assert not _signed_in(client)


def test_sign_out_is_a_post_only(client: FlaskClient) -> None:
    sign_in(client, "alice")
    assert client.get("/logout").status_code == 405
    assert _signed_in(client)


def test_password_change_ends_other_sessions_and_keeps_this_one_fresh(
    client: FlaskClient, web_app: Flask
) -> None:
    other = web_app.test_client()
    sign_in(client, "alice")
    sign_in(other, "alice")
    before = client.get_cookie(COOKIE)
    assert before is not None
    response = _change(client, secret("alice"), "a-brand-new-secret")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    assert "您的密码已修改。" in _text(client, "/me")
    assert not _signed_in(other)
    stale = web_app.test_client()
    stale.set_cookie(COOKIE, before.value)
    assert not _signed_in(stale)
    fresh = web_app.test_client()
    assert sign_in(fresh, "alice", secret("alice")).status_code == 401
    assert sign_in(fresh, "alice", "a-brand-new-secret").status_code == 302


@pytest.mark.parametrize(
    ("old", "new", "again", "field", "message"),
    [
        ("wrong-current", "a-brand-new-secret", None, "old_password", "当前密码不正确"),
        (None, "short", None, "new_password", "请输入至少 8 个字符的新密码"),
        (
            None,
            "a-brand-new-secret",
            "another-one",
            "confirm_password",
            "两次输入的新密码必须相同",
        ),
        (None, None, None, "new_password", "请设置一个与当前密码不同的新密码"),
    ],
)
def test_a_refused_password_change_says_why_beside_the_field(
    client: FlaskClient,
    old: str | None,
    new: str | None,
    again: str | None,
    field: str,
    message: str,
) -> None:
    sign_in(client, "alice")
    response = _change(client, old or secret("alice"), new or secret("alice"), again)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert f'<a href="#{field}">{message}' in text
    assert f'id="{field}-error"' in text
    assert "<title>错误：我的账户" in text
    assert _signed_in(client)
    fresh = client.application.test_client()
    assert sign_in(fresh, "alice").status_code == 302  # the password is unchanged


def test_a_temporary_password_leads_to_choosing_ones_own(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    service = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    service.handle(
        us.RegisterUser(
            user_id="newbie",
            name="New Person",
            unit="B1",
            email="newbie@example.org",
            temporary_password=TEMP,
        ),
        "root",
    )
    response = sign_in(client, "newbie", TEMP)
    assert response.headers["Location"] == "/me"
    page = _text(client, "/me")
    assert "请先设置您自己的密码再继续。" in page
    assert "您仍在使用管理员给您的临时密码" in page
    size = people_store.size()
    assert _change(client, TEMP, "my-own-password").status_code == 302
    assert people_store.size() > size  # a new e-signature key under her own password
    assert "您仍在使用管理员给您的临时密码" not in _text(client, "/me")


def test_with_a_temporary_password_other_pages_wait_for_ones_own(
    web_app: Flask, client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    web_app.add_url_rule("/elsewhere", "elsewhere", lambda: "elsewhere")
    Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    ).handle(
        us.RegisterUser(
            user_id="newbie",
            name="New Person",
            unit="B1",
            email="newbie@example.org",
            temporary_password=TEMP,
        ),
        "root",
    )
    sign_in(client, "newbie", TEMP)
    assert client.get("/elsewhere").headers["Location"] == "/me"
    _change(client, TEMP, "my-own-password")
    assert client.get("/elsewhere").get_data(as_text=True) == "elsewhere"
    other = web_app.test_client()
    sign_in(other, "alice")
    assert other.get("/elsewhere").status_code == 200


def test_two_workers_creating_the_session_tables_at_once_both_go_on(
    pg_url: str, clock: FixedClock
) -> None:
    # The second worker finds the tables missing, but the first creates them just
    # before its own CREATE TABLE runs: the database refuses it as a duplicate.
    worker = create_engine(pg_url)
    other = create_engine(pg_url)

    raced: list[str] = []

    def first_worker_wins(table: Table, connection: object, **_: object) -> None:
        if table.name == "web_sessions" and not raced:
            raced.append(table.name)
            with other.begin() as conn:
                table.create(conn, checkfirst=True)

    event.listen(web_sessions, "before_create", first_worker_wins)
    try:
        sessions = Sessions(worker, clock)
        token = sessions.open("alice")
        row = sessions.lookup(token)
        assert row is not None
        assert row.user_id == "alice"
        assert raced == ["web_sessions"]
    finally:
        event.remove(web_sessions, "before_create", first_worker_wins)
        worker.dispose()
        other.dispose()
