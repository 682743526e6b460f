"""The catalogue's schema messages and coded values, as the reader sees them: a message
for an item of a list names the item, in Chinese or English; the attendees of a
review are accepted however they are separated; marshmallow's common messages and the
catalogue's own have translations; states, kinds and sources read as words."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import fields, validate

from ledger.domain import findings as f
from ledger.service import Service
from ledger.store import EventStore
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_findings import form_data, raise_finding
from tests.web.test_indicators import post_form, service
from web.messages import SCHEMA_MESSAGES, field_messages, rule_msgid, translated

__all__ = [
    "client",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]

ROOT = Path(__file__).resolve().parents[2]
REVIEW = {
    "review_id": "MR-2026",
    "unit": "B1",
    "held_on": "2026-01-05",
    "decisions": "",
    "actions": "",
    "report_as_of": "",
}


def _attendees(store: EventStore) -> object:
    (held,) = list(store.read_stream("review/MR-2026"))
    return held.data["attendees"]


@pytest.mark.parametrize(
    "typed",
    ["mia, bob，dave", "mia、bob、dave", "mia bob  dave", "mia\r\nbob;dave\n"],
)
def test_attendees_separated_as_people_type_them(
    client: FlaskClient, people_store: EventStore, typed: str
) -> None:
    sign_in(client, "mia")
    answer, _ = post_form(client, "/reviews/new", {**REVIEW, "attendees": typed})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert _attendees(people_store) == ["mia", "bob", "dave"]


def test_the_attendees_hint_says_how_to_separate_them(client: FlaskClient) -> None:
    sign_in(client, "mia")
    client.set_cookie("qms_lang", "en")
    page = client.get("/reviews/new").get_data(as_text=True)
    assert "one a line or separated by commas or spaces" in page
    client.set_cookie("qms_lang", "zh_CN")
    page = client.get("/reviews/new").get_data(as_text=True)
    assert "用逗号、顿号、空格分隔" in page


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Attendee 2: not a user id"),
        ("zh_CN", "第 2 位参加人员：不是有效的用户名"),
    ],
)
def test_a_wrong_attendee_is_named_in_a_sentence(
    client: FlaskClient, people_store: EventStore, language: str, message: str
) -> None:
    sign_in(client, "mia")
    client.set_cookie("qms_lang", language)
    before = people_store.size()
    answer, _ = post_form(client, "/reviews/new", {**REVIEW, "attendees": "mia BOB!"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert text.count(message) == 2  # beside the field and in the summary
    assert 'id="attendees-error"' in text
    assert "{1:" not in text
    assert "[&#39;" not in text
    assert people_store.size() == before


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Action 1: Owner: not a user id"),
        ("zh_CN", "第 1 项措施：负责人：不是有效的用户名"),
    ],
)
def test_a_wrong_field_of_a_listed_action_is_named(
    client: FlaskClient, people_store: EventStore, language: str, message: str
) -> None:
    sign_in(client, "mia")
    client.set_cookie("qms_lang", language)
    before = people_store.size()
    actions = "Train the clerks | Dave! | 2026-04-30"
    answer, _ = post_form(
        client, "/reviews/new", {**REVIEW, "attendees": "mia", "actions": actions}
    )
    assert answer.status_code == 422
    assert answer.get_data(as_text=True).count(message) == 2
    assert people_store.size() == before


def test_nested_messages_become_sentences(web_app: Flask) -> None:
    said = {0: {"owner": ["not a user id"], "due_on": ["Not a valid string."]}}
    with web_app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
        assert field_messages(["not a unit code"]) == ["not a unit code"]
        assert field_messages("Unknown field.") == ["Unknown field."]
        assert field_messages(said, "actions") == [
            "Action 1: Owner: not a user id",
            "Action 1: Due date: Not a valid string.",
        ]
        assert field_messages({2: ["not a year"]}) == ["Item 3: not a year"]
    with web_app.test_request_context("/"):
        assert field_messages({0: ["not a user id"]}, "attendees") == [
            "第 1 位参加人员：不是有效的用户名"
        ]


# --- marshmallow's messages and the catalogue's own ----------------------------------


def test_marshmallows_common_messages_are_translated(web_app: Flask) -> None:
    with web_app.test_request_context("/"):
        assert translated("Missing data for required field.") == "此项为必填项。"
        assert translated("Must be one of: a, b.") == "必须是以下之一：a, b。"
        assert translated("Shorter than minimum length 1.") == "长度不能少于 1。"
        assert translated("Longer than maximum length 40.") == "长度不能超过 40。"
        assert translated("Not a valid date.") == "不是有效的日期。"
        assert translated("Not a valid integer.") == "不是有效的整数。"
        assert translated("Not a valid string.") == "不是有效的文本。"
        assert translated("Unknown field.") == "未知字段。"
        assert translated("not a date YYYY-MM-DD") == (
            "不是“年-月-日”格式的日期（YYYY-MM-DD）"
        )
    with web_app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
        assert translated("Unknown field.") == "Unknown field."
        assert translated("Must be one of: a, b.") == "Must be one of: a, b."


def _marshmallow_defaults() -> set[str]:
    """The default messages of the fields and validators the catalogue uses."""
    found: set[str] = set()
    for kind in (fields.String, fields.Integer, fields.List, fields.Nested):
        found |= set(kind.default_error_messages.values())
    for kind in (fields.Boolean, fields.Email, fields.Date):
        found |= set(kind.default_error_messages.values())
    found |= set(fields.Field.default_error_messages.values())
    found |= {"Invalid input type.", "Unknown field."}  # a Schema's own
    length = validate.Length
    found |= {length.message_min, length.message_max, length.message_all}
    found |= {length.message_equal, validate.OneOf.default_message}
    found |= {validate.Regexp.default_message}
    both = validate.Range.message_all.format(
        min_op=validate.Range.message_gte, max_op=validate.Range.message_lte
    )
    found |= {both}
    found |= {validate.Range.message_min.format(min_op=validate.Range.message_gte)}
    found |= {validate.Range.message_max.format(max_op=validate.Range.message_lte)}
    return {f for f in found if "{input}" not in f}


def test_every_message_of_the_schema_check_has_a_translation() -> None:
    for message in sorted(_marshmallow_defaults()):
        # marshmallow's {min} written with a value, as a person gets it
        sample = re.sub(r"\{\w+\}", "7", message)
        found = rule_msgid(sample)
        assert found is not None, message
        assert found[0] in SCHEMA_MESSAGES
    tree = ast.parse((ROOT / "ledger/catalog.py").read_text(encoding="utf-8"))
    own: set[str] = set()
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        if name == "_match" and len(call.args) > 1:
            arg = call.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                own.add(arg.value)
        for keyword in call.keywords:
            value = keyword.value
            if keyword.arg == "error" and isinstance(value, ast.Constant):
                own.add(str(value.value))
    assert "not a user id" in own
    assert sorted(own - set(SCHEMA_MESSAGES)) == []
    assert "a clause, or a document and revision" in SCHEMA_MESSAGES


# --- coded values in rule messages, in words -----------------------------------------


def test_states_and_codes_read_as_words_in_english(web_app: Flask) -> None:
    with web_app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
        assert translated(
            "the finding is cause_analysed; expected actions_planned or actions_done"
        ) == ("the finding is cause analysed; expected actions planned or actions done")
        assert translated(
            "revision B is submitted; expected drafted or changes_requested"
        ) == ("revision B is submitted for review; expected draft or changes requested")
        assert translated("the audit is in_progress; expected planned") == (
            "the audit is in progress; expected planned"
        )
        source = translated("source must be one of internal_audit, complaint")
        assert source == "source must be one of internal audit, complaint"
        assert translated(
            "'2026-13' is not a monthly period (YYYY-MM, YYYY-Qn or YYYY)"
        )
        assert translated("finding.raised rejected: unit: no") == (
            "finding raised rejected: unit: no"
        )


def test_states_read_as_words_in_chinese(web_app: Flask) -> None:
    with web_app.test_request_context("/"):
        assert translated("the finding is contained; expected raised") == (
            "该审核发现当前为“已控制”，此事项须在“已提出”时办理"
        )
        assert translated(
            "revision B is submitted; expected drafted or changes_requested"
        ) == ("版次 B 当前为“已提交审核”，此事项须在“草稿或需要修改”时办理")
        assert "每月" in translated(
            "2026-13 is not a monthly period (YYYY-MM, YYYY-Qn or YYYY)"
        )


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "the finding is contained; expected raised"),
        ("zh_CN", "该审核发现当前为“已控制”，此事项须在“已提出”时办理"),
    ],
)
def test_a_refused_step_shows_the_state_in_words(
    client: FlaskClient,
    service: Service,
    people_store: EventStore,
    language: str,
    message: str,
) -> None:
    raise_finding(service, people_store)
    client.set_cookie("qms_lang", language)
    sign_in(client, "dave")
    page = client.get("/findings/F-1")
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "mia")
    data = form_data(page, action="again")
    data["version"] = str(people_store.stream_version("finding/F-1"))
    before = people_store.size()
    refused = client.post("/findings/F-1/contain", data=data)
    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert people_store.size() == before
