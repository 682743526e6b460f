"""Administration: units, people, roles, passwords and sign-offs, as an administrator sees them."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.service import Service
from ledger.store import EventStore
from projections import queries as q
from projections.runner import InlineProjector
from tests.support.service import endorsed, secret
from tests.support.webapp import (
    client,
    csrf_token,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

XSS = "<script>alert(1)</script>"
HIDDEN = re.compile(r'name="(command_id|version)" type="hidden" value="([^"]*)"')


def _form(page: TestResponse) -> dict[str, str]:
    """The hidden fields of the page's command form and its CSRF token."""
    found = dict(HIDDEN.findall(page.get_data(as_text=True)))
    return {"csrf_token": csrf_token(page), **found}


def _admin(client: FlaskClient) -> FlaskClient:
    assert sign_in(client, "root").status_code == 302
    return client


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _post(client: FlaskClient, url: str, **fields: str) -> TestResponse:
    page = client.get(url)
    assert page.status_code == 200, url
    return client.post(url, data={**_form(page), **fields})


def test_units_tree_shows_every_unit_with_its_name(client: FlaskClient) -> None:
    page = _admin(client).get("/admin/units")
    assert page.status_code == 200
    body = _text(page)
    assert "HQ · 总局" in body
    assert "B1 · B1" in body
    assert "B2 · B2" in body
    assert 'href="/admin/units/new"' in body


