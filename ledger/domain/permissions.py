"""Which roles may give each command, and which roles reach a unit's subtree. Pure.

These are the names of `ledger.domain.users.ROLES` put to use by the service's
authorization; the role names themselves are defined there.
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.domain import (
    Command,
    audits,
    documents,
    findings,
    indicators,
    reviews,
    units,
    users,
)

# Roles whose scope covers the scope unit's whole subtree; the others act in the
# scope unit itself.
SUBTREE_ROLES = frozenset({"admin", "manager", "auditor"})

# Which roles may issue each command (certifier and viewer record nothing; admin
# manages units, users and roles only).
COMMAND_ROLES: Mapping[type[Command], tuple[str, ...]] = {
    units.CreateUnit: ("admin",),
    units.RenameUnit: ("admin",),
    units.CloseUnit: ("admin",),
    users.RegisterUser: ("admin",),
    users.GrantRole: ("admin",),
    users.RevokeRole: ("admin",),
    users.MoveUser: ("admin",),
    users.DeactivateUser: ("admin",),
    users.ResetPassword: ("admin",),
    documents.DraftDocument: ("author",),
    documents.UpdateDocumentDraft: ("author",),
    documents.SubmitDocument: ("author",),
    documents.ReviewDocument: ("approver",),
    documents.ApproveDocument: ("approver",),
    documents.MakeDocumentEffective: ("approver",),
    documents.WithdrawDocument: ("approver",),
    documents.DistributeDocument: ("author", "approver"),
    documents.CompletePeriodicReview: ("author", "approver"),
    documents.ChangeRetention: ("approver",),
    audits.PlanAudit: ("auditor",),
    audits.StartAudit: ("auditor",),
    audits.ReportAudit: ("auditor",),
    audits.CloseAudit: ("auditor",),
    audits.CancelAudit: ("auditor",),
    findings.RaiseFinding: ("auditor", "manager"),
    findings.ContainFinding: ("owner", "manager"),
    findings.AnalyseCause: ("owner", "manager"),
    findings.PlanActions: ("owner", "manager"),
    findings.CompleteAction: ("owner",),
    findings.ChangeDueDate: ("manager",),
    findings.VerifyEffectiveness: ("auditor",),
    findings.CloseFinding: ("auditor", "manager"),
    findings.ReopenFinding: ("auditor", "manager"),
    indicators.DefineIndicator: ("manager",),
    indicators.ChangeTarget: ("manager",),
    indicators.RecordMeasurement: ("owner",),
    indicators.CorrectMeasurement: ("owner", "manager"),
    indicators.RetireIndicator: ("manager",),
    reviews.HoldManagementReview: ("manager",),
}
