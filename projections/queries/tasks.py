"""A person's open tasks as known at a moment: documents to review or approve, actions, measurements.

What the person's own page lists: the revisions waiting for an approver of their
unit (never their own: nobody reviews or approves what they wrote), the corrective
actions they own that are not done, and the last ended period of each indicator
they own that has no measurement yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select

from ledger.domain.permissions import SUBTREE_ROLES
from projections.as_of import LedgerClock, position, visible
from projections.queries.indicators import indicator_list
from projections.queries.rows import dict_rows, text_of
from projections.queries.units import unit_scope
from projections.queries.users import user
from projections.tables import document_revisions, finding_actions, findings

# What an approver does next with a revision in each status.
DOCUMENT_STEPS = {
    "submitted": "review",
    "endorsed": "approve",
    "approved": "make_effective",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentTask:
    """A revision waiting for this person as an approver: `step` is what they do next."""

    doc_id: str
    revision: str
    title: str
    unit: str
    step: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionTask:
    """A corrective action this person owns that is not done yet."""

    finding_id: str
    action_id: str
    description: str
    due_on: str
    overdue: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasurementTask:
    """An ended period of an indicator this person owns, not measured yet."""

    indicator_id: str
    name: str
    unit: str
    period: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tasks:
    """Everything waiting for one person, each list in the order to work through it."""

    documents: tuple[DocumentTask, ...]
    actions: tuple[ActionTask, ...]
    measurements: tuple[MeasurementTask, ...]

    @property
    def count(self) -> int:
        """How many tasks there are in all."""
        return len(self.documents) + len(self.actions) + len(self.measurements)


def last_ended_period(frequency: str, today: date) -> str:
    """Return the latest period of `frequency` that ended before `today`.

    Raises:
        ValueError: `frequency` is not monthly, quarterly or yearly.
    """
    if frequency == "monthly":
        year, month = (
            (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        )
        return f"{year:04d}-{month:02d}"
    if frequency == "quarterly":
        quarter = (
            today.month - 1
        ) // 3  # the quarter before today's, 0 = last year's Q4
        return f"{today.year:04d}-Q{quarter}" if quarter else f"{today.year - 1:04d}-Q4"
    if frequency == "yearly":
        return f"{today.year - 1:04d}"
    raise ValueError(f"{frequency!r} is not monthly, quarterly or yearly")


def open_tasks(
    engine: Engine,
    ledger: LedgerClock,
    user_id: str,
    *,
    today: date,
    as_of: datetime | None = None,
) -> Tasks:
    """Return the open tasks of `user_id` on `today`, as known at `as_of`.

    Raises:
        RecordNotFoundError: no such user as known at `as_of`.
    """
    person = user(engine, ledger, user_id, as_of=as_of)
    day = today.isoformat()
    with engine.connect() as conn:
        n = position(ledger, as_of)
        approver_units: set[str] = set()
        for role in person.roles:
            if role.role == "approver":
                scope = unit_scope(conn, n, role.scope, role.role in SUBTREE_ROLES)
                approver_units |= scope or set()
        r = document_revisions.c
        revisions = (
            dict_rows(
                conn,
                select(r.doc_id, r.revision, r.title, r.unit, r.status)
                .where(
                    visible(document_revisions, n),
                    r.status.in_(sorted(DOCUMENT_STEPS)),
                    r.unit.in_(sorted(approver_units)),
                    r.author != user_id,
                )
                .order_by(r.doc_id, r.revision),
            )
            if approver_units
            else []
        )
        a, f = finding_actions.c, findings.c
        actions = dict_rows(
            conn,
            select(a.finding_id, a.action_id, a.description, a.due_on)
            .join(findings, f.finding_id == a.finding_id)
            .where(
                visible(finding_actions, n),
                visible(findings, n),
                a.owner == user_id,
                a.status != "done",
                f.status != "closed",
            )
            .order_by(a.due_on, a.finding_id, a.action_id),
        )
    measurements = []
    for indicator in indicator_list(engine, ledger, as_of=as_of):
        if indicator.owner != user_id or indicator.status == "retired":
            continue
        period = last_ended_period(indicator.frequency, today)
        measured = {m.period for m in indicator.measurements}
        if period >= indicator.effective_from and period not in measured:
            measurements.append(
                MeasurementTask(
                    indicator_id=indicator.indicator_id,
                    name=indicator.name,
                    unit=indicator.unit,
                    period=period,
                )
            )
    return Tasks(
        documents=tuple(
            DocumentTask(
                doc_id=str(x["doc_id"]),
                revision=str(x["revision"]),
                title=text_of(x["title"]),
                unit=text_of(x["unit"]),
                step=DOCUMENT_STEPS[str(x["status"])],
            )
            for x in revisions
        ),
        actions=tuple(
            ActionTask(
                finding_id=str(x["finding_id"]),
                action_id=str(x["action_id"]),
                description=text_of(x["description"]),
                due_on=text_of(x["due_on"]),
                overdue=text_of(x["due_on"]) < day,
            )
            for x in actions
        ),
        measurements=tuple(measurements),
    )
