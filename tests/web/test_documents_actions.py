"""Which document actions a person is offered: from the revision's status and their roles."""

from __future__ import annotations

from dataclasses import replace

from projections.queries import DocumentView, RevisionView
from web.views.documents_actions import allowed_actions, roles_in_unit

REV = RevisionView(
    doc_id="QP-07",
    revision="A",
    status="drafted",
    title="T",
    kind="procedure",
    unit="B1",
    content=None,
    author="alice",
    drafted_at="",
    review_outcome=None,
    review_comment=None,
    reviewed_by=None,
    approved_by=None,
    approved_at=None,
    content_sha256=None,
    esig=None,
    effective_on=None,
    next_review_due=None,
    supersedes=None,
    superseded_by=None,
    withdrawn_reason=None,
    distributed_to=(),
    since_seq=1,
)


def _doc(status: str, effective: str | None = None) -> DocumentView:
    return DocumentView(
        doc_id="QP-07",
        unit="B1",
        title="T",
        kind="procedure",
        status=status,
        latest_revision="A",
        effective_revision=effective,
        next_review_due=None,
        review_interval_months=12,
        retention_years=10,
        since_seq=1,
        revisions=(replace(REV, status=status),),
    )


def test_an_author_changes_and_submits_a_draft_only() -> None:
    assert allowed_actions(_doc("drafted"), "alice", {"author"}) == ["update", "submit"]
    assert allowed_actions(_doc("changes_requested"), "alice", {"author"}) == [
        "update",
        "submit",
    ]
    assert allowed_actions(_doc("submitted"), "alice", {"author"}) == []


def test_an_approver_reviews_approves_and_makes_effective_in_turn() -> None:
    assert "review" in allowed_actions(_doc("submitted"), "bob", {"approver"})
    assert "approve" in allowed_actions(_doc("endorsed"), "bob", {"approver"})
    assert "make_effective" in allowed_actions(_doc("approved"), "bob", {"approver"})
    assert "approve" not in allowed_actions(_doc("submitted"), "bob", {"approver"})


def test_nobody_reviews_or_approves_what_they_wrote() -> None:
    both = {"author", "approver"}
    assert "review" not in allowed_actions(_doc("submitted"), "alice", both)
    assert "approve" not in allowed_actions(_doc("endorsed"), "alice", both)


def test_an_effective_document_is_distributed_reviewed_and_revised() -> None:
    doc = _doc("effective", effective="A")
    assert allowed_actions(doc, "alice", {"author"}) == [
        "distribute",
        "periodic_review",
        "new_revision",
    ]
    assert allowed_actions(doc, "vic", {"viewer"}) == []


def test_roles_count_in_their_unit_and_subtree_roles_below_it() -> None:
    roles = [("author", "B1"), ("manager", "HQ")]
    below = {"HQ": {"HQ", "B1", "B2"}}
    assert roles_in_unit(roles, "B1", below) == {"author", "manager"}
    assert roles_in_unit(roles, "B2", below) == {"manager"}
    assert roles_in_unit([("author", "HQ")], "B1", below) == set()
