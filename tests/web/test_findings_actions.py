"""Which steps a person may take now on a finding or an audit: from its status, the
person's roles and their units, and the independence of the verifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from projections import queries as q
from tests.support.webapp import people_signer, people_store, people_template, web_app
from web.auth import SignedIn
from web.views.findings_actions import (
    audit_steps,
    finding_steps,
    may_plan_audit,
    may_raise,
    readable_units,
)

__all__ = ["people_signer", "people_store", "people_template", "web_app"]


@pytest.fixture
def context(web_app: Flask) -> Iterator[None]:
    with web_app.test_request_context():
        yield


def who(user_id: str, unit: str, *roles: tuple[str, str]) -> SignedIn:
    return SignedIn(
        token="t",
        user_id=user_id,
        name=user_id,
        unit=unit,
        unit_name_zh="",
        unit_name_en="",
        roles=tuple(roles),
    )


def finding(status: str, **changes: object) -> q.FindingView:
    values: dict[str, object] = {
        "finding_id": "F-1",
        "unit": "B1",
        "source": "supervision",
        "classification": "minor",
        "criterion": {"clause": "7.5"},
        "description": "d",
        "evidence": (),
        "due_on": "2026-03-31",
        "audit": None,
        "status": status,
        "raised_by": "carol",
        "raised_on": "2026-01-05",
        "raised_at": "2026-01-05T02:00:00Z",
        "containment": None,
        "cause": None,
        "cause_method": None,
        "verified_effective": None,
        "verification_comment": None,
        "verified_by": None,
        "closed_on": None,
        "reopened_count": 0,
        "since_seq": 1,
        "actions": (
            q.ActionView(
                action_id="A1",
                description="train",
                owner="dave",
                due_on="2026-02-01",
                status="open",
                completed_on=None,
                completed_at=None,
                completed_by=None,
                evidence=(),
                note=None,
            ),
        ),
    }
    values.update(changes)
    return q.FindingView(**values)  # type: ignore[arg-type]


DAVE = who("dave", "B1", ("owner", "B1"))
MIA = who("mia", "B1", ("manager", "B1"))
HANK = who("hank", "HQ", ("manager", "HQ"))
CAROL = who("carol", "HQ", ("auditor", "HQ"))
ERIN = who("erin", "B2", ("auditor", "HQ"))
LARS = who("lars", "B1", ("auditor", "HQ"))
VIC = who("vic", "B1", ("viewer", "B1"))
ZOE_OWNER = who("zoe", "B2", ("owner", "B2"))


@pytest.mark.usefixtures("context")
def test_a_subtree_role_reads_the_units_below() -> None:
    assert readable_units(HANK) >= {"HQ", "B1", "B2"}
    assert readable_units(MIA) == {"B1"}
    assert readable_units(VIC) == {"B1"}


@pytest.mark.usefixtures("context")
def test_each_status_opens_its_own_steps() -> None:
    assert finding_steps(DAVE, finding("raised")).contain
    assert not finding_steps(DAVE, finding("raised")).analyse
    assert finding_steps(DAVE, finding("contained")).analyse
    assert finding_steps(MIA, finding("cause_analysed")).plan
    assert finding_steps(DAVE, finding("actions_planned")).complete == ("A1",)
    assert finding_steps(MIA, finding("actions_planned")).complete == ()
    assert finding_steps(MIA, finding("raised")).change_due
    assert not finding_steps(DAVE, finding("raised")).change_due
    assert not finding_steps(MIA, finding("closed")).change_due
    effective = finding("verified", verified_effective=True)
    assert finding_steps(HANK, effective).close
    assert finding_steps(CAROL, finding("closed")).reopen
    assert not finding_steps(VIC, finding("raised")).any


@pytest.mark.usefixtures("context")
def test_another_units_owner_takes_no_step() -> None:
    assert not finding_steps(ZOE_OWNER, finding("raised")).any


@pytest.mark.usefixtures("context")
def test_only_an_independent_auditor_verifies() -> None:
    done = finding("actions_done")
    assert finding_steps(ERIN, done).verify
    assert not finding_steps(CAROL, done).verify  # raised it
    assert not finding_steps(LARS, done).verify  # belongs to the finding's unit
    assert not finding_steps(MIA, done).verify  # not an auditor
    assert not finding_steps(ERIN, finding("actions_planned")).verify


@pytest.mark.usefixtures("context")
def test_raising_and_planning_need_their_roles() -> None:
    assert may_raise(CAROL)
    assert may_raise(MIA)
    assert not may_raise(DAVE)
    assert may_plan_audit(CAROL)
    assert not may_plan_audit(MIA)


def audit(status: str) -> q.AuditView:
    return q.AuditView(
        audit_id="IA-1",
        programme="2026",
        unit="B1",
        scope="s",
        criteria=("7.5",),
        lead_auditor="carol",
        team=("erin",),
        planned_start="2026-02-01",
        planned_end="2026-02-03",
        status=status,
        started_on=None,
        summary=None,
        findings=(),
        reported_by=None,
        closed_on=None,
        cancelled_reason=None,
        since_seq=1,
    )


@pytest.mark.usefixtures("context")
def test_only_the_lead_auditor_reports() -> None:
    assert audit_steps(CAROL, audit("planned")).start
    assert audit_steps(CAROL, audit("planned")).cancel
    assert audit_steps(CAROL, audit("in_progress")).report
    assert not audit_steps(ERIN, audit("in_progress")).report
    assert audit_steps(ERIN, audit("reported")).close
    assert not audit_steps(CAROL, audit("closed")).any
    assert not audit_steps(MIA, audit("planned")).any
