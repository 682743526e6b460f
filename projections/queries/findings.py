"""The findings register: findings with their corrective actions."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, select

from ledger.integrity.canonical import JSONValue
from projections.as_of import LedgerClock, position, visible
from projections.errors import RecordNotFoundError
from projections.queries.pages import Page, PageRequest, register_page
from projections.queries.rows import (
    dict_rows,
    int_or_zero,
    json_list,
    json_object,
    text_of,
    text_or_none,
)
from projections.queries.units import unit_scope
from projections.tables import finding_actions, findings


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionView:
    action_id: str
    description: str
    owner: str
    due_on: str
    status: str
    completed_on: str | None
    completed_at: str | None  # the ledger time the action was recorded done
    completed_by: str | None
    evidence: tuple[JSONValue, ...]
    note: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingView:
    finding_id: str
    unit: str
    source: str
    classification: str
    criterion: Mapping[str, JSONValue]
    description: str
    evidence: tuple[JSONValue, ...]
    due_on: str
    audit: str | None
    status: str
    raised_by: str
    raised_on: str  # the UTC day of raised_at
    raised_at: str  # the ledger time the finding was raised
    containment: str | None
    cause: str | None
    cause_method: str | None
    verified_effective: bool | None
    verification_comment: str | None
    verified_by: str | None
    closed_on: str | None
    reopened_count: int
    since_seq: int
    actions: tuple[ActionView, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status != "closed"


def _finding(
    r: Mapping[str, object], actions: tuple[ActionView, ...] = ()
) -> FindingView:
    return FindingView(
        finding_id=str(r["finding_id"]),
        unit=text_of(r["unit"]),
        source=text_of(r["source"]),
        classification=text_of(r["classification"]),
        criterion=json_object(r["criterion"]) or {},
        description=text_of(r["description"]),
        evidence=json_list(r["evidence"]),
        due_on=text_of(r["due_on"]),
        audit=text_or_none(r["audit"]),
        status=text_of(r["status"]),
        raised_by=text_of(r["raised_by"]),
        raised_on=text_of(r["raised_on"]),
        raised_at=text_of(r["raised_at"]),
        containment=text_or_none(r["containment"]),
        cause=text_or_none(r["cause"]),
        cause_method=text_or_none(r["cause_method"]),
        verified_effective=None
        if r["verified_effective"] is None
        else bool(r["verified_effective"]),
        verification_comment=text_or_none(r["verification_comment"]),
        verified_by=text_or_none(r["verified_by"]),
        closed_on=text_or_none(r["closed_on"]),
        reopened_count=int_or_zero(r["reopened_count"]),
        since_seq=int_or_zero(r["valid_from"]),
        actions=actions,
    )


def _action(r: Mapping[str, object]) -> ActionView:
    return ActionView(
        action_id=str(r["action_id"]),
        description=text_of(r["description"]),
        owner=text_of(r["owner"]),
        due_on=text_of(r["due_on"]),
        status=text_of(r["status"]),
        completed_on=text_or_none(r["completed_on"]),
        completed_at=text_or_none(r["completed_at"]),
        completed_by=text_or_none(r["completed_by"]),
        evidence=json_list(r["evidence"]),
        note=text_or_none(r["note"]),
    )


def _findings(
    conn: Connection, n: int | None, scope: set[str] | None
) -> list[FindingView]:
    stmt = select(findings).where(visible(findings, n)).order_by(findings.c.finding_id)
    if scope is not None:
        stmt = stmt.where(findings.c.unit.in_(sorted(scope)))
    return [_finding(r) for r in dict_rows(conn, stmt)]


def finding_register(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    open_only: bool = False,
    classification: str | None = None,
    as_of: datetime | None = None,
) -> list[FindingView]:
    """Return the findings register (without actions), ordered by finding id."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        found = _findings(conn, n, unit_scope(conn, n, unit, subtree))
    return [
        f
        for f in found
        if (not open_only or f.is_open)
        and (classification is None or f.classification == classification)
    ]


def finding(
    engine: Engine,
    ledger: LedgerClock,
    finding_id: str,
    *,
    as_of: datetime | None = None,
) -> FindingView:
    """Return one finding with its corrective actions (ordered by action id).

    Raises:
        RecordNotFoundError: no such finding as known at `as_of`.
    """
    with engine.connect() as conn:
        n = position(ledger, as_of)
        rows = dict_rows(
            conn,
            select(findings).where(
                visible(findings, n), findings.c.finding_id == finding_id
            ),
        )
        if not rows:
            raise RecordNotFoundError(f"finding {finding_id} not found")
        acts = dict_rows(
            conn,
            select(finding_actions)
            .where(
                visible(finding_actions, n), finding_actions.c.finding_id == finding_id
            )
            .order_by(finding_actions.c.action_id),
        )
    return _finding(rows[0], tuple(_action(a) for a in acts))


FINDING_SORTS = ("id", "classification", "unit", "status", "due_on", "raised_on")


def finding_page(
    engine: Engine,
    ledger: LedgerClock,
    request: PageRequest,
    *,
    unit: str | None = None,
    subtree: bool = True,
    open_only: bool = False,
    classification: str | None = None,
    as_of: datetime | None = None,
    within: Collection[str] | None = None,
) -> Page[FindingView]:
    """Return one page (of the units `within`, None: every unit) of the findings register (without actions): searched in
    numbers and descriptions.

    Raises:
        RegisterRequestError: the request names an unknown sort key.
    """
    c = findings.c
    filters: list[ColumnElement[bool]] = []
    if open_only:
        filters.append(c.status != "closed")
    if classification is not None:
        filters.append(c.classification == classification)
    return register_page(
        engine,
        ledger,
        findings,
        request,
        _finding,
        unit=unit,
        subtree=subtree,
        as_of=as_of,
        within=within,
        filters=filters,
        key=(c.finding_id,),
        searched=(c.finding_id, c.description),
        sorts={
            "id": c.finding_id,
            "classification": c.classification,
            "unit": c.unit,
            "status": c.status,
            "due_on": c.due_on,
            "raised_on": c.raised_on,
        },
    )
