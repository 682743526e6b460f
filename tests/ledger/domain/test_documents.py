"""Controlled-document record rules: lifecycle, revisions, segregation of duties."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import documents as d
from ledger.errors import EventRejectedError, NotAuthorizedError
from tests.support.records import Record, blob


def draft(**overrides: object) -> d.DraftDocument:
    values: dict[str, object] = {
        "doc_id": "QP-07",
        "unit": "B1",
        "title": "Control of records",
        "kind": "procedure",
        "content": blob("rev A"),
    }
    values.update(overrides)
    return d.DraftDocument(**values)  # type: ignore[arg-type]


def effective_doc() -> Record:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    rec.do(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    rec.do(d.ApproveDocument(doc_id="QP-07"), "bob")
    rec.do(
        d.MakeDocumentEffective(doc_id="QP-07", effective_on=date(2026, 1, 10)), "bob"
    )
    return rec


def test_full_lifecycle_makes_revision_a_effective() -> None:
    rec = effective_doc()
    assert rec.types() == [
        "document.drafted",
        "document.submitted",
        "document.reviewed",
        "document.approved",
        "document.became_effective",
    ]
    assert rec.state.effective == "A"
    assert rec.state.revisions["A"].status == "effective"
    assert rec.state.next_review_due == "2027-01-10"
    approved = rec.events[3].data
    assert approved["content_sha256"] == blob("rev A")["blob"]
    assert approved["esig"]["meaning"] == "approved"
    assert approved["esig"]["signer"] == "bob"


def test_author_may_not_approve_their_own_revision() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    rec.do(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    with pytest.raises(NotAuthorizedError, match="may not approve"):
        rec.do(d.ApproveDocument(doc_id="QP-07"), "alice")


def test_approval_needs_a_password() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    rec.do(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.ApproveDocument(doc_id="QP-07"), "bob", sign=False)
    assert "password" in caught.value.messages


def test_approval_before_review_is_rejected() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.ApproveDocument(doc_id="QP-07"), "bob")
    assert "status" in caught.value.messages


def test_changes_requested_returns_to_drafting() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    rec.do(
        d.ReviewDocument(
            doc_id="QP-07", outcome="changes_requested", comment="fix 4.2"
        ),
        "bob",
    )
    assert rec.state.revisions["A"].status == "drafted"
    rec.do(d.UpdateDocumentDraft(doc_id="QP-07", content=blob("rev A2")), "alice")
    assert rec.events[-1].data["old"]["content"] == blob("rev A")
    assert rec.events[-1].data["new"]["content"] == blob("rev A2")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    assert rec.state.revisions["A"].status == "submitted"


def test_changes_requested_needs_a_comment() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.ReviewDocument(doc_id="QP-07", outcome="changes_requested"), "bob")
    assert "comment" in caught.value.messages


def test_effective_revision_cannot_be_edited() -> None:
    rec = effective_doc()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.UpdateDocumentDraft(doc_id="QP-07", title="Changed"), "alice")
    assert "status" in caught.value.messages
    assert rec.state.revisions["A"].content == blob("rev A")


def test_new_revision_supersedes_the_effective_one_unchanged() -> None:
    rec = effective_doc()
    rec.do(draft(content=blob("rev B")), "alice")
    assert rec.events[-1].data["revision"] == "B"
    assert rec.state.effective == "A"
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    rec.do(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    rec.do(d.ApproveDocument(doc_id="QP-07"), "bob")
    rec.do(
        d.MakeDocumentEffective(doc_id="QP-07", effective_on=date(2026, 3, 1)), "bob"
    )
    assert rec.types()[-2:] == ["document.became_effective", "document.superseded"]
    assert rec.events[-2].data["supersedes"] == "A"
    assert rec.state.effective == "B"
    assert rec.state.revisions["A"].status == "superseded"
    assert rec.state.revisions["A"].content == blob("rev A")


def test_second_draft_while_one_is_in_progress_is_rejected() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(draft(), "alice")
    assert "status" in caught.value.messages


def test_new_revision_keeps_the_documents_unit() -> None:
    rec = effective_doc()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(draft(unit="B2"), "alice")
    assert "unit" in caught.value.messages


@pytest.mark.parametrize("reason", ["", "   "])
def test_withdrawal_needs_a_reason(reason: str) -> None:
    rec = effective_doc()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.WithdrawDocument(doc_id="QP-07", reason=reason), "bob")
    assert "reason" in caught.value.messages


def test_withdrawal_leaves_no_effective_revision() -> None:
    rec = effective_doc()
    rec.do(d.WithdrawDocument(doc_id="QP-07", reason="obsolete process"), "bob")
    assert rec.state.effective is None
    assert rec.state.revisions["A"].status == "withdrawn"
    with pytest.raises(EventRejectedError):
        rec.do(d.DistributeDocument(doc_id="QP-07", units=["B1"]), "bob")


def test_distribution_and_periodic_review() -> None:
    rec = effective_doc()
    rec.do(d.DistributeDocument(doc_id="QP-07", units=["B2", "B1", "B1"]), "alice")
    assert rec.events[-1].data == {"revision": "A", "units": ["B1", "B2"]}
    rec.do(
        d.CompletePeriodicReview(doc_id="QP-07", reviewed_on=date(2026, 12, 20)),
        "alice",
    )
    assert rec.events[-1].data["old"] == {"next_review_due": "2027-01-10"}
    assert rec.events[-1].data["new"] == {"next_review_due": "2027-12-20"}


def test_distribution_to_unknown_unit_is_rejected() -> None:
    rec = effective_doc()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.DistributeDocument(doc_id="QP-07", units=["NOPE"]), "alice")
    assert "units" in caught.value.messages


def test_retention_change_keeps_old_and_new_and_needs_reason() -> None:
    rec = effective_doc()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.ChangeRetention(doc_id="QP-07", retention_years=30, reason=""), "bob")
    assert "reason" in caught.value.messages
    rec.do(
        d.ChangeRetention(doc_id="QP-07", retention_years=30, reason="archive law"),
        "bob",
    )
    assert rec.events[-1].data["old"] == {"retention_years": 10}
    assert rec.events[-1].data["new"] == {"retention_years": 30}


def test_draft_rejects_bad_kind_and_id() -> None:
    rec = Record(d, d.DocumentState())
    with pytest.raises(EventRejectedError) as caught:
        rec.do(draft(kind="memo"))
    assert "kind" in caught.value.messages
    with pytest.raises(EventRejectedError) as caught:
        rec.do(draft(doc_id="qp 07"))
    assert "doc_id" in caught.value.messages


def test_commands_on_a_missing_document_are_rejected() -> None:
    rec = Record(d, d.DocumentState())
    with pytest.raises(EventRejectedError) as caught:
        rec.do(d.SubmitDocument(doc_id="QP-07"))
    assert "doc_id" in caught.value.messages


def test_occurred_at_is_not_part_of_the_decision() -> None:
    """The command's claimed time travels in the envelope, not the data."""
    rec = Record(d, d.DocumentState())
    decision = rec.do(draft())
    assert "occurred_at" not in decision[0][1]


