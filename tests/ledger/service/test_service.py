"""The write service on both dialects: authorization, record rules, e-signatures.

Every refusal leaves the ledger unchanged (same size).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.clock import FixedClock
from ledger.domain import audits as a
from ledger.domain import documents as d
from ledger.domain import findings as f
from ledger.domain import indicators as i
from ledger.domain import reviews as r
from ledger.domain import signoffs
from ledger.domain import units as un
from ledger.domain import users as us
from ledger.errors import (
    ConcurrencyError,
    EventRejectedError,
    NotAuthorizedError,
    NotFoundError,
    VerificationError,
)
from ledger.integrity.envelope import NewEvent
from ledger.integrity.verify import verify_lines
from ledger.service import Service
from ledger.store import EventStore
from tests.support.service import (
    TEMP,
    blob,
    build_service,
    draft,
    endorsed,
    refused,
    secret,
)


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    """A service with HQ, bureaus B1 and B2, and one user per role who set their password."""
    return build_service(store, clock)


def verify(store: EventStore, signer_key_id: str) -> int:
    head = verify_lines(store.read_lines(), trusted_key_id=signer_key_id, workers=1)
    return head.esignatures


class TestDocuments:
    def test_approval_carries_a_verifiable_esignature(
        self, service: Service, signer: Any
    ) -> None:
        endorsed(service)
        (approved,) = service.handle(
            d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob")
        )
        esig = approved.data["esig"]
        assert esig["signer"] == "bob"
        assert esig["name"] == "Bob"
        assert esig["subject"] == "document/QP-07"
        assert esig["signed_at"] == "2026-01-05T08:00:00.000000Z"
        service.handle(
            d.MakeDocumentEffective(doc_id="QP-07", effective_on=date(2026, 1, 10)),
            "bob",
        )
        assert verify(service.store, signer.key_id) == 1
        assert service.check_signoffs("document/QP-07") == 1

    def test_wrong_password_signs_nothing(self, service: Service) -> None:
        endorsed(service)
        err = refused(
            service,
            EventRejectedError,
            d.ApproveDocument(doc_id="QP-07"),
            "bob",
            password="guess-guess",
        )
        assert "password" in err.messages  # type: ignore[attr-defined]

    def test_missing_password_signs_nothing(self, service: Service) -> None:
        endorsed(service)
        err = refused(
            service, EventRejectedError, d.ApproveDocument(doc_id="QP-07"), "bob"
        )
        assert "password" in err.messages  # type: ignore[attr-defined]

    def test_author_cannot_approve_own_revision_even_as_approver(
        self, service: Service
    ) -> None:
        service.handle(
            us.GrantRole(user_id="alice", role="approver", scope="B1"), "root"
        )
        endorsed(service)
        refused(
            service,
            NotAuthorizedError,
            d.ApproveDocument(doc_id="QP-07"),
            "alice",
            password=secret("alice"),
        )

    @pytest.mark.parametrize("actor", ["vic", "cert", "root", "zoe", "dave"])
    def test_only_authors_of_the_unit_draft(self, service: Service, actor: str) -> None:
        refused(service, NotAuthorizedError, draft(service.store), actor)

    def test_unknown_actor_is_refused(self, service: Service) -> None:
        refused(service, NotAuthorizedError, draft(service.store), "nobody")

    def test_rule_breach_names_the_field(self, service: Service) -> None:
        service.handle(draft(service.store), "alice")
        err = refused(
            service,
            EventRejectedError,
            d.ReviewDocument(doc_id="QP-07", outcome="endorsed"),
            "bob",
        )
        assert "status" in err.messages  # type: ignore[attr-defined]

    def test_missing_record_is_not_found(self, service: Service) -> None:
        refused(service, NotFoundError, d.SubmitDocument(doc_id="QP-99"), "alice")

    def test_command_id_replay_records_once(self, service: Service) -> None:
        first = service.handle(draft(service.store), "alice", command_id="cmd-1")
        size = service.store.size()
        again = service.handle(draft(service.store), "alice", command_id="cmd-1")
        assert [e.seq for e in again] == [e.seq for e in first]
        assert service.store.size() == size

    def test_occurred_at_is_carried(self, service: Service) -> None:
        claimed = datetime(2025, 12, 30, 9, 0, tzinfo=UTC)
        (event,) = service.handle(
            replace(draft(service.store), occurred_at=claimed), "alice"
        )
        assert event.occurred_at == "2025-12-30T09:00:00.000000Z"


class TestEsignatureBinding:
    def test_esig_moved_to_another_document_fails_verification(
        self, service: Service, signer: Any
    ) -> None:
        endorsed(service)
        (approved,) = service.handle(
            d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob")
        )
        endorsed(service, "QP-08")
        stolen = dict(approved.data)
        service.store.append(
            [
                NewEvent(
                    stream="document/QP-08",
                    type="document.approved",
                    data=stolen,
                    actor="bob",
                )
            ]
        )
        with pytest.raises(VerificationError, match="subject"):
            verify(service.store, signer.key_id)
        with pytest.raises(VerificationError, match="subject"):
            service.check_signoffs("document/QP-08")

    def test_changed_content_breaks_the_signature_binding(
        self, service: Service
    ) -> None:
        endorsed(service)
        service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob"))
        events = service.store.read_stream("document/QP-07")
        assert signoffs.check_subjects(events) == 1
        other = hashlib.sha256(b"forged").hexdigest()
        drafted = events[0]
        content = {**drafted.data["content"], "blob": other}  # type: ignore[dict-item]
        forged = [
            replace(drafted, data={**drafted.data, "content": content}),
            *events[1:],
        ]
        with pytest.raises(VerificationError, match="subject_sha256"):
            signoffs.check_subjects(forged)

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            (
                lambda data: {k: v for k, v in data.items() if k != "esig"},
                "carries no e-signature",
            ),
            (
                lambda data: {**data, "esig": {**data["esig"], "meaning": "reviewed"}},
                "meaning 'reviewed'",
            ),
        ],
    )
    def test_a_sign_off_needs_an_esig_with_its_meaning(
        self, service: Service, change: Any, reason: str
    ) -> None:
        endorsed(service)
        service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob"))
        events = service.store.read_stream("document/QP-07")
        approved = events[-1]
        with pytest.raises(VerificationError, match=reason):
            signoffs.check_subjects(
                [*events[:-1], replace(approved, data=change(approved.data))]
            )

    def test_signature_replayed_on_a_later_version_fails(
        self, service: Service
    ) -> None:
        endorsed(service)
        (approved,) = service.handle(
            d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob")
        )
        events = service.store.read_stream("document/QP-07")
        # The same review recorded once more: the signed version is no longer the
        # one the signature names.
        shifted = [
            *events[:-1],
            replace(events[2], version=approved.version),
            replace(approved, version=approved.version + 1),
        ]
        with pytest.raises(VerificationError):
            signoffs.check_subjects(shifted)


class TestPasswordReset:
    def test_reset_revokes_the_old_key_and_blocks_signing_until_the_user_sets_a_password(
        self, service: Service, signer: Any
    ) -> None:
        old_key = service.directory().users["bob"].key_id
        events = service.handle(
            us.ResetPassword(user_id="bob", temporary_password="admin-knows-1"), "root"
        )
        assert [e.type for e in events] == [
            "ledger.key_registered",
            "user.esign_key_issued",
            "ledger.key_revoked",
        ]
        assert events[1].data["reason"] == "password reset by root"
        keys = service.store.key_records()
        revoked = {k.key_id: k.revoked_seq for k in keys}
        assert revoked[old_key] is not None
        new_key = service.directory().users["bob"].key_id
        assert new_key != old_key
        endorsed(service)
        # The administrator knows the temporary password but cannot sign as bob.
        refused(
            service,
            NotAuthorizedError,
            d.ApproveDocument(doc_id="QP-07"),
            "bob",
            password="admin-knows-1",
        )
        # Nor does bob's old password open anything: his old key is revoked.
        refused(
            service,
            NotAuthorizedError,
            d.ApproveDocument(doc_id="QP-07"),
            "bob",
            password=secret("bob"),
        )
        service.change_password("bob", "admin-knows-1", "bob-new-secret")
        refused(
            service,
            EventRejectedError,
            d.ApproveDocument(doc_id="QP-07"),
            "bob",
            password="admin-knows-1",
        )
        (approved,) = service.handle(
            d.ApproveDocument(doc_id="QP-07"), "bob", password="bob-new-secret"
        )
        # Setting his own password gave bob a key the administrator never could open.
        own_key = service.directory().users["bob"].key_id
        assert own_key not in (new_key, old_key)
        assert approved.data["esig"]["key"] == own_key
        assert verify(service.store, signer.key_id) == 1

    def test_new_user_must_change_the_temporary_password_first(
        self, service: Service
    ) -> None:
        service.handle(
            us.RegisterUser(
                user_id="nina",
                name="Nina",
                unit="B1",
                email="n@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        service.handle(
            us.GrantRole(user_id="nina", role="approver", scope="B1"), "root"
        )
        endorsed(service)
        refused(
            service,
            NotAuthorizedError,
            d.ApproveDocument(doc_id="QP-07"),
            "nina",
            password=TEMP,
        )

    def test_only_admins_reset_and_wrong_old_password_is_refused(
        self, service: Service
    ) -> None:
        refused(
            service,
            NotAuthorizedError,
            us.ResetPassword(user_id="bob", temporary_password="x" * 10),
            "mia",
        )
        with pytest.raises(EventRejectedError):
            service.change_password("bob", "not-my-password", "whatever-123")
        assert service.check_password("bob", secret("bob"))
        assert not service.check_password("bob", "not-my-password")


class TestDirectoryAndAdmin:
    def test_first_admin_only_once(self, service: Service) -> None:
        before = service.store.size()
        with pytest.raises(NotAuthorizedError):
            service.create_first_admin(
                "root2", "Root", "HQ", "总局", "HQ", "password-123"
            )
        assert service.store.size() == before

    def test_nobody_grants_themselves_a_role(self, service: Service) -> None:
        refused(
            service,
            NotAuthorizedError,
            us.GrantRole(user_id="root", role="approver", scope="HQ"),
            "root",
        )

    def test_revocation_needs_reason_and_takes_effect(self, service: Service) -> None:
        err = refused(
            service,
            EventRejectedError,
            us.RevokeRole(user_id="alice", role="author", scope="B1", reason=""),
            "root",
        )
        assert "reason" in err.messages  # type: ignore[attr-defined]
        service.handle(
            us.RevokeRole(
                user_id="alice", role="author", scope="B1", reason="moved on"
            ),
            "root",
        )
        refused(service, NotAuthorizedError, draft(service.store), "alice")

    def test_deactivated_user_records_nothing(self, service: Service) -> None:
        service.handle(us.DeactivateUser(user_id="alice", reason="left"), "root")
        refused(service, NotAuthorizedError, draft(service.store), "alice")

    def test_user_ids_are_never_reassigned(self, service: Service) -> None:
        err = refused(
            service,
            EventRejectedError,
            us.RegisterUser(
                user_id="alice",
                name="Other",
                unit="B2",
                email="o@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        assert "user_id" in err.messages  # type: ignore[attr-defined]


def indicator(unit: str = "B1") -> i.DefineIndicator:
    return i.DefineIndicator(
        indicator_id=f"{unit}-ontime",
        unit=unit,
        owner="dave",
        name="On time",
        measure="%",
        direction="higher_is_better",
        target="95.00",
        frequency="monthly",
        method="count",
        effective_from="2026-01",
    )


class TestIndicatorsAndReviews:
    def test_manager_acts_in_the_subtree_only(self, service: Service) -> None:
        service.handle(indicator(), "hank")  # HQ manager, B1 is below HQ
        refused(service, NotAuthorizedError, indicator("B2"), "mia")  # B1 manager

    def test_owner_records_then_corrects(self, service: Service) -> None:
        service.handle(indicator(), "mia")
        service.handle(
            i.RecordMeasurement(
                indicator_id="B1-ontime", period="2026-01", value="96.00"
            ),
            "dave",
        )
        refused(
            service,
            EventRejectedError,
            i.RecordMeasurement(
                indicator_id="B1-ontime", period="2026-01", value="97.00"
            ),
            "dave",
        )
        (corrected,) = service.handle(
            i.CorrectMeasurement(
                indicator_id="B1-ontime", period="2026-01", value="94.00", reason="typo"
            ),
            "mia",
        )
        assert corrected.data["old"] == {"value": "96.00"}

    def test_management_review(self, service: Service) -> None:
        inputs = [
            {
                "report": "status",
                "unit": "B1",
                "as_of": "2026-01-05T08:00:00.000000Z",
                "size": 5,
                "sha256": "ab" * 32,
            }
        ]
        (held,) = service.handle(
            r.HoldManagementReview(
                review_id="2026-1",
                unit="B1",
                held_on=date(2026, 1, 20),
                attendees=["mia", "bob"],
                inputs=inputs,
                decisions=["Keep targets"],
            ),
            "mia",
        )
        assert held.data["inputs"] == inputs
        refused(
            service,
            NotAuthorizedError,
            r.HoldManagementReview(
                review_id="2026-2",
                unit="B1",
                held_on=date(2026, 1, 20),
                attendees=["x"],
            ),
            "bob",
        )


def plan(lead: str = "carol") -> a.PlanAudit:
    return a.PlanAudit(
        audit_id="2026-07",
        programme="2026",
        unit="B1",
        scope="7.5",
        criteria=["7.5"],
        lead_auditor=lead,
        team=["erin"],
        planned_start=date(2026, 7, 1),
        planned_end=date(2026, 7, 2),
    )


class TestAuditsAndFindings:
    def test_audit_and_finding_to_closure(self, service: Service, signer: Any) -> None:
        store = service.store
        service.handle(plan(), "carol")
        service.handle(
            a.StartAudit(audit_id="2026-07", started_on=date(2026, 7, 1)), "carol"
        )
        service.handle(
            f.RaiseFinding(
                finding_id="2026-0042",
                unit="B1",
                source="internal_audit",
                classification="minor",
                criterion={"clause": "7.5.3"},
                description="Unindexed",
                evidence=[blob(store, "photo")],
                due_on=date(2026, 9, 1),
                audit="2026-07",
            ),
            "carol",
        )
        service.handle(
            a.ReportAudit(
                audit_id="2026-07", summary="One minor", findings=["2026-0042"]
            ),
            "carol",
            password=secret("carol"),
        )
        service.handle(
            f.ContainFinding(finding_id="2026-0042", action="Quarantine"), "dave"
        )
        service.handle(
            f.AnalyseCause(finding_id="2026-0042", cause="No index", method="5 whys"),
            "dave",
        )
        plan_ = f.ActionPlan(
            action_id="A1", description="Index", owner="dave", due_on=date(2026, 8, 1)
        )
        service.handle(f.PlanActions(finding_id="2026-0042", actions=[plan_]), "mia")
        service.handle(
            f.CompleteAction(
                finding_id="2026-0042", action_id="A1", evidence=[blob(store, "index")]
            ),
            "dave",
        )
        refused(
            service,
            NotAuthorizedError,
            f.VerifyEffectiveness(finding_id="2026-0042", effective=True, comment="ok"),
            "carol",
            password=secret("carol"),
        )
        refused(
            service,
            NotAuthorizedError,
            f.VerifyEffectiveness(finding_id="2026-0042", effective=True, comment="ok"),
            "dave",
            password=secret("dave"),
        )
        refused(
            service,
            EventRejectedError,
            f.CloseFinding(finding_id="2026-0042", closed_on=date(2026, 8, 2)),
            "erin",
        )
        service.handle(
            f.VerifyEffectiveness(finding_id="2026-0042", effective=True, comment="ok"),
            "erin",
            password=secret("erin"),
        )
        service.handle(
            f.CloseFinding(finding_id="2026-0042", closed_on=date(2026, 8, 2)), "erin"
        )
        assert verify(store, signer.key_id) == 2
        assert service.check_signoffs("finding/2026-0042") == 1
        assert service.check_signoffs("audit/2026-07") == 1

    def test_auditor_of_own_unit_is_refused(self, service: Service) -> None:
        err = refused(service, EventRejectedError, plan(lead="lars"), "carol")
        assert "lead_auditor" in err.messages  # type: ignore[attr-defined]

    def test_finding_without_evidence_is_refused(self, service: Service) -> None:
        err = refused(
            service,
            EventRejectedError,
            f.RaiseFinding(
                finding_id="2026-0043",
                unit="B1",
                source="complaint",
                classification="minor",
                criterion={"clause": "8.2"},
                description="x",
                evidence=[],
                due_on=date(2026, 9, 1),
            ),
            "mia",
        )
        assert "evidence" in err.messages  # type: ignore[attr-defined]

    def test_only_action_owner_completes(self, service: Service) -> None:
        service.handle(
            f.RaiseFinding(
                finding_id="2026-0044",
                unit="B1",
                source="complaint",
                classification="minor",
                criterion={"clause": "8.2"},
                description="x",
                evidence=[blob(service.store, "e")],
                due_on=date(2026, 9, 1),
            ),
            "mia",
        )
        service.handle(f.ContainFinding(finding_id="2026-0044", action="stop"), "mia")
        service.handle(
            f.AnalyseCause(finding_id="2026-0044", cause="c", method="m"), "mia"
        )
        service.handle(
            f.PlanActions(
                finding_id="2026-0044",
                actions=[
                    f.ActionPlan(
                        action_id="A1",
                        description="x",
                        owner="mia",
                        due_on=date(2026, 8, 1),
                    )
                ],
            ),
            "mia",
        )
        refused(
            service,
            NotAuthorizedError,
            f.CompleteAction(finding_id="2026-0044", action_id="A1"),
            "dave",
        )


def test_stale_read_raises_concurrency_error_and_stores_nothing(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that moved between the read and the append is not overwritten."""
    service.handle(draft(service.store), "alice")
    history = service.store.read_stream("document/QP-07")
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    # The next command decides on the state as it was before the submission.
    monkeypatch.setattr(service.store, "read_stream", lambda stream: history)
    refused(service, ConcurrencyError, d.SubmitDocument(doc_id="QP-07"), "alice")


