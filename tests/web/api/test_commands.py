"""Commands over the API: created/changed answers with the version as ETag, idempotent
retries, stale If-Match, roles the token's owner lacks, e-signatures that need the
password every time, and problem details naming the fields; nothing stored on refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.store import EventStore
from tests.support.service import secret
from tests.web.api.conftest import bearer


def _store(web_app: Flask) -> EventStore:
    store = web_app.extensions["qms.store"]
    assert isinstance(store, EventStore)
    return store


def _draft(web_app: Flask, doc_id: str = "QP-07") -> dict[str, Any]:
    data = b"rev A"
    return {
        "doc_id": doc_id,
        "unit": "B1",
        "title": "Control of records",
        "kind": "procedure",
        "content": {
            "blob": _store(web_app).put_blob(data),
            "size": len(data),
            "name": "doc.pdf",
            "media_type": "application/pdf",
        },
    }


def _post(
    client: FlaskClient, token: str, name: str, body: dict[str, Any], **headers: str
) -> TestResponse:
    return client.post(
        f"/api/v1/commands/{name}", json=body, headers={**bearer(token), **headers}
    )


def test_a_command_that_makes_a_record_answers_201_with_its_version(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    store = _store(web_app)
    before = store.size()
    answer = _post(client, token_for("alice"), "draft-document", _draft(web_app))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["stream"] == "document/QP-07"
    assert body["version"] == 1
    assert answer.headers["ETag"] == '"1"'
    assert [e["seq"] for e in body["events"]] == [before + 1]
    assert body["events"][0]["type"] == "document.drafted"
    assert store.size() == before + 1

    record = client.get("/api/v1/documents/QP-07", headers=bearer(token_for("bob")))
    assert record.status_code == 200
    assert record.headers["ETag"] == '"1"'
    assert record.get_json()["status"] == "drafted"


def test_a_retry_with_the_same_key_answers_the_first_result_and_records_nothing(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    store = _store(web_app)
    token = token_for("alice")
    draft = _draft(web_app)
    first = _post(client, token, "draft-document", draft, **{"Idempotency-Key": "k-1"})
    size = store.size()
    again = _post(client, token, "draft-document", draft, **{"Idempotency-Key": "k-1"})
    assert again.status_code == first.status_code == 201
    assert again.get_json() == first.get_json()
    assert store.size() == size

    by_field = _post(
        client, token, "submit-document", {"doc_id": "QP-07", "command_id": "s-1"}
    )
    assert by_field.status_code == 200
    size = store.size()
    retried = _post(
        client, token, "submit-document", {"doc_id": "QP-07", "command_id": "s-1"}
    )
    assert retried.status_code == 200
    assert retried.get_json() == by_field.get_json()
    assert store.size() == size


def test_a_stale_if_match_gets_412_and_nothing_is_stored(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    store = _store(web_app)
    token = token_for("alice")
    _post(client, token, "draft-document", _draft(web_app))
    size = store.size()
    stale = _post(
        client, token, "submit-document", {"doc_id": "QP-07"}, **{"If-Match": '"0"'}
    )
    assert stale.status_code == 412
    assert stale.content_type == "application/problem+json"
    assert store.size() == size
    fresh = _post(
        client, token, "submit-document", {"doc_id": "QP-07"}, **{"If-Match": '"1"'}
    )
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == '"2"'
    malformed = _post(
        client, token, "submit-document", {"doc_id": "QP-07"}, **{"If-Match": "soon"}
    )
    assert malformed.status_code == 400
    assert "If-Match" in malformed.get_json()["errors"]


def test_a_token_cannot_do_what_its_owners_roles_do_not_allow(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    store = _store(web_app)
    size = store.size()
    answer = _post(client, token_for("vic"), "draft-document", _draft(web_app))
    assert answer.status_code == 403
    assert answer.get_json()["status"] == 403
    assert store.size() == size
    other_unit = _post(client, token_for("zoe"), "draft-document", _draft(web_app))
    assert other_unit.status_code == 403
    assert store.size() == size


def test_an_e_signature_needs_the_signers_password_every_time(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    store = _store(web_app)
    alice, bob = token_for("alice"), token_for("bob")
    _post(client, alice, "draft-document", _draft(web_app))
    _post(client, alice, "submit-document", {"doc_id": "QP-07"})
    reviewed = _post(
        client, bob, "review-document", {"doc_id": "QP-07", "outcome": "endorsed"}
    )
    assert reviewed.status_code == 200, reviewed.get_data(as_text=True)
    size = store.size()

    missing = _post(client, bob, "approve-document", {"doc_id": "QP-07"})
    assert missing.status_code == 422
    assert "password" in missing.get_json()["errors"]
    wrong = _post(
        client, bob, "approve-document", {"doc_id": "QP-07", "password": "guess"}
    )
    assert wrong.status_code == 422
    assert "password" in wrong.get_json()["errors"]
    assert store.size() == size

    signed = _post(
        client, bob, "approve-document", {"doc_id": "QP-07", "password": secret("bob")}
    )
    assert signed.status_code == 200, signed.get_data(as_text=True)
    assert store.size() > size


def test_a_broken_body_is_a_problem_naming_each_field(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    store = _store(web_app)
    size = store.size()
    body = {**_draft(web_app), "review_interval_months": "often", "colour": "red"}
    del body["title"]
    answer = _post(client, token_for("alice"), "draft-document", body)
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    problem = answer.get_json()
    assert set(problem) >= {"type", "title", "status", "detail", "errors"}
    assert set(problem["errors"]) == {"title", "review_interval_months", "colour"}
    assert all(isinstance(m, list) and m for m in problem["errors"].values())

    rule = _post(
        client,
        token_for("alice"),
        "draft-document",
        {**_draft(web_app), "kind": "poem"},
    )
    assert rule.status_code == 422
    assert "kind" in rule.get_json()["errors"]

    not_json = client.post(
        "/api/v1/commands/draft-document",
        data="{",
        content_type="application/json",
        headers=bearer(token_for("alice")),
    )
    assert not_json.status_code in (400, 422)
    assert not_json.content_type == "application/problem+json"
    assert store.size() == size


def test_a_command_on_no_record_is_404(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    answer = _post(client, token_for("alice"), "submit-document", {"doc_id": "NONE"})
    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"


def test_wrong_method_and_address_are_problems(
    client: FlaskClient, token_for: Callable[[str], str]
) -> None:
    token = token_for("alice")
    assert (
        client.get("/api/v1/commands/draft-document", headers=bearer(token)).status_code
        == 405
    )
    missing = client.get("/api/v1/nothing-here", headers=bearer(token))
    assert missing.status_code == 404
    assert missing.get_json()["status"] == 404


def test_a_file_is_stored_first_then_referred_to(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    token = token_for("alice")
    size = _store(web_app).size()
    stored = client.post(
        "/api/v1/blobs",
        data=b"%PDF-1.7 rev A",
        content_type="application/pdf",
        headers=bearer(token),
    )
    assert stored.status_code == 201
    blob = stored.get_json()
    assert blob["size"] == 14
    assert blob["media_type"] == "application/pdf"
    assert _store(web_app).size() == size  # nothing in the ledger yet
    body = {**_draft(web_app), "content": {**blob, "name": "QP-07.pdf"}}
    assert _post(client, token, "draft-document", body).status_code == 201

    empty = client.post("/api/v1/blobs", data=b"", headers=bearer(token))
    assert empty.status_code == 422
    assert "body" in empty.get_json()["errors"]
    assert client.post("/api/v1/blobs", data=b"x").status_code == 401
