"""Which document actions a person may take now: from the record's state and their roles.

The one place the documents pages decide which forms to show. It mirrors the
service's rules (the lifecycle in `ledger.domain.documents`, the roles in
`ledger.domain.permissions`) so that a person sees only the actions the service
would accept; the service still decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.domain.permissions import SUBTREE_ROLES
from projections.queries import DocumentView, RevisionView

# The order the actions are offered in on the document page.
ACTIONS = (
    "update",
    "submit",
    "review",
    "approve",
    "make_effective",
    "distribute",
    "periodic_review",
    "new_revision",
    "retention",
    "withdraw",
)
# A revision whose text its authors may still change (a review asking for changes
# sends it back to them).
DRAFTING = ("drafted", "changes_requested")
IN_PROGRESS = ("drafted", "changes_requested", "submitted", "endorsed", "approved")


def roles_in_unit(
    roles: Iterable[tuple[str, str]], unit: str, units_below: dict[str, set[str]]
) -> set[str]:
    """Return the roles a person holds for `unit`.

    `roles` are (role, scope unit) pairs; a subtree role covers every unit in
    `units_below[scope]` (the scope and the units under it).
    """
    held = set()
    for role, scope in roles:
        if scope == unit or (
            role in SUBTREE_ROLES and unit in units_below.get(scope, set())
        ):
            held.add(role)
    return held


def latest(doc: DocumentView) -> RevisionView | None:
    """Return the document's latest revision (the one being worked on, if any)."""
    for rev in doc.revisions:
        if rev.revision == doc.latest_revision:
            return rev
    return None


def allowed_actions(doc: DocumentView, user_id: str, roles: set[str]) -> list[str]:
    """Return the actions `user_id` with `roles` in the document's unit may take now."""
    rev = latest(doc)
    author = "author" in roles
    approver = "approver" in roles
    allowed: set[str] = set()
    status = rev.status if rev is not None else ""
    if author and status in DRAFTING:
        allowed |= {"update", "submit"}
    if approver and status == "submitted" and rev is not None and rev.author != user_id:
        allowed.add("review")
    if approver and status == "endorsed" and rev is not None and rev.author != user_id:
        allowed.add("approve")
    if approver and status == "approved":
        allowed.add("make_effective")
    if doc.effective_revision is not None and (author or approver):
        allowed |= {"distribute", "periodic_review"}
    if author and status not in IN_PROGRESS:
        allowed.add("new_revision")
    if approver:
        allowed.add("retention")
        if doc.effective_revision is not None or status in IN_PROGRESS:
            allowed.add("withdraw")
    return [a for a in ACTIONS if a in allowed]


def withdrawn_revision(doc: DocumentView) -> str | None:
    """Return the revision a withdrawal applies to: the one in progress, else the effective one."""
    rev = latest(doc)
    if rev is not None and rev.status in IN_PROGRESS:
        return rev.revision
    return doc.effective_revision
