"""Every record page's history reads in words, in Chinese and in English: the name of
each field, the word of each state or code, never the record's paths or codes; and
every field the domain writes has a name."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import Babel
from marshmallow import Schema, fields

from ledger.catalog import CATALOG
from ledger.clock import FixedClock
from ledger.domain import audits as a
from ledger.domain import documents as d
from ledger.domain import findings as f
from ledger.domain import indicators as ind
from ledger.domain import reviews as rv
from ledger.domain import units as un
from ledger.domain import users as us
from ledger.service import Service
from ledger.store import EventStore
from projections.queries import FieldChange
from projections.runner import InlineProjector
from tests.support.service import draft
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from web import history_words as hw

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

HISTORY = re.compile(r'<section aria-labelledby="history-title">(.*?)</section>', re.S)
# What a history must never show: the record's paths and the codes of its states.
NONE = "\u2013"  # what a history shows for a value not set
RAW = ("revisions.", "actions.", "values.", "/status", "payload.", "status:")


@pytest.fixture
def service(people_store: EventStore, clock: FixedClock) -> Service:
    return Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )


def history_of(client: FlaskClient, url: str, *, english: bool) -> str:
    """The history section of the page at `url`, as text, in the language asked."""
    if english:
        client.get("/language?lang=en&next=/me")
    page = client.get(url)
    assert page.status_code == 200, url
    found = HISTORY.search(page.get_data(as_text=True))
    assert found, f"{url} shows no history"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def shows_in_words(text: str, *expected: str, codes: tuple[str, ...] = ()) -> None:
    """`text` holds every expected phrase and none of the raw paths and `codes`."""
    flat = " ".join(text.split())
    for phrase in expected:
        assert phrase in flat, phrase
    for raw in (*RAW, *codes):
        assert raw not in flat, raw


def _both(
    client: FlaskClient, user: str, url: str
) -> Iterator[tuple[bool, str]]:  # (english, history)
    sign_in(client, user)
    yield False, history_of(client, url, english=False)
    yield True, history_of(client, url, english=True)


def test_a_documents_history_names_the_revision_field_and_state(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    service.handle(draft(people_store, "QP-07"), "alice")
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    for english, text in _both(client, "bob", "/documents/QP-07"):
        shows_in_words(
            text,
            *(
                (
                    "Revision A · Status: Draft → Submitted for review",
                    f"Kind of document: {NONE} → Procedure",
                )
                if english
                else ("第A版 · 状态: 草稿 → 已提交审核", f"文件类别: {NONE} → 程序文件")
            ),
            codes=("procedure", "drafted →", "→ submitted"),
        )


def plan_audit(service: Service) -> None:
    service.handle(
        a.PlanAudit(
            audit_id="IA-1",
            programme="2026",
            unit="B1",
            scope="records",
            criteria=["7.5"],
            lead_auditor="carol",
            team=[],
            planned_start=date(2026, 2, 1),
            planned_end=date(2026, 2, 3),
        ),
        "carol",
    )


def test_an_audits_history_names_its_fields_and_states(
    client: FlaskClient, service: Service
) -> None:
    plan_audit(service)
    service.handle(a.StartAudit(audit_id="IA-1", started_on=date(2026, 2, 1)), "carol")
    for english, text in _both(client, "carol", "/audits/IA-1"):
        shows_in_words(
            text,
            *(
                ("Status: Planned → In progress", f"Lead auditor: {NONE} → carol")
                if english
                else ("状态: 已计划 → 进行中", f"审核组长: {NONE} → carol")
            ),
            codes=("in_progress", "lead_auditor", "planned_start"),
        )


def raise_finding(service: Service, store: EventStore) -> None:
    photo = b"photo"
    service.handle(
        f.RaiseFinding(
            finding_id="F-1",
            unit="B1",
            source="supervision",
            classification="minor",
            criterion={"clause": "7.5.3"},
            description="records not signed",
            evidence=[
                {
                    "blob": store.put_blob(photo),
                    "size": len(photo),
                    "name": "photo.jpg",
                    "media_type": "image/jpeg",
                }
            ],
            due_on=date(2026, 3, 31),
        ),
        "carol",
    )


def test_a_findings_history_names_its_fields_states_and_actions(
    client: FlaskClient, service: Service, people_store: EventStore
) -> None:
    raise_finding(service, people_store)
    service.handle(f.ContainFinding(finding_id="F-1", action="stop"), "dave")
    service.handle(
        f.AnalyseCause(finding_id="F-1", cause="no check", method="5 whys"), "dave"
    )
    service.handle(
        f.PlanActions(
            finding_id="F-1",
            actions=[
                f.ActionPlan(
                    action_id="A1",
                    description="train",
                    owner="dave",
                    due_on=date(2026, 2, 1),
                )
            ],
        ),
        "dave",
    )
    service.handle(f.CompleteAction(finding_id="F-1", action_id="A1"), "dave")
    for english, text in _both(client, "carol", "/findings/F-1"):
        expected: tuple[str, ...]
        if english:
            expected = (
                "Status: Raised → Contained",
                f"Classification: {NONE} → Minor nonconformity",
                f"Source: {NONE} → Supervision",
                f"Criterion: {NONE} → Clause: 7.5.3",
                "Action A1 · Done: no → yes",
                f"Action A1 · Owner: {NONE} → dave",
            )
        else:
            expected = (
                "状态: 已提出 → 已控制",
                f"类别: {NONE} → 一般不符合项",
                "措施 A1 · 已完成: 否 → 是",
                f"措施 A1 · 负责人: {NONE} → dave",
            )
        shows_in_words(
            text,
            *expected,
            codes=("minor", "supervision", "cause_analysed", "A1.done", "False"),
        )


@pytest.fixture
def kpi(service: Service) -> str:
    service.handle(
        ind.DefineIndicator(
            indicator_id="KPI-1",
            unit="B1",
            owner="dave",
            name="On-time calibration",
            measure="%",
            direction="higher_is_better",
            target="95",
            frequency="monthly",
            method="Calibrations done on time / due",
            effective_from="2025-10",
        ),
        "mia",
    )
    return "KPI-1"


def test_an_indicators_history_names_its_fields_and_states(
    client: FlaskClient, service: Service, kpi: str
) -> None:
    service.handle(
        ind.ChangeTarget(
            indicator_id=kpi, target="90", effective_from="2026-01", reason="new plan"
        ),
        "mia",
    )
    service.handle(ind.RetireIndicator(indicator_id=kpi, reason="replaced"), "mia")
    for english, text in _both(client, "mia", f"/indicators/{kpi}"):
        shows_in_words(
            text,
            *(
                (
                    "Target: 95 → 90",
                    f"Better when: {NONE} → Higher is better",
                    "Retired: no → yes",
                )
                if english
                else (
                    "目标值: 95 → 90",
                    f"评价方向: {NONE} → 越高越好",
                    "已停用: 否 → 是",
                )
            ),
            codes=("higher_is_better", "monthly", "effective_from", "retired:"),
        )


def test_a_measurements_correction_reads_as_the_value_of_its_period(
    client: FlaskClient, service: Service, kpi: str
) -> None:
    service.handle(
        ind.RecordMeasurement(indicator_id=kpi, period="2025-10", value="97"), "dave"
    )
    service.handle(
        ind.CorrectMeasurement(
            indicator_id=kpi, period="2025-10", value="96", reason="typo"
        ),
        "dave",
    )
    for english, text in _both(client, "mia", f"/indicators/{kpi}"):
        shows_in_words(
            text,
            "Value for 2025-10: 97 → 96" if english else "2025-10 的测量值: 97 → 96",
            f"Value for 2025-10: {NONE} → 97"
            if english
            else f"2025-10 的测量值: {NONE} → 97",
        )


def test_a_reviews_history_names_what_it_recorded(
    client: FlaskClient, service: Service, clock: FixedClock
) -> None:
    service.handle(
        rv.HoldManagementReview(
            review_id="MR-1",
            unit="B1",
            held_on=clock.now().date(),
            attendees=["hank"],
            decisions=["more training"],
            actions=[
                rv.ReviewAction(
                    description="train all",
                    owner="dave",
                    due_on=date(2026, 6, 30),
                )
            ],
        ),
        "hank",
    )
    for english, text in _both(client, "hank", "/reviews/MR-1"):
        shows_in_words(
            text,
            *(
                (
                    f"Attendees: {NONE} → hank",
                    f"Decisions: {NONE} → more training",
                    "Description: train all; Due date: 2026-06-30; Owner: dave",
                )
                if english
                else (
                    f"参加人员: {NONE} → hank",
                    f"决定: {NONE} → more training",
                    "描述: train all; 完成期限: 2026-06-30; 负责人: dave",
                )
            ),
            codes=("held_on", "due_on", "'owner'"),
        )


def test_a_units_history_names_its_fields_and_states(
    client: FlaskClient, service: Service
) -> None:
    service.handle(
        un.RenameUnit(code="B2", name_zh="二局", name_en="Two", reason="merger"),
        "root",
    )
    service.handle(un.CloseUnit(code="B2", reason="merged"), "root")
    for english, text in _both(client, "root", "/admin/units/B2"):
        shows_in_words(
            text,
            *(
                (
                    "Name in English: Bureau B2 → Two",
                    f"Kind of unit: {NONE} → Bureau",
                    "Closed down: no → yes",
                )
                if english
                else (
                    "英文名称: Bureau B2 → Two",
                    f"单位类别: {NONE} → 局",
                    "已撤销: 否 → 是",
                )
            ),
            codes=("name_en", "bureau", "closed:"),
        )


def test_a_persons_history_names_its_fields_roles_and_states(
    client: FlaskClient, service: Service
) -> None:
    service.handle(us.GrantRole(user_id="vic", role="manager", scope="B2"), "root")
    service.handle(us.MoveUser(user_id="vic", unit="B2", reason="transfer"), "root")
    service.handle(us.DeactivateUser(user_id="vic", reason="left"), "root")
    for english, text in _both(client, "root", "/admin/users/vic"):
        shows_in_words(
            text,
            *(
                ("Unit: B1 → B2", "Active: yes → no", "Manager · B2")
                if english
                else ("单位: B1 → B2", "使用中: 是 → 否", "管理者 · B2")
            ),
            codes=("manager", "active:", "'B2'"),
        )


# --- every field has a name ---------------------------------------------------------


def _keys(schema: Schema) -> Iterator[tuple[str, Schema | None]]:
    """Every member name of `schema`, with the schema of its nested members."""
    for name, found in schema.fields.items():
        inner = found.inner if isinstance(found, fields.List) else found
        nested = inner.schema if isinstance(inner, fields.Nested) else None
        yield name, nested if isinstance(nested, Schema) else None


# Members that a history shows elsewhere in an entry, not as a field of the record.
NOT_FIELDS = frozenset({"esig", "reason", "comment", "old", "new"})
# The blob reference is shown as the file's name and digest.
BLOB_MEMBERS = frozenset({"blob", "size", "name", "media_type"})


def _missing(kind: str, schema: Schema, within: str = "") -> Iterator[str]:
    for name, nested in _keys(schema):
        if name == "esig":  # the signature's manifestation, shown as such
            continue
        if nested is not None and set(nested.fields) <= BLOB_MEMBERS:
            if name not in NOT_FIELDS and name not in hw.FIELD_LABELS[kind]:
                yield f"{kind}: {within}{name}"
            continue
        if name not in NOT_FIELDS and name not in hw.FIELD_LABELS[kind]:
            yield f"{kind}: {within}{name}"
        if nested is not None:
            inner = "action" if (kind, name) == ("finding", "actions") else kind
            yield from _missing(inner, nested, f"{within}{name}.")


def test_every_member_of_every_event_has_a_name() -> None:
    missing = [
        gap
        for event_type, spec in CATALOG.items()
        for gap in _missing(event_type.split(".", 1)[0], spec.schema)
    ]
    assert missing == []


STATES: dict[str, Callable[[], object]] = {
    "document": d.DocumentState,
    "audit": a.AuditState,
    "finding": f.FindingState,
    "indicator": ind.IndicatorState,
    "review": rv.ReviewState,
    "unit": un.UnitState,
    "user": us.UserState,
}
PARTS = {"document": ("revisions", d.Revision), "finding": ("actions", f.Action)}
BOOKKEEPING = frozenset(
    {
        "version",
        "doc_id",
        "audit_id",
        "finding_id",
        "indicator_id",
        "working",
        "contributors",
        "revision",
        "action_id",
    }
)


def test_every_member_a_record_folds_to_has_a_name() -> None:
    missing = []
    for kind, state in STATES.items():
        names = {m.name for m in dataclasses.fields(state())}  # type: ignore[arg-type]
        if kind in PARTS:
            container, part = PARTS[kind]
            names.discard(container)
            part_kind = "action" if kind == "finding" else kind
            missing += [
                f"{part_kind}: {m.name}"
                for m in dataclasses.fields(part)
                if m.name not in BOOKKEEPING
                and m.name not in hw.FIELD_LABELS[part_kind]
            ]
        missing += [
            f"{kind}: {n}"
            for n in sorted(names - BOOKKEEPING)
            if n not in hw.FIELD_LABELS[kind]
        ]
    assert missing == []


def test_an_unknown_field_or_code_reads_as_words_not_a_crash() -> None:
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    Babel(app)
    with app.test_request_context():
        rows = hw.change_rows(
            [
                FieldChange(path=("shelf_life_days",), old=None, new=3),
                FieldChange(path=("a", "b_c"), old={"x_y": [1, 2]}, new=True),
                FieldChange(path=("status",), old="frozen", new="thawed"),
            ],
            "gadget/G-1",
        )
        assert [(r.field, r.old, r.new) for r in rows] == [
            ("Shelf life days", f"{NONE}", "3"),
            ("A · B c", "X y: 1, 2", "yes"),
            ("Status", "frozen", "thawed"),
        ]
        assert hw.event_words("gadget.polished") == "Polished"
