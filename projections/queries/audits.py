"""The audits register: internal audits from plan to closure."""

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
    str_list,
    text_of,
    text_or_none,
)
from projections.queries.units import unit_scope
from projections.tables import audits


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditView:
    audit_id: str
    programme: str
    unit: str
    scope: str
    criteria: tuple[JSONValue, ...]
    lead_auditor: str
    team: tuple[str, ...]
    planned_start: str
    planned_end: str
    status: str
    started_on: str | None
    summary: str | None
    findings: tuple[str, ...]
    reported_by: str | None
    closed_on: str | None
    cancelled_reason: str | None
    since_seq: int


def _audit(r: Mapping[str, object]) -> AuditView:
    return AuditView(
        audit_id=str(r["audit_id"]),
        programme=text_of(r["programme"]),
        unit=text_of(r["unit"]),
        scope=text_of(r["scope"]),
        criteria=json_list(r["criteria"]),
        lead_auditor=text_of(r["lead_auditor"]),
        team=str_list(r["team"]),
        planned_start=text_of(r["planned_start"]),
        planned_end=text_of(r["planned_end"]),
        status=text_of(r["status"]),
        started_on=text_or_none(r["started_on"]),
        summary=text_or_none(r["summary"]),
        findings=str_list(r["findings"]),
        reported_by=text_or_none(r["reported_by"]),
        closed_on=text_or_none(r["closed_on"]),
        cancelled_reason=text_or_none(r["cancelled_reason"]),
        since_seq=int_or_zero(r["valid_from"]),
    )


def _audits(conn: Connection, n: int | None, scope: set[str] | None) -> list[AuditView]:
    stmt = select(audits).where(visible(audits, n)).order_by(audits.c.audit_id)
    if scope is not None:
        stmt = stmt.where(audits.c.unit.in_(sorted(scope)))
    return [_audit(r) for r in dict_rows(conn, stmt)]


def audit_list(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    programme: str | None = None,
    as_of: datetime | None = None,
) -> list[AuditView]:
    """Return audits, ordered by audit id, optionally of one programme year."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        found = _audits(conn, n, unit_scope(conn, n, unit, subtree))
    return [a for a in found if programme is None or a.programme == programme]


def audit(
    engine: Engine, ledger: LedgerClock, audit_id: str, *, as_of: datetime | None = None
) -> AuditView:
    """Return one audit.

    Raises:
        RecordNotFoundError: no such audit as known at `as_of`.
    """
    with engine.connect() as conn:
        rows = dict_rows(
            conn,
            select(audits).where(
                visible(audits, position(ledger, as_of)), audits.c.audit_id == audit_id
            ),
        )
    if not rows:
        raise RecordNotFoundError(f"audit {audit_id} not found")
    return _audit(rows[0])


AUDIT_SORTS = ("id", "programme", "unit", "status", "planned_start")


def audit_page(
    engine: Engine,
    ledger: LedgerClock,
    request: PageRequest,
    *,
    unit: str | None = None,
    subtree: bool = True,
    programme: str | None = None,
    status: str | None = None,
    as_of: datetime | None = None,
    within: Collection[str] | None = None,
) -> Page[AuditView]:
    """Return one page (of the units `within`, None: every unit) of the audits register: searched in numbers and scopes.

    Raises:
        RegisterRequestError: the request names an unknown sort key.
    """
    c = audits.c
    filters: list[ColumnElement[bool]] = []
    if programme is not None:
        filters.append(c.programme == programme)
    if status is not None:
        filters.append(c.status == status)
    return register_page(
        engine,
        ledger,
        audits,
        request,
        _audit,
        unit=unit,
        subtree=subtree,
        as_of=as_of,
        within=within,
        filters=filters,
        key=(c.audit_id,),
        searched=(c.audit_id, c.scope),
        sorts={
            "id": c.audit_id,
            "programme": c.programme,
            "unit": c.unit,
            "status": c.status,
            "planned_start": c.planned_start,
        },
    )
