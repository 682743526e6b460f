"""API tokens: made on one's own page (shown once) or by `qms token create`, listed,
revoked by their owner or an administrator; a revoked or expired token gets 401."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from tests.support.webapp import csrf_token, sign_in
from tests.web.api.conftest import bearer
from web.api.auth import current_tokens

TOKEN = re.compile(r'<code id="new-token">(qms_[A-Za-z0-9_-]+)</code>')


def _create_on_page(
    client: FlaskClient, name: str = "complaints desk", days: str = "30"
) -> str:
    page = client.get("/me")
    made = client.post(
        "/me/tokens",
        data={"csrf_token": csrf_token(page), "name": name, "days": days},
    )
    assert made.status_code == 201
    found = TOKEN.search(made.get_data(as_text=True))
    assert found, "the new token is shown"
    return found.group(1)


def test_a_person_makes_lists_and_revokes_a_token_on_their_page(
    client: FlaskClient,
) -> None:
    sign_in(client, "alice")
    token = _create_on_page(client)
    assert client.get("/api/v1/documents", headers=bearer(token)).status_code == 200

    page = client.get("/me").get_data(as_text=True)
    assert "complaints desk" in page
    assert token not in page  # shown once only
    revoke = re.search(r'action="(/me/tokens/[0-9a-f]+/revoke)"', page)
    assert revoke
    done = client.post(
        revoke.group(1), data={"csrf_token": csrf_token(client.get("/me"))}
    )
    assert done.status_code == 302

    refused = client.get("/api/v1/documents", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.content_type == "application/problem+json"
    assert "已撤销" in client.get("/me").get_data(as_text=True)  # "Revoked"


def test_a_token_needs_a_name_and_a_sensible_lifetime(client: FlaskClient) -> None:
    sign_in(client, "alice")
    page = client.get("/me")
    answer = client.post(
        "/me/tokens", data={"csrf_token": csrf_token(page), "name": "", "days": "999"}
    )
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "请为令牌命名" in text  # "Give the token a name"
    assert (
        "请输入 1 到 366 之间的天数" in text
    )  # "Enter a number of days from 1 to 366"
    assert "new-token" not in text


def test_one_cannot_revoke_another_persons_token_from_ones_own_page(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    token = token_for("bob")
    with web_app.app_context():
        (info,) = current_tokens().of_user("bob")
    sign_in(client, "alice")
    answer = client.post(
        f"/me/tokens/{info.token_id}/revoke",
        data={"csrf_token": csrf_token(client.get("/me"))},
    )
    assert answer.status_code == 404
    assert client.get("/api/v1/documents", headers=bearer(token)).status_code == 200


def test_an_administrator_revokes_anyones_token(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    token = token_for("bob")
    sign_in(client, "root")
    page = client.get("/admin/users/bob")
    text = page.get_data(as_text=True)
    assert "tests" in text
    action = re.search(r'action="(/admin/users/bob/tokens/[0-9a-f]+/revoke)"', text)
    assert action
    done = client.post(action.group(1), data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302
    assert client.get("/api/v1/documents", headers=bearer(token)).status_code == 401


def test_a_non_administrator_cannot_revoke_from_the_admin_page(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    token_for("bob")
    with web_app.app_context():
        (info,) = current_tokens().of_user("bob")
    sign_in(client, "alice")
    answer = client.post(
        f"/admin/users/bob/tokens/{info.token_id}/revoke",
        data={"csrf_token": csrf_token(client.get("/me"))},
    )
    assert answer.status_code == 403


def test_an_expired_token_gets_401(
    client: FlaskClient, token_for: Callable[[str], str], clock: FixedClock
) -> None:
    token = token_for("alice", days=1)
    assert client.get("/api/v1/documents", headers=bearer(token)).status_code == 200
    clock.advance(days=1, seconds=1)
    answer = client.get("/api/v1/documents", headers=bearer(token))
    assert answer.status_code == 401
    assert answer.get_json()["errors"]["Authorization"]


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer qms_not-a-token", "Basic YWxpY2U6cHc="]
)
def test_no_valid_token_gets_401(client: FlaskClient, header: str) -> None:
    answer = client.get(
        "/api/v1/documents", headers={"Authorization": header} if header else {}
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    body = answer.get_json()
    assert body["status"] == 401
    assert body["title"]
    assert body["detail"]


def test_a_signed_in_browser_cookie_is_not_enough(client: FlaskClient) -> None:
    sign_in(client, "alice")
    assert client.get("/api/v1/documents").status_code == 401


def test_the_cli_makes_and_revokes_tokens(
    web_app: Flask,
    client: FlaskClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.support.cli import Qms

    url = web_app.extensions["qms.store"].engine.url.render_as_string(
        hide_password=False
    )
    qms = Qms(tmp_path / "instance", url, monkeypatch, capsys)
    monkeypatch.setenv("QMS_ORIGIN", web_app.extensions["qms.store"].origin)
    code, out, err = qms(
        "token", "create", "--user", "alice", "--name", "desk", "--days", "7"
    )
    assert code == 0, err
    token = out.strip()
    assert token.startswith("qms_")
    assert client.get("/api/v1/documents", headers=bearer(token)).status_code == 200
    token_id = re.search(r"token id ([0-9a-f]+)", err)
    assert token_id

    code, out, err = qms("token", "revoke", token_id.group(1))
    assert code == 0, err
    assert client.get("/api/v1/documents", headers=bearer(token)).status_code == 401

    code, _out, err = qms("token", "create", "--user", "nobody", "--name", "x")
    assert code == 2
    assert "nobody" in err
    code, _out, err = qms("token", "revoke", "ffff")
    assert code == 2
