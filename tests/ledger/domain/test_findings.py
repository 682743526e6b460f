"""Finding and corrective-action rules: lifecycle, evidence, segregation of duties."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import findings as f
from ledger.errors import EventRejectedError, NotAuthorizedError
from tests.support.records import Record, blob

FID = "2026-0042"


def raise_cmd(**overrides: object) -> f.RaiseFinding:
    values: dict[str, object] = {
        "finding_id": FID,
        "unit": "B1",
        "source": "internal_audit",
        "classification": "minor",
        "criterion": {"clause": "7.5.3"},
        "description": "Records not indexed",
        "evidence": [blob("photo", "photo.jpg")],
        "due_on": date(2026, 3, 31),
        "audit": "2026-07",
    }
    values.update(overrides)
    return f.RaiseFinding(**values)  # type: ignore[arg-type]


def done_finding() -> Record:
    rec = Record(f, f.FindingState())
    rec.do(raise_cmd(), "carol")
    rec.do(f.ContainFinding(finding_id=FID, action="Quarantined files"), "dave")
    rec.do(f.AnalyseCause(finding_id=FID, cause="No index", method="5 whys"), "dave")
    plan = f.ActionPlan(
        action_id="A1", description="Index", owner="dave", due_on=date(2026, 3, 1)
    )
    rec.do(f.PlanActions(finding_id=FID, actions=[plan]), "dave")
    rec.do(
        f.CompleteAction(finding_id=FID, action_id="A1", evidence=[blob("index")]),
        "dave",
    )
    return rec


def test_full_lifecycle_closes_after_effective_verification() -> None:
    rec = done_finding()
    assert rec.state.status == "actions_done"
    rec.do(
        f.VerifyEffectiveness(finding_id=FID, effective=True, comment="Works"), "erin"
    )
    rec.do(f.CloseFinding(finding_id=FID, closed_on=date(2026, 3, 20)), "erin")
    assert rec.state.status == "closed"
    verified = rec.events[-2].data
    assert verified["esig"]["meaning"] == "approved"


@pytest.mark.parametrize(
    ("criterion", "evidence", "field"),
    [
        ({}, [blob()], "criterion"),
        ({"document": "QP-07"}, [blob()], "criterion"),
        ({"clause": "7.5"}, [], "evidence"),
    ],
)
def test_finding_needs_criterion_and_evidence(
    criterion: dict[str, str], evidence: list[object], field: str
) -> None:
    rec = Record(f, f.FindingState())
    with pytest.raises(EventRejectedError) as caught:
        rec.do(raise_cmd(criterion=criterion, evidence=evidence), "carol")
    assert field in caught.value.messages
    assert rec.events == []


def test_criterion_may_be_a_document_revision() -> None:
    rec = Record(f, f.FindingState())
    rec.do(raise_cmd(criterion={"document": "QP-07", "revision": "B"}), "carol")
    assert rec.events[0].data["criterion"] == {"document": "QP-07", "revision": "B"}


def test_closing_without_verification_is_rejected() -> None:
    rec = done_finding()
    with pytest.raises(EventRejectedError, match="effective verification"):
        rec.do(f.CloseFinding(finding_id=FID, closed_on=date(2026, 3, 20)), "erin")


def test_ineffective_verification_goes_back_to_cause_analysis() -> None:
    rec = done_finding()
    rec.do(
        f.VerifyEffectiveness(finding_id=FID, effective=False, comment="Recurred"),
        "erin",
    )
    assert rec.state.status == "cause_analysed"
    with pytest.raises(EventRejectedError, match="effective verification"):
        rec.do(f.CloseFinding(finding_id=FID, closed_on=date(2026, 3, 20)), "erin")
    plan = f.ActionPlan(
        action_id="A2", description="Train", owner="dave", due_on=date(2026, 4, 1)
    )
    rec.do(f.PlanActions(finding_id=FID, actions=[plan]), "dave")
    assert rec.state.status == "actions_planned"


def test_action_owner_may_not_verify() -> None:
    rec = done_finding()
    with pytest.raises(NotAuthorizedError, match="owns an action"):
        rec.do(
            f.VerifyEffectiveness(finding_id=FID, effective=True, comment="ok"), "dave"
        )


def test_raiser_may_not_verify() -> None:
    rec = done_finding()
    with pytest.raises(NotAuthorizedError, match="raised this finding"):
        rec.do(
            f.VerifyEffectiveness(finding_id=FID, effective=True, comment="ok"), "carol"
        )


def test_only_the_action_owner_completes_it() -> None:
    rec = Record(f, f.FindingState())
    rec.do(raise_cmd(), "carol")
    rec.do(f.ContainFinding(finding_id=FID, action="x"), "dave")
    rec.do(f.AnalyseCause(finding_id=FID, cause="c", method="m"), "dave")
    plan = f.ActionPlan(
        action_id="A1", description="Index", owner="dave", due_on=date(2026, 3, 1)
    )
    rec.do(f.PlanActions(finding_id=FID, actions=[plan]), "dave")
    with pytest.raises(NotAuthorizedError, match="belongs to dave"):
        rec.do(f.CompleteAction(finding_id=FID, action_id="A1"), "erin")


def test_due_date_change_needs_reason_and_keeps_old_value() -> None:
    rec = Record(f, f.FindingState())
    rec.do(raise_cmd(), "carol")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            f.ChangeDueDate(finding_id=FID, due_on=date(2026, 4, 30), reason=" "), "mia"
        )
    assert "reason" in caught.value.messages
    rec.do(
        f.ChangeDueDate(
            finding_id=FID, due_on=date(2026, 4, 30), reason="supplier late"
        ),
        "mia",
    )
    assert rec.events[-1].data["old"] == {"due_on": "2026-03-31"}
    assert rec.events[-1].data["new"] == {"due_on": "2026-04-30"}


def test_reopen_needs_reason_and_returns_to_cause_analysis() -> None:
    rec = done_finding()
    rec.do(
        f.VerifyEffectiveness(finding_id=FID, effective=True, comment="Works"), "erin"
    )
    rec.do(f.CloseFinding(finding_id=FID, closed_on=date(2026, 3, 20)), "erin")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(f.ReopenFinding(finding_id=FID, reason=""), "erin")
    assert "reason" in caught.value.messages
    rec.do(f.ReopenFinding(finding_id=FID, reason="recurred in May"), "erin")
    assert rec.state.status == "cause_analysed"
    assert rec.types().count("finding.closed") == 1


def test_steps_out_of_order_are_rejected() -> None:
    rec = Record(f, f.FindingState())
    rec.do(raise_cmd(), "carol")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(f.AnalyseCause(finding_id=FID, cause="c", method="m"), "dave")
    assert "status" in caught.value.messages


def test_duplicate_action_ids_are_rejected() -> None:
    rec = done_finding()
    rec.do(f.VerifyEffectiveness(finding_id=FID, effective=False, comment="no"), "erin")
    plan = f.ActionPlan(
        action_id="A1", description="again", owner="dave", due_on=date(2026, 4, 1)
    )
    with pytest.raises(EventRejectedError) as caught:
        rec.do(f.PlanActions(finding_id=FID, actions=[plan]), "dave")
    assert "actions" in caught.value.messages


def test_a_verifier_from_the_findings_own_unit_is_refused() -> None:
    """Auditor independence (ISO 19011): nobody verifies their own unit's finding."""
    rec = done_finding()
    rec.user_units = {"erin": "B1", "frank": "HQ"}
    with pytest.raises(NotAuthorizedError, match="belongs to unit B1"):
        rec.do(
            f.VerifyEffectiveness(finding_id=FID, effective=True, comment="ok"), "erin"
        )
    rec.do(f.VerifyEffectiveness(finding_id=FID, effective=True, comment="ok"), "frank")
    assert rec.state.status == "verified"