def _role_matrix() -> list[Any]:
    finding = "2026-0050"
    cases = [
        (
            "review by an author",
            d.ReviewDocument(doc_id="QP-07", outcome="endorsed"),
            "alice",
        ),
        (
            "effective by an author",
            d.MakeDocumentEffective(doc_id="QP-07", effective_on=date(2026, 2, 1)),
            "alice",
        ),
        (
            "withdraw by an author",
            d.WithdrawDocument(doc_id="QP-07", reason="x"),
            "alice",
        ),
        ("submit by an approver", d.SubmitDocument(doc_id="QP-07"), "bob"),
        ("audit planned by a manager", plan(), "mia"),
        ("audit planned by a certifier", plan(), "cert"),
        (
            "verify by a manager",
            f.VerifyEffectiveness(finding_id=finding, effective=True, comment="ok"),
            "mia",
        ),
        (
            "due date by an owner",
            f.ChangeDueDate(finding_id=finding, due_on=date(2026, 12, 1), reason="x"),
            "dave",
        ),
        (
            "containment by a viewer",
            f.ContainFinding(finding_id=finding, action="x"),
            "vic",
        ),
        ("indicator by an owner", indicator(), "dave"),
        (
            "measurement by a manager",
            i.RecordMeasurement(indicator_id="B1-ontime", period="2026-01", value="1"),
            "mia",
        ),
        (
            "measurement by a certifier",
            i.RecordMeasurement(indicator_id="B1-ontime", period="2026-01", value="1"),
            "cert",
        ),
        (
            "review held by an auditor",
            r.HoldManagementReview(
                review_id="R1", unit="B1", held_on=date(2026, 1, 9), attendees=["mia"]
            ),
            "carol",
        ),
        (
            "unit created by a manager",
            un.CreateUnit(
                code="B3", name_zh="三", name_en="Three", kind="bureau", parent="HQ"
            ),
            "hank",
        ),
        (
            "user registered by a manager",
            us.RegisterUser(
                user_id="newbie",
                name="N",
                unit="B1",
                email="n@example.org",
                temporary_password=TEMP,
            ),
            "hank",
        ),
        (
            "role granted by a manager",
            us.GrantRole(user_id="vic", role="author", scope="B1"),
            "hank",
        ),
        ("admin drafts", draft_in_b1(), "root"),
        (
            "admin raises a finding",
            f.RaiseFinding(
                finding_id="2026-0051",
                unit="B1",
                source="complaint",
                classification="minor",
                criterion={"clause": "8.2"},
                description="x",
                evidence=[],
                due_on=date(2026, 9, 1),
            ),
            "root",
        ),
    ]
    return [pytest.param(command, actor, id=name) for name, command, actor in cases]