def test_whoever_rewrote_the_draft_may_not_approve_it() -> None:
    rec = Record(d, d.DocumentState())
    rec.do(draft(), "alice")
    rec.do(d.UpdateDocumentDraft(doc_id="QP-07", content=blob("bob's text")), "bob")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    rec.do(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "carol")
    with pytest.raises(NotAuthorizedError, match="bob wrote revision A"):
        rec.do(d.ApproveDocument(doc_id="QP-07"), "bob")
    rec.do(d.ApproveDocument(doc_id="QP-07"), "carol")
    assert rec.state.revisions["A"].status == "approved"


def test_a_revision_in_progress_can_be_withdrawn_with_a_reason() -> None:
    rec = effective_doc()
    rec.do(draft(content=blob("rev B")), "alice")
    rec.do(d.SubmitDocument(doc_id="QP-07"), "alice")
    with pytest.raises(EventRejectedError, match="reason"):
        rec.do(d.WithdrawDocument(doc_id="QP-07", revision="B", reason=" "), "bob")
    with pytest.raises(EventRejectedError, match="neither effective nor in progress"):
        rec.do(d.WithdrawDocument(doc_id="QP-07", revision="C", reason="typo"), "bob")
    rec.do(
        d.WithdrawDocument(doc_id="QP-07", revision="B", reason="merged into QP-08"),
        "bob",
    )
    assert rec.state.revisions["B"].status == "withdrawn"
    assert rec.state.effective == "A"  # the effective revision stays as it was
    rec.do(draft(content=blob("rev C")), "alice")
    assert rec.state.working == "C"
