"""The record rules' messages in the reader's language: every rule message of the
ledger has a translation, and each kind of form shows one beside its field and in
the error summary, in Chinese or English, storing nothing; WTForms' own messages
and English plurals likewise."""

from __future__ import annotations

import ast
import io
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.domain import documents as d
from ledger.service import Service
from ledger.store import EventStore
from tests.support.service import endorsed
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_findings import _raise_form, form_data, raise_finding, service
from tests.web.test_indicators import DEFINE, post_form
from web.messages import PLACEHOLDER, RULE_MESSAGES, rule_msgid, translated

__all__ = [
    "client",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]

ROOT = Path(__file__).resolve().parents[2]
RULE_SOURCES = ("ledger/domain", "ledger/service")
# The calls whose text reaches a person, and which argument holds it.
MESSAGE_ARGUMENT = {
    "reject": 1,
    "require_text": 2,
    "EventRejectedError": 0,
    "NotAuthorizedError": 0,
    "ConcurrencyError": 0,
}


def _template(node: ast.expr) -> str | None:
    """The text of a string or f-string, its replacement fields written as {}."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}"
            for part in node.values
        )
    return None


def _alternatives(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.IfExp):
        return [*_alternatives(node.body), *_alternatives(node.orelse)]
    if isinstance(node, ast.BoolOp):
        return [n for value in node.values for n in _alternatives(value)]
    return [node]


def _assignments(tree: ast.AST) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            found.setdefault(node.targets[0].id, []).append(node.value)
    return found


def _rule_templates() -> tuple[set[str], list[str]]:
    """Every message text the rules raise, and the places whose text is not found."""
    templates: set[str] = set()
    unknown: list[str] = []
    for folder in RULE_SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = ast.parse(path.read_text(encoding="utf-8"))
            constants = {
                name: values
                for name, values in _assignments(module).items()
                if name.isupper()
            }
            for function in ast.walk(module):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                local = _assignments(function)
                parameters = {a.arg for a in function.args.args}
                parameters |= {a.arg for a in function.args.kwonlyargs}
                for call in ast.walk(function):
                    if not isinstance(call, ast.Call):
                        continue
                    func = call.func
                    name = (
                        func.id
                        if isinstance(func, ast.Name)
                        else func.attr
                        if isinstance(func, ast.Attribute)
                        else ""
                    )
                    at = MESSAGE_ARGUMENT.get(name)
                    if at is None or len(call.args) <= at:
                        continue
                    for node in _alternatives(call.args[at]):
                        if isinstance(node, ast.Name):
                            if node.id in local or node.id in constants:
                                values = local.get(node.id) or constants[node.id]
                                nodes = [n for v in values for n in _alternatives(v)]
                            elif node.id in parameters:
                                continue  # the caller's text is read at its call
                            else:
                                nodes = [node]
                        else:
                            nodes = [node]
                        for value in nodes:
                            text = _template(value)
                            if text is None:
                                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                                unknown.append(f"{where} {ast.unparse(value)}")
                            else:
                                templates.add(text)
    return templates, unknown


def _as_template(msgid: str) -> str:
    return PLACEHOLDER.sub("{}", msgid)


def test_every_rule_message_of_the_ledger_has_a_translation() -> None:
    templates, unknown = _rule_templates()
    assert unknown == []  # a message built in a way this test cannot read
    assert len(templates) > 90
    assert "a finding from an internal audit names the audit" in templates
    assert "{} must not be empty" in templates  # the default of require_text
    assert "a non-empty reason is required" in templates  # a module constant
    known = {_as_template(m) for m in RULE_MESSAGES}
    assert sorted(templates - known) == []
    assert sorted(known - templates) == []  # no pattern left for a rule now gone


def test_every_rule_message_is_found_again_with_its_values() -> None:
    for msgid in RULE_MESSAGES:
        names = PLACEHOLDER.findall(msgid)
        text = msgid % {name: f"V{i}-x" for i, name in enumerate(names)}
        found = rule_msgid(text)
        assert found is not None, msgid
        assert found[0] == msgid
        assert msgid % found[1] == text  # the values split as written


def test_a_rule_message_is_translated_with_its_values(web_app: Flask) -> None:
    with web_app.test_request_context("/"):
        assert translated("unit B9 does not exist or is closed") == (
            "单位 B9 不存在或已撤销"
        )
        assert translated("description must not be empty") == "此项不能为空"
        assert translated("a message of no rule") == "a message of no rule"
    with web_app.test_request_context("/", headers={"Cookie": "qms_lang=en"}):
        assert translated("unit B9 does not exist or is closed") == (
            "unit B9 does not exist or is closed"
        )


# --- one rule violation per kind of form, in Chinese and in English -------------------


@pytest.fixture(params=["zh_CN", "en"])
def language(request: pytest.FixtureRequest, client: FlaskClient) -> str:
    client.set_cookie("qms_lang", request.param)
    return str(request.param)


def _refused(
    answer: TestResponse, field: str, message: str, store: EventStore, before: int
) -> None:
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in text
    assert f'href="#{field}"' in text  # the summary links to the field
    assert text.count(message) == 2  # beside the field and in the summary
    assert store.size() == before


def _admin_post(client: FlaskClient, url: str, **fields: str) -> TestResponse:
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data=form_data(page, **fields))


def test_raising_a_finding(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "carol")
    before = people_store.size()
    data = _raise_form(client, source="internal_audit")
    answer = client.post("/findings/new", data=data, content_type="multipart/form-data")
    message = {
        "zh_CN": "来自内部审核的审核发现须注明所属审核",
        "en": "a finding from an internal audit names the audit",
    }[language]
    _refused(answer, "audit", message, people_store, before)


def test_planning_an_audit(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "carol")
    before = people_store.size()
    page = client.get("/audits/new")
    data = form_data(
        page,
        audit_id="IA-9",
        programme="2026",
        unit="B1",
        scope="records",
        criteria="7.5",
        lead_auditor="carol",
        team="dave",  # typed, and dave belongs to the audited unit
        planned_start="2026-02-01",
        planned_end="2026-02-03",
    )
    answer = client.post("/audits/new", data=data)
    message = {
        "zh_CN": "dave 属于单位 B1，不能审核本单位",
        "en": "dave belongs to unit B1 and may not audit it",
    }[language]
    _refused(answer, "team", message, people_store, before)


def test_changing_a_documents_retention(
    client: FlaskClient, service: Service, people_store: EventStore, language: str
) -> None:
    endorsed(service)
    service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password="bob-own-secret")
    service.handle(
        d.MakeDocumentEffective(doc_id="QP-07", effective_on=date(2026, 2, 1)), "bob"
    )
    sign_in(client, "bob")
    before = people_store.size()
    page = client.get("/documents/QP-07/retention")
    answer = client.post(
        "/documents/QP-07/retention",
        data=form_data(page, retention_years="10", reason="law"),
    )
    message = {"zh_CN": "保存期限没有变化", "en": "retention is unchanged"}[language]
    _refused(answer, "retention_years", message, people_store, before)


def test_defining_an_indicator(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "mia")
    first, _ = post_form(client, "/indicators/new", DEFINE)
    assert first.status_code == 302
    before = people_store.size()
    # The same number again, sent on the record's version: the rule says it exists
    # (the owner is no longer typed: the form offers only people who may own it).
    version = str(people_store.stream_version(f"indicator/{DEFINE['indicator_id']}"))
    answer, _ = post_form(client, "/indicators/new", {**DEFINE, "version": version})
    message = {
        "zh_CN": f"指标 {DEFINE['indicator_id']} 已存在",
        "en": f"indicator {DEFINE['indicator_id']} exists already",
    }[language]
    _refused(answer, "indicator_id", message, people_store, before)


def test_holding_a_review_twice(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "mia")
    review = {
        "review_id": "MR-2026",
        "unit": "B1",
        "held_on": "2026-01-05",
        "attendees": "mia\nbob\n",
        "decisions": "Keep the objectives",
        "actions": "",
        "report_as_of": "",
    }
    first, _ = post_form(client, "/reviews/new", review)
    assert first.status_code == 302
    before = people_store.size()
    # A second form for the same number, sent on the record's version: the rule says
    # the review exists (sent on the version it was shown with, it is a conflict).
    version = str(people_store.stream_version("review/MR-2026"))
    answer, _ = post_form(client, "/reviews/new", {**review, "version": version})
    message = {
        "zh_CN": "管理评审 MR-2026 已存在",
        "en": "review MR-2026 exists already",
    }[language]
    _refused(answer, "review_id", message, people_store, before)


def test_creating_a_unit(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "root")
    before = people_store.size()
    answer = _admin_post(
        client,
        "/admin/units/new",
        code="B1",
        name_zh="x",
        name_en="y",
        kind="bureau",
        parent="HQ",
    )
    message = {"zh_CN": "单位 B1 已存在", "en": "unit B1 exists already"}[language]
    _refused(answer, "code", message, people_store, before)


def test_registering_a_person(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "root")
    before = people_store.size()
    answer = _admin_post(
        client,
        "/admin/users/new",
        user_id="alice",
        name="Another Alice",
        email="a2@example.org",
        unit="B1",
        temporary_password="typed-by-admin",
    )
    message = {
        "zh_CN": "用户名 alice 已被使用，且永不重新分配",
        "en": "user id alice is taken and is never reassigned",
    }[language]
    _refused(answer, "user_id", message, people_store, before)


# --- WTForms' own checks: a date or a number typed wrongly, a missing field ---------


def test_a_date_typed_wrongly_or_missing(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "mia")
    review = {
        "review_id": "MR-2026",
        "unit": "B1",
        "attendees": "mia",
        "decisions": "",
        "actions": "",
        "report_as_of": "",
    }
    before = people_store.size()
    wrong, _ = post_form(client, "/reviews/new", {**review, "held_on": "2026-13-05"})
    message = {
        "zh_CN": "请按“年-月-日”填写日期，例如 2026-03-31",
        "en": "Enter the date as year-month-day, for example 2026-03-31",
    }[language]
    _refused(wrong, "held_on", message, people_store, before)
    missing, _ = post_form(client, "/reviews/new", {**review, "held_on": ""})
    message = {
        "zh_CN": "请填写评审召开日期",
        "en": "Enter the date the review was held",
    }[language]
    _refused(missing, "held_on", message, people_store, before)


def _new_document(client: FlaskClient, **values: str) -> TestResponse:
    page = client.get("/documents/new")
    data = form_data(
        page,
        doc_id="QP-09",
        unit="B1",
        title="Control of records",
        kind="procedure",
        review_interval_months="12",
        retention_years="10",
        file=(io.BytesIO(b"%PDF-1.4 rev A"), "qp-09.pdf", "application/pdf"),
    )
    data.update(values)
    return client.post("/documents/new", data=data, content_type="multipart/form-data")


def test_a_number_typed_wrongly_or_out_of_range(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "alice")
    before = people_store.size()
    message = {
        "zh_CN": "请输入整数，例如 12",
        "en": "Enter a whole number, for example 12",
    }[language]
    wrong = _new_document(client, review_interval_months="twelve")
    _refused(wrong, "review_interval_months", message, people_store, before)
    far = _new_document(client, retention_years="500")
    message = {
        "zh_CN": "请填写 1 至 100 之间的年数",
        "en": "Enter a number of years from 1 to 100",
    }[language]
    _refused(far, "retention_years", message, people_store, before)


def test_a_builtin_length_check(
    client: FlaskClient, people_store: EventStore, language: str
) -> None:
    sign_in(client, "carol")
    before = people_store.size()
    data = _raise_form(client, clause="7" * 41)
    answer = client.post("/findings/new", data=data, content_type="multipart/form-data")
    message = {
        "zh_CN": "字段长度不能超过 40 个字符。",
        "en": "Field cannot be longer than 40 characters.",
    }[language]
    _refused(answer, "clause", message, people_store, before)


# --- English plurals ------------------------------------------------------------------


def test_counts_read_right_in_english(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store, "F-1")
    client.set_cookie("qms_lang", "en")
    sign_in(client, "mia")
    one = client.get("/findings").get_data(as_text=True)
    assert ">1 finding ·" in one or ">1 finding<" in one
    assert "1 findings" not in one
    raise_finding(service, people_store, "F-2")
    assert ">2 findings" in client.get("/findings").get_data(as_text=True)
    client.set_cookie("qms_lang", "zh_CN")
    assert "共 2 项审核发现" in client.get("/findings").get_data(as_text=True)