def draft_in_b1() -> d.DraftDocument:
    ref = {
        "blob": "ab" * 32,
        "size": 1,
        "name": "a.pdf",
        "media_type": "application/pdf",
    }
    return d.DraftDocument(
        doc_id="QP-09", unit="B1", title="t", kind="form", content=ref
    )


@pytest.mark.parametrize(("command", "actor"), _role_matrix())
def test_role_matrix_refuses_and_stores_nothing(
    service: Service, command: Any, actor: str
) -> None:
    store = service.store
    service.handle(draft(store), "alice")
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    service.handle(indicator(), "mia")
    service.handle(
        f.RaiseFinding(
            finding_id="2026-0050",
            unit="B1",
            source="complaint",
            classification="minor",
            criterion={"clause": "8.2"},
            description="x",
            evidence=[blob(store, "e")],
            due_on=date(2026, 9, 1),
        ),
        "mia",
    )
    refused(service, NotAuthorizedError, command, actor)


def test_a_command_on_a_version_the_actor_did_not_see_is_refused(
    store: EventStore, clock: FixedClock
) -> None:
    service = build_service(store, clock)
    service.handle(draft(store, "QP-07"), "alice")
    version = store.stream_version("document/QP-07")
    before = store.size()
    with pytest.raises(ConcurrencyError, match="is at version 1, not 0"):
        service.handle(d.SubmitDocument(doc_id="QP-07"), "alice", expected_version=0)
    assert store.size() == before
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice", expected_version=version)
    assert store.stream_version("document/QP-07") == version + 1