def test_create_unit_under_a_parent_records_it_and_confirms(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    answer = _post(
        client,
        "/admin/units/new",
        code="B3",
        name_zh="第三局",
        name_en="Bureau 3",
        kind="bureau",
        parent="HQ",
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/units/B3"
    assert people_store.stream_version("unit/B3") == 1
    shown = client.get("/admin/units/B3")
    assert "已新建单位 B3。" in _text(shown)
    assert "第三局" in _text(shown)
    assert "单位类别: \u2013 → 局" in _text(shown)  # the kind in words in the history
    assert "Bureau 3" in _text(shown)


def test_create_unit_with_a_wrong_code_shows_the_message_and_stores_nothing(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    before = people_store.size()
    answer = _post(
        client,
        "/admin/units/new",
        code="b 3",
        name_zh="x",
        name_en="y",
        kind="bureau",
        parent="HQ",
    )
    assert answer.status_code == 422
    body = _text(answer)
    assert "有问题需要处理" in body
    assert 'href="#code"' in body
    assert 'id="code-error"' in body
    assert 'value="b 3"' in body
    assert people_store.size() == before


def test_a_rule_of_the_ledger_shows_beside_the_field(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    before = people_store.size()
    answer = _post(
        client,
        "/admin/units/new",
        code="B1",
        name_zh="x",
        name_en="y",
        kind="bureau",
        parent="HQ",
    )
    assert answer.status_code == 422
    assert "单位 B1 已存在" in _text(answer)
    assert 'id="code-error"' in _text(answer)
    assert people_store.size() == before


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    page = client.get("/admin/units/B1/close")
    fields = _form(page)
    del fields["csrf_token"]
    before = people_store.size()
    answer = client.post("/admin/units/B1/close", data={**fields, "reason": "merged"})
    assert answer.status_code == 400
    assert people_store.size() == before


def test_people_who_are_not_administrators_may_not_open_administration(
    client: FlaskClient,
) -> None:
    sign_in(client, "hank")
    assert client.get("/admin/units").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/alice").status_code == 403
    assert client.post("/admin/units/new", data={}).status_code in (400, 403)


def test_rename_unit_needs_a_reason_then_records_the_new_name(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    before = people_store.size()
    answer = _post(
        client, "/admin/units/B1/rename", name_zh="北京局", name_en="Beijing", reason=""
    )
    assert answer.status_code == 422
    assert 'id="reason-error"' in _text(answer)
    assert people_store.size() == before
    answer = _post(
        client,
        "/admin/units/B1/rename",
        name_zh="北京局",
        name_en=XSS,
        reason="new name " + XSS,
    )
    assert answer.status_code == 302
    page = client.get("/admin/units/B1")
    body = _text(page)
    assert "北京局" in body
    assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert people_store.stream_version("unit/B1") == 2


def test_close_unit_twice_from_one_form_records_one_event(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    page = client.get("/admin/units/B2/close")
    fields = {**_form(page), "reason": "merged into B1"}
    first = client.post("/admin/units/B2/close", data=fields)
    assert first.status_code == 302
    size = people_store.size()
    again = client.post("/admin/units/B2/close", data=fields)
    assert again.status_code in (302, 409)
    assert people_store.size() == size
    shown = _text(client.get("/admin/units/B2"))
    assert "merged into B1" in shown
    assert "/admin/units/B2/close" not in shown
    closed = client.get("/admin/units/B2/rename")
    assert closed.status_code == 302
    assert "不能再更改" in _text(client.get(closed.headers["Location"]))


def test_a_stale_version_shows_the_conflict_and_stores_nothing(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    page = client.get("/admin/units/B2/rename")
    stale = _form(page)
    assert (
        _post(
            client, "/admin/units/B2/rename", name_zh="二局", name_en="Two", reason="r"
        ).status_code
        == 302
    )
    size = people_store.size()
    answer = client.post(
        "/admin/units/B2/rename",
        data={**stale, "name_zh": "三局", "name_en": "Three", "reason": "r2"},
    )
    assert answer.status_code == 409
    assert people_store.size() == size


def test_register_a_person_shows_the_temporary_password_once(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    page = client.get("/admin/users/new")
    fields = {
        **_form(page),
        "user_id": "nina",
        "name": "Nina " + XSS,
        "email": "nina@example.org",
        "unit": "B1",
        "temporary_password": "",
    }
    answer = client.post("/admin/users/new", data=fields)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    shown = re.search(r'class="temporary-password">([^<]+)<', _text(answer))
    assert shown is not None
    assert XSS not in _text(answer)
    assert people_store.stream_version("user/nina") == 2
    again = client.post("/admin/users/new", data=fields)
    assert again.status_code == 302
    assert shown.group(1) not in _text(client.get(again.headers["Location"]))
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/me"))})
    assert sign_in(client, "nina", shown.group(1)).status_code == 302
    assert client.get("/me").status_code == 200


def test_register_a_person_with_a_typed_password_and_a_taken_id(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    before = people_store.size()
    answer = _post(
        client,
        "/admin/users/new",
        user_id="alice",
        name="Another Alice",
        email="a2@example.org",
        unit="B1",
        temporary_password="typed-by-admin",
    )
    assert answer.status_code == 422
    assert "用户名 alice 已被使用" in _text(answer)
    assert 'id="user_id-error"' in _text(answer)
    assert people_store.size() == before
    answer = _post(
        client,
        "/admin/users/new",
        user_id="otto",
        name="Otto",
        email="otto",
        unit="B1",
        temporary_password="short",
    )
    assert answer.status_code == 422
    assert 'id="email-error"' in _text(answer)
    assert 'id="temporary_password-error"' in _text(answer)


def test_users_register_searches_and_pages_and_exports(client: FlaskClient) -> None:
    _admin(client)
    page = client.get("/admin/users")
    body = _text(page)
    assert page.status_code == 200
    assert "/admin/users/alice" in body
    assert "/admin/users/zoe" in body
    found = _text(client.get("/admin/users?search=B2+example"))
    assert "/admin/users/zoe" in found
    assert "/admin/users/alice" not in found
    assert client.get("/admin/users?page=0").status_code == 400
    csv = client.get("/admin/users?format=csv&search=zoe")
    assert csv.mimetype == "text/csv"
    assert "zoe@example.org" in _text(csv)
    assert "alice" not in _text(csv)


def test_grant_and_revoke_a_role(
    client: FlaskClient, people_store: EventStore, web_app: Flask
) -> None:
    _admin(client)
    answer = _post(client, "/admin/users/vic/grant", role="author", scope="B1")
    assert answer.status_code == 302
    shown = _text(client.get("/admin/users/vic"))
    assert "已授予角色。" in shown
    store = people_store
    roles = {(r.role, r.scope) for r in q.user(store.engine, store, "vic").roles}
    assert ("author", "B1") in roles
    again = _post(client, "/admin/users/vic/grant", role="author", scope="B1")
    assert again.status_code == 422
    assert "vic 已在 B1 担任编写人" in _text(again)
    missing = _post(client, "/admin/users/vic/revoke", held="author@B1", reason="")
    assert missing.status_code == 422
    assert 'id="reason-error"' in _text(missing)
    done = _post(client, "/admin/users/vic/revoke", held="author@B1", reason="left")
    assert done.status_code == 302
    roles = {(r.role, r.scope) for r in q.user(store.engine, store, "vic").roles}
    assert ("author", "B1") not in roles


def test_move_and_deactivate_a_person(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    assert (
        _post(client, "/admin/users/vic/move", unit="B2", reason="").status_code == 422
    )
    assert (
        _post(client, "/admin/users/vic/move", unit="B2", reason="transfer").status_code
        == 302
    )
    store = people_store
    assert q.user(store.engine, store, "vic").unit == "B2"
    assert (
        _post(
            client, "/admin/users/vic/deactivate", reason="left the agency"
        ).status_code
        == 302
    )
    page = _text(client.get("/admin/users/vic"))
    assert "left the agency" in page
    assert "/admin/users/vic/grant" not in page
    refused = client.get("/admin/users/vic/grant")
    assert refused.status_code == 302
    assert "已停用" in _text(client.get(refused.headers["Location"]))


def test_reset_password_shows_a_temporary_one_and_says_own_first(
    client: FlaskClient, people_store: EventStore
) -> None:
    _admin(client)
    page = client.get("/admin/users/alice/reset")
    assert "必须先设置自己的密码" in _text(page)
    answer = client.post(
        "/admin/users/alice/reset", data={**_form(page), "temporary_password": ""}
    )
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert re.search(r'class="temporary-password">([^<]+)<', _text(answer))
    history = q.record_history(people_store.engine, people_store, "user/alice")
    assert history.entries[-1].type == "user.esign_key_issued"


def test_signoffs_page_lists_the_persons_signatures(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    service = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    endorsed(service, "QP-07")
    service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob"))
    seq = people_store.size()
    _admin(client)
    page = client.get("/admin/users/bob/signoffs")
    assert page.status_code == 200
    body = _text(page)
    assert 'href="/documents/QP-07"' in body
    assert f">{seq}<" in body
    empty = _text(client.get("/admin/users/alice/signoffs"))
    assert "QP-07" not in empty


def test_pages_as_of_an_earlier_moment_show_the_state_then_and_no_forms(
    client: FlaskClient, clock: FixedClock
) -> None:
    clock.advance(hours=48)
    _admin(client)
    renamed = _post(
        client, "/admin/units/B2/rename", name_zh="二局", name_en="Two", reason="r"
    )
    assert renamed.status_code == 302
    assert (
        _post(client, "/admin/users/vic/deactivate", reason="left").status_code == 302
    )
    then = {"as_of": "2026-01-05"}  # the end of that day: before both changes
    unit = _text(client.get("/admin/units/B2", query_string=then))
    assert "banner-as-of" in unit
    assert "二局" not in unit
    assert "/admin/units/B2/rename" not in unit
    now = _text(client.get("/admin/units/B2"))
    assert "二局" in now
    assert "/admin/units/B2/rename" in now
    user = _text(client.get("/admin/users/vic", query_string=then))
    assert "banner-as-of" in user
    assert "/admin/users/vic/move" not in user
    assert "left" not in user.split('id="history-title"')[1]
    listing = _text(client.get("/admin/users", query_string=then))
    assert "/admin/users/new" not in listing
    assert "/admin/units/new" not in _text(
        client.get("/admin/units", query_string=then)
    )
    assert client.get("/admin/units/B2/rename", query_string=then).status_code == 302


def test_an_administrator_of_one_bureau_sees_and_changes_only_its_units_and_people(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    from ledger.domain import users as us

    service = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    service.handle(us.GrantRole(user_id="mia", role="admin", scope="B1"), "root")
    sign_in(client, "mia")
    listing = _text(client.get("/admin/users"))
    assert "/admin/users/alice" in listing
    assert "/admin/users/zoe" not in listing
    assert client.get("/admin/users/zoe").status_code == 404
    assert client.get("/admin/units/B2").status_code == 404
    assert client.get("/admin/units/B2/close").status_code == 404
    tree = _text(client.get("/admin/units"))
    assert "/admin/units/B1" in tree
    assert "/admin/units/B2" not in tree
    assert "B2 · B2" in tree  # the whole tree is shown, for orientation
    own = _text(client.get("/admin/units/B1"))
    assert 'href="/admin/units/HQ"' not in own
    page = client.get("/admin/users/alice/move")
    assert 'value="B2"' not in _text(page)
    before = people_store.size()
    answer = client.post(
        "/admin/users/alice/move", data={**_form(page), "unit": "B2", "reason": "r"}
    )
    assert answer.status_code == 422
    assert people_store.size() == before


def test_a_person_without_the_admin_role_cannot_record_with_a_valid_token(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "hank")
    token = csrf_token(client.get("/me"))
    before = people_store.size()
    answer = client.post(
        "/admin/units/B1/close",
        data={
            "csrf_token": token,
            "command_id": "0" * 32,
            "version": "1",
            "reason": "x",
        },
    )
    assert answer.status_code == 403
    assert people_store.size() == before


def test_a_wrong_as_of_is_named_beside_the_field(client: FlaskClient) -> None:
    _admin(client)
    page = client.get("/admin/units", query_string={"as_of": "yesterday"})
    body = _text(page)
    assert 'id="as_of-error"' in body
    assert "<title>错误" in body
    assert "banner-as-of" not in body


def test_users_register_sorts_and_pages(client: FlaskClient) -> None:
    _admin(client)
    first = _text(client.get("/admin/users?sort=name&desc=1&per_page=3"))
    assert 'aria-sort="descending"' in first
    assert first.index("/admin/users/zoe") < first.index("/admin/users/vic")
    assert "/admin/users/alice" not in first
    assert "第 1 页，共 " in first
    last = _text(client.get("/admin/users?sort=name&desc=1&per_page=3&page=4"))
    assert "/admin/users/alice" in last
    assert "/admin/users/zoe" not in last
    assert client.get("/admin/users?sort=password").status_code == 400
    assert client.get("/admin/users?per_page=0").status_code == 400
    csv = _text(client.get("/admin/users?format=csv&sort=name&desc=1"))
    assert csv.index("zoe@example.org") < csv.index("alice@example.org")
