"""Internal-audit rules: lifecycle and auditor independence."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import audits as a
from ledger.errors import EventRejectedError, NotAuthorizedError
from tests.support.records import Record

PEOPLE = {"lead": "HQ", "member": "B2", "local": "B1"}


def plan(**overrides: object) -> a.PlanAudit:
    values: dict[str, object] = {
        "audit_id": "2026-07",
        "programme": "2026",
        "unit": "B1",
        "scope": "Document control",
        "criteria": ["ISO 9001:2015 7.5", "QP-07 rev A"],
        "lead_auditor": "lead",
        "team": ["member"],
        "planned_start": date(2026, 7, 1),
        "planned_end": date(2026, 7, 3),
    }
    values.update(overrides)
    return a.PlanAudit(**values)  # type: ignore[arg-type]


def record() -> Record:
    return Record(a, a.AuditState(), user_units=dict(PEOPLE))


def test_lifecycle_to_closed() -> None:
    rec = record()
    rec.do(plan(), "lead")
    rec.do(a.StartAudit(audit_id="2026-07", started_on=date(2026, 7, 1)), "lead")
    rec.do(
        a.ReportAudit(audit_id="2026-07", summary="Two minor", findings=["2026-0042"]),
        "lead",
    )
    rec.do(a.CloseAudit(audit_id="2026-07", closed_on=date(2026, 8, 1)), "lead")
    assert rec.state.status == "closed"
    assert rec.events[2].data["esig"]["signer"] == "lead"


@pytest.mark.parametrize(
    ("lead", "team", "field"),
    [("local", [], "lead_auditor"), ("lead", ["local"], "team")],
)
def test_auditor_of_the_audited_unit_is_refused(
    lead: str, team: list[str], field: str
) -> None:
    rec = record()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(plan(lead_auditor=lead, team=team), "lead")
    assert field in caught.value.messages


def test_only_the_lead_signs_the_report() -> None:
    rec = record()
    rec.do(plan(), "lead")
    rec.do(a.StartAudit(audit_id="2026-07", started_on=date(2026, 7, 1)), "lead")
    with pytest.raises(NotAuthorizedError, match="lead auditor"):
        rec.do(a.ReportAudit(audit_id="2026-07", summary="x"), "member")


def test_cancel_needs_reason_and_closed_audit_cannot_cancel() -> None:
    rec = record()
    rec.do(plan(), "lead")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(a.CancelAudit(audit_id="2026-07", reason=""), "lead")
    assert "reason" in caught.value.messages
    rec.do(a.CancelAudit(audit_id="2026-07", reason="unit merged"), "lead")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(a.StartAudit(audit_id="2026-07", started_on=date(2026, 7, 1)), "lead")
    assert "status" in caught.value.messages


def test_plan_needs_criteria_and_ordered_dates() -> None:
    rec = record()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(plan(criteria=[]), "lead")
    assert "criteria" in caught.value.messages
    with pytest.raises(EventRejectedError) as caught:
        rec.do(plan(planned_end=date(2026, 6, 1)), "lead")
    assert "planned_end" in caught.value.messages
