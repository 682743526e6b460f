"""Reads over the API: registers with the UI's filters, search, sort and pages
(X-Pagination), records with their version as ETag, as_of reads of the past, another
unit's record as 404, and bad parameters as problems naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.domain import findings as f
from ledger.store import EventStore
from tests.web.api.conftest import bearer
from web.wiring import current_wiring


def _raise(web_app: Flask, finding_id: str, unit: str, description: str) -> None:
    store: EventStore = web_app.extensions["qms.store"]
    with web_app.app_context():
        current_wiring().service().handle(
            f.RaiseFinding(
                finding_id=finding_id,
                unit=unit,
                source="supervision",
                classification="minor",
                criterion={"clause": "7.5.3"},
                description=description,
                evidence=[
                    {
                        "blob": store.put_blob(b"photo"),
                        "size": 5,
                        "name": "photo.jpg",
                        "media_type": "image/jpeg",
                    }
                ],
                due_on=date(2026, 3, 31),
            ),
            "carol",
        )


def test_a_register_pages_searches_and_sorts_like_the_ui(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    for n in range(1, 4):
        _raise(web_app, f"F-{n}", "B1", f"records not signed {n}")
    token = token_for("carol")
    answer = client.get(
        "/api/v1/findings?per_page=2&sort=id&desc=true&q=signed", headers=bearer(token)
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert [i["finding_id"] for i in body["items"]] == ["F-3", "F-2"]
    assert (body["total"], body["pages"], body["page"]) == (3, 2, 1)
    assert json.loads(answer.headers["X-Pagination"]) == {
        "total": 3,
        "page": 1,
        "per_page": 2,
        "pages": 2,
    }
    second = client.get(
        "/api/v1/findings?per_page=2&page=2&sort=id", headers=bearer(token)
    )
    assert [i["finding_id"] for i in second.get_json()["items"]] == ["F-3"]
    none = client.get("/api/v1/findings?q=nothing-like-it", headers=bearer(token))
    assert none.get_json()["total"] == 0


def test_another_units_record_is_not_there(
    client: FlaskClient, web_app: Flask, token_for: Callable[[str], str]
) -> None:
    _raise(web_app, "F-1", "B1", "records not signed")
    _raise(web_app, "F-2", "B2", "forms missing")
    dave = token_for("dave")  # owner in B1
    assert client.get("/api/v1/findings/F-1", headers=bearer(dave)).status_code == 200
    hidden = client.get("/api/v1/findings/F-2", headers=bearer(dave))
    assert hidden.status_code == 404
    assert hidden.content_type == "application/problem+json"
    listed = client.get("/api/v1/findings", headers=bearer(dave)).get_json()
    assert [i["finding_id"] for i in listed["items"]] == ["F-1"]
    refused = client.get("/api/v1/findings?unit=B2", headers=bearer(dave))
    assert refused.status_code == 422
    assert "unit" in refused.get_json()["errors"]


def test_as_of_reads_the_record_as_it_stood(
    client: FlaskClient,
    web_app: Flask,
    token_for: Callable[[str], str],
    clock: FixedClock,
) -> None:
    _raise(web_app, "F-1", "B1", "records not signed")
    before = clock.now().isoformat()
    clock.advance(hours=1)
    with web_app.app_context():
        current_wiring().service().handle(
            f.ContainFinding(finding_id="F-1", action="records locked"), "dave"
        )
    token = token_for("carol")
    now = client.get("/api/v1/findings/F-1", headers=bearer(token))
    assert now.headers["ETag"] == '"2"'
    assert now.get_json()["status"] != "raised"
    then = client.get(
        "/api/v1/findings/F-1", query_string={"as_of": before}, headers=bearer(token)
    )
    assert then.status_code == 200
    assert then.headers["ETag"] == '"1"'
    assert then.get_json()["status"] == "raised"
    earlier = client.get(
        "/api/v1/findings",
        query_string={"as_of": "2025-01-01T00:00:00+08:00"},
        headers=bearer(token),
    )
    assert earlier.get_json()["total"] == 0
    gone = client.get(
        "/api/v1/findings/F-1",
        query_string={"as_of": "2025-01-01T00:00:00Z"},
        headers=bearer(token),
    )
    assert gone.status_code == 404


def test_bad_parameters_are_problems_naming_the_field(
    client: FlaskClient, token_for: Callable[[str], str]
) -> None:
    token = token_for("carol")
    for query, name in [
        ({"as_of": "yesterday"}, "as_of"),
        ({"as_of": "2026-01-01T10:00:00"}, "as_of"),  # no offset: not an instant
        ({"as_of": "2999-01-01T00:00:00Z"}, "as_of"),
        ({"sort": "colour"}, "sort"),
        ({"page": "0"}, "page"),
        ({"per_page": "100000"}, "per_page"),
        ({"classification": "huge"}, "classification"),
    ]:
        answer = client.get(
            "/api/v1/findings", query_string=query, headers=bearer(token)
        )
        assert answer.status_code == 422, query
        assert answer.content_type == "application/problem+json"
        assert name in answer.get_json()["errors"], query


def test_every_register_answers(
    client: FlaskClient, token_for: Callable[[str], str]
) -> None:
    token = token_for("root")
    for name in (
        "documents",
        "audits",
        "findings",
        "indicators",
        "reviews",
        "units",
        "users",
    ):
        answer = client.get(f"/api/v1/{name}", headers=bearer(token))
        assert answer.status_code == 200, name
        assert "X-Pagination" in answer.headers
    user = client.get("/api/v1/users/alice", headers=bearer(token))
    assert user.status_code == 200
    assert user.get_json()["unit"] == "B1"
    assert user.headers["ETag"].strip('"').isdigit()
    assert (
        client.get("/api/v1/users", headers=bearer(token_for("alice"))).status_code
        == 403
    )
