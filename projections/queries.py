"""Read functions returning frozen views of the read models; the only module web/ reads.

Every function takes `as_of: datetime | None`: None reads the current rows; a
moment T reads the rows valid at n = ledger.size_at(T), i.e. the state built from
the ledger prefix 1..n ("as known at T"). Unit filters take a unit code and, unless
`subtree=False`, include every unit below it in the tree as known at the same moment.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Engine,
    Select,
    Subquery,
    Table,
    TextClause,
    and_,
    bindparam,
    select,
    text,
)
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from ledger.integrity.canonical import JSONValue
from projections.errors import RecordNotFoundError
from projections.tables import (
    audits,
    document_revisions,
    documents,
    finding_actions,
    findings,
    indicator_measurements,
    indicator_targets,
    indicators,
    reviews,
    units,
    user_roles,
    users,
)


class LedgerClock(Protocol):
    """What queries need of the event store: the ledger size as known at a moment."""

    def size_at(self, moment: datetime) -> int: ...


# -- views ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class UnitView:
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent: str | None
    closed: bool
    children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleView:
    role: str
    scope: str
    granted_by: str
    granted_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    user_id: str
    name: str
    unit: str
    email: str
    active: bool
    esign_key_id: str | None
    roles: tuple[RoleView, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionView:
    doc_id: str
    revision: str
    status: str
    title: str
    kind: str
    unit: str
    content: Mapping[str, JSONValue] | None
    author: str
    drafted_at: str
    review_outcome: str | None
    review_comment: str | None
    reviewed_by: str | None
    approved_by: str | None
    approved_at: str | None
    content_sha256: str | None
    esig: Mapping[str, JSONValue] | None
    effective_on: str | None
    next_review_due: str | None
    supersedes: str | None
    superseded_by: str | None
    withdrawn_reason: str | None
    distributed_to: tuple[str, ...]
    since_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentView:
    doc_id: str
    unit: str
    title: str
    kind: str
    status: str
    latest_revision: str
    effective_revision: str | None
    next_review_due: str | None
    review_interval_months: int | None
    retention_years: int | None
    since_seq: int
    revisions: tuple[RevisionView, ...] = ()


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionView:
    action_id: str
    description: str
    owner: str
    due_on: str
    status: str
    completed_on: str | None
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
    raised_on: str
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


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetView:
    effective_from: str
    target: str
    reason: str | None
    set_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasurementView:
    period: str
    value: str
    first_value: str
    corrections: int
    note: str | None
    correction_reason: str | None
    recorded_by: str
    target: str | None
    met: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorView:
    indicator_id: str
    unit: str
    owner: str
    name: str
    measure: str
    direction: str
    frequency: str
    method: str
    target: str
    effective_from: str
    status: str
    retired_reason: str | None
    since_seq: int
    targets: tuple[TargetView, ...] = ()
    measurements: tuple[MeasurementView, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewView:
    review_id: str
    unit: str
    held_on: str
    held_by: str
    attendees: tuple[str, ...]
    inputs: tuple[JSONValue, ...]
    decisions: tuple[str, ...]
    actions: tuple[JSONValue, ...]
    since_seq: int


# -- helpers --------------------------------------------------------------------------
def position(ledger: LedgerClock, as_of: datetime | None) -> int | None:
    """Return n(T) for `as_of`, or None for "current rows"."""
    return None if as_of is None else ledger.size_at(as_of)


def visible(
    table: Table, n: int | None, units: Collection[str] | None = None
) -> ColumnElement[bool]:
    """Return the condition for row versions valid at position `n` (None: current).

    One term per span (projections.tables): the current versions that began by n,
    and for each span k the ended versions that began in (n - 2**k, n] and ended
    after n, so each term is one range of the index on (span, valid_from, valid_to).
    With `units`, every term also names the units, for the index led by `unit`.
    The SQL text is made once per table and bit length of n, so the statements that
    use it are compiled once, not at every report.
    """
    c = table.c
    if n is None:
        current = and_(c.span == 0, c.valid_to.is_(None))
        return current if units is None else and_(c.unit.in_(sorted(units)), current)
    top = n.bit_length() + 1  # 2**(top - 1) > n: every later span begins in [1, n]
    clause = _visible_clause(table.name, top, units is not None)
    values = _span_values(table, n, units)
    return clause.bindparams(*values).self_group()  # type: ignore[return-value]  # a boolean SQL fragment


def versions_at(
    table: Table,
    n: int,
    columns: Sequence[str],
    units: Collection[str] | None = None,
) -> Subquery:
    """Return the versions valid at `n` as a subquery of `columns`.

    The same spans as `visible`, one SELECT per span joined by UNION ALL (a version
    has one span, so no row comes twice): each is one range of an index that can
    hold the columns themselves (`projections.tables`, the as-of index's covering
    columns), so the database reads neither the table nor a row twice. What the
    status report counts over a whole network.
    """
    top = n.bit_length() + 1
    clause = _versions_clause(table.name, tuple(columns), top, units is not None)
    values = _span_values(table, n, units)
    selected = clause.bindparams(*values).columns(*(table.c[c] for c in columns))
    return selected.subquery(f"{table.name}_at")


def _span_values(
    table: Table, n: int, units: Collection[str] | None
) -> list[BindParameter[object]]:
    """The values the span terms of `_span_terms` name: n, and the units if any."""
    values: list[BindParameter[object]] = [bindparam(f"{table.name}_n", n)]
    if units is not None:
        values.append(bindparam(f"{table.name}_units", sorted(units), expanding=True))
    return values


@cache
def _visible_clause(name: str, top: int, by_unit: bool) -> TextClause:
    terms = _span_terms(name, top, by_unit)
    return text("(" + " OR ".join(f"({term})" for term in terms) + ")")


@cache
def _versions_clause(
    name: str, columns: tuple[str, ...], top: int, by_unit: bool
) -> TextClause:
    picked = ", ".join(columns)
    arms = (
        f"SELECT {picked} FROM {name} WHERE {term}"
        for term in _span_terms(name, top, by_unit)
    )
    return text(" UNION ALL ".join(arms))


def _span_terms(name: str, top: int, by_unit: bool) -> list[str]:
    """The condition of each span: the current versions, then spans 1 .. top."""
    n = f":{name}_n"
    unit = f"{name}.unit IN :{name}_units AND " if by_unit else ""
    began = f"{name}.valid_from <= {n}"
    ended = f"{name}.valid_to > {n}"
    terms = [f"{unit}{name}.span = 0 AND {began}"]
    terms.extend(
        f"{unit}{name}.span = {k} AND {name}.valid_from > {n} - {1 << k} "
        f"AND {began} AND {ended}"
        for k in range(1, top)
    )
    terms.append(f"{unit}{name}.span >= {top} AND {began} AND {ended}")
    return terms


def driver_rows(conn: Connection, stmt: ClauseElement) -> list[tuple[Any, ...]]:
    """Run `stmt` on the driver's own cursor, in `conn`'s transaction, and return
    the driver's plain tuples.

    For the few statements that return tens of thousands of rows to be turned into
    report entries at once: no result rows are built and no type converts a value,
    so values come as the driver gives them (SQLite gives booleans as 0 and 1).
    """
    compiled = cast(
        "SQLCompiler",
        stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True}),
    )
    params = compiled.construct_params()
    order = compiled.positiontup
    args = params if order is None else tuple(params[k] for k in order)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _rows(
    conn: Connection, stmt: Select[tuple[object, ...]]
) -> list[dict[str, object]]:
    result = conn.execute(stmt)
    keys = tuple(result.keys())  # once, not per row: registers hold tens of thousands
    return [dict(zip(keys, r, strict=True)) for r in result]


def _s(value: object) -> str:
    return "" if value is None else str(value)


def _os(value: object) -> str | None:
    return None if value is None else str(value)


def _i(value: object) -> int:
    return value if isinstance(value, int) else 0


def _json(value: object) -> JSONValue:
    if not isinstance(value, str):
        return None
    loaded: JSONValue = json.loads(value)
    return loaded


def _tuple(value: object) -> tuple[JSONValue, ...]:
    loaded = _json(value)
    return tuple(loaded) if isinstance(loaded, list) else ()


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in _tuple(value))


def _mapping(value: object) -> Mapping[str, JSONValue] | None:
    loaded = _json(value)
    return loaded if isinstance(loaded, dict) else None


# -- units and users ------------------------------------------------------------------
def _units(conn: Connection, n: int | None) -> list[UnitView]:
    rows = _rows(conn, select(units).where(visible(units, n)).order_by(units.c.code))
    kids: dict[str, list[str]] = {}
    for r in rows:
        if r["parent"] is not None:
            kids.setdefault(str(r["parent"]), []).append(str(r["code"]))
    return [
        UnitView(
            code=str(r["code"]),
            name_zh=_s(r["name_zh"]),
            name_en=_s(r["name_en"]),
            kind=_s(r["kind"]),
            parent=_os(r["parent"]),
            closed=bool(r["closed"]),
            children=tuple(sorted(kids.get(str(r["code"]), []))),
        )
        for r in rows
    ]


def _subtree(
    conn: Connection, n: int | None, unit: str | None, subtree: bool
) -> set[str] | None:
    if unit is None:
        return None
    if not subtree:
        return {unit}
    by_code = {u.code: u for u in _units(conn, n)}
    found, todo = set(), [unit]
    while todo:
        code = todo.pop()
        if code in found:
            continue
        found.add(code)
        if code in by_code:
            todo.extend(by_code[code].children)
    return found


def unit_tree(
    engine: Engine, ledger: LedgerClock, *, as_of: datetime | None = None
) -> list[UnitView]:
    """Return every unit (with its children's codes), ordered by code."""
    with engine.connect() as conn:
        return _units(conn, position(ledger, as_of))


def unit_subtree(
    engine: Engine, ledger: LedgerClock, unit: str, *, as_of: datetime | None = None
) -> list[str]:
    """Return the codes of `unit` and every unit below it, sorted."""
    with engine.connect() as conn:
        return sorted(_subtree(conn, position(ledger, as_of), unit, True) or ())


def _users(
    conn: Connection, n: int | None, user_id: str | None = None
) -> list[UserView]:
    stmt = select(users).where(visible(users, n)).order_by(users.c.user_id)
    rstmt = select(user_roles).where(visible(user_roles, n))
    if user_id is not None:
        stmt = stmt.where(users.c.user_id == user_id)
        rstmt = rstmt.where(user_roles.c.user_id == user_id)
    roles: dict[str, list[RoleView]] = {}
    for r in _rows(
        conn,
        rstmt.order_by(user_roles.c.user_id, user_roles.c.role, user_roles.c.scope),
    ):
        roles.setdefault(str(r["user_id"]), []).append(
            RoleView(
                role=str(r["role"]),
                scope=str(r["scope"]),
                granted_by=_s(r["granted_by"]),
                granted_at=_s(r["granted_at"]),
            )
        )
    return [
        UserView(
            user_id=str(r["user_id"]),
            name=_s(r["name"]),
            unit=_s(r["unit"]),
            email=_s(r["email"]),
            active=bool(r["active"]),
            esign_key_id=_os(r["esign_key_id"]),
            roles=tuple(roles.get(str(r["user_id"]), ())),
        )
        for r in _rows(conn, stmt)
    ]


def user_list(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    as_of: datetime | None = None,
) -> list[UserView]:
    """Return users with their roles, ordered by user id, optionally of a subtree."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        scope = _subtree(conn, n, unit, subtree)
        return [u for u in _users(conn, n) if scope is None or u.unit in scope]


def user(
    engine: Engine, ledger: LedgerClock, user_id: str, *, as_of: datetime | None = None
) -> UserView:
    """Return one user with roles.

    Raises:
        RecordNotFoundError: no such user as known at `as_of`.
    """
    with engine.connect() as conn:
        found = _users(conn, position(ledger, as_of), user_id)
    if not found:
        raise RecordNotFoundError(f"user {user_id} not found")
    return found[0]


# -- documents ------------------------------------------------------------------------
def _document(
    r: Mapping[str, object], revisions: tuple[RevisionView, ...] = ()
) -> DocumentView:
    return DocumentView(
        doc_id=str(r["doc_id"]),
        unit=_s(r["unit"]),
        title=_s(r["title"]),
        kind=_s(r["kind"]),
        status=_s(r["status"]),
        latest_revision=_s(r["latest_revision"]),
        effective_revision=_os(r["effective_revision"]),
        next_review_due=_os(r["next_review_due"]),
        review_interval_months=r["review_interval_months"]
        if isinstance(r["review_interval_months"], int)
        else None,
        retention_years=r["retention_years"]
        if isinstance(r["retention_years"], int)
        else None,
        since_seq=_i(r["valid_from"]),
        revisions=revisions,
    )


def _revision(r: Mapping[str, object]) -> RevisionView:
    return RevisionView(
        doc_id=str(r["doc_id"]),
        revision=str(r["revision"]),
        status=_s(r["status"]),
        title=_s(r["title"]),
        kind=_s(r["kind"]),
        unit=_s(r["unit"]),
        content=_mapping(r["content"]),
        author=_s(r["author"]),
        drafted_at=_s(r["drafted_at"]),
        review_outcome=_os(r["review_outcome"]),
        review_comment=_os(r["review_comment"]),
        reviewed_by=_os(r["reviewed_by"]),
        approved_by=_os(r["approved_by"]),
        approved_at=_os(r["approved_at"]),
        content_sha256=_os(r["content_sha256"]),
        esig=_mapping(r["esig"]),
        effective_on=_os(r["effective_on"]),
        next_review_due=_os(r["next_review_due"]),
        supersedes=_os(r["supersedes"]),
        superseded_by=_os(r["superseded_by"]),
        withdrawn_reason=_os(r["withdrawn_reason"]),
        distributed_to=_strs(r["distributed_to"]),
        since_seq=_i(r["valid_from"]),
    )


def _documents(
    conn: Connection, n: int | None, scope: set[str] | None
) -> list[DocumentView]:
    stmt = select(documents).where(visible(documents, n)).order_by(documents.c.doc_id)
    if scope is not None:
        stmt = stmt.where(documents.c.unit.in_(sorted(scope)))
    return [_document(r) for r in _rows(conn, stmt)]


def document_register(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    status: str | None = None,
    as_of: datetime | None = None,
) -> list[DocumentView]:
    """Return the documents register (without revisions), ordered by document id."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        found = _documents(conn, n, _subtree(conn, n, unit, subtree))
    return [d for d in found if status is None or d.status == status]


def document(
    engine: Engine, ledger: LedgerClock, doc_id: str, *, as_of: datetime | None = None
) -> DocumentView:
    """Return one document with every revision (ordered by revision).

    Raises:
        RecordNotFoundError: no such document as known at `as_of`.
    """
    with engine.connect() as conn:
        n = position(ledger, as_of)
        rows = _rows(
            conn,
            select(documents).where(
                visible(documents, n), documents.c.doc_id == doc_id
            ),
        )
        if not rows:
            raise RecordNotFoundError(f"document {doc_id} not found")
        revs = _rows(
            conn,
            select(document_revisions)
            .where(
                visible(document_revisions, n), document_revisions.c.doc_id == doc_id
            )
            .order_by(document_revisions.c.revision),
        )
    return _document(rows[0], tuple(_revision(r) for r in revs))


# -- audits ---------------------------------------------------------------------------
def _audit(r: Mapping[str, object]) -> AuditView:
    return AuditView(
        audit_id=str(r["audit_id"]),
        programme=_s(r["programme"]),
        unit=_s(r["unit"]),
        scope=_s(r["scope"]),
        criteria=_tuple(r["criteria"]),
        lead_auditor=_s(r["lead_auditor"]),
        team=_strs(r["team"]),
        planned_start=_s(r["planned_start"]),
        planned_end=_s(r["planned_end"]),
        status=_s(r["status"]),
        started_on=_os(r["started_on"]),
        summary=_os(r["summary"]),
        findings=_strs(r["findings"]),
        reported_by=_os(r["reported_by"]),
        closed_on=_os(r["closed_on"]),
        cancelled_reason=_os(r["cancelled_reason"]),
        since_seq=_i(r["valid_from"]),
    )


def _audits(conn: Connection, n: int | None, scope: set[str] | None) -> list[AuditView]:
    stmt = select(audits).where(visible(audits, n)).order_by(audits.c.audit_id)
    if scope is not None:
        stmt = stmt.where(audits.c.unit.in_(sorted(scope)))
    return [_audit(r) for r in _rows(conn, stmt)]


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
        found = _audits(conn, n, _subtree(conn, n, unit, subtree))
    return [a for a in found if programme is None or a.programme == programme]


def audit(
    engine: Engine, ledger: LedgerClock, audit_id: str, *, as_of: datetime | None = None
) -> AuditView:
    """Return one audit.

    Raises:
        RecordNotFoundError: no such audit as known at `as_of`.
    """
    with engine.connect() as conn:
        rows = _rows(
            conn,
            select(audits).where(
                visible(audits, position(ledger, as_of)), audits.c.audit_id == audit_id
            ),
        )
    if not rows:
        raise RecordNotFoundError(f"audit {audit_id} not found")
    return _audit(rows[0])


# -- findings -------------------------------------------------------------------------
def _finding(
    r: Mapping[str, object], actions: tuple[ActionView, ...] = ()
) -> FindingView:
    return FindingView(
        finding_id=str(r["finding_id"]),
        unit=_s(r["unit"]),
        source=_s(r["source"]),
        classification=_s(r["classification"]),
        criterion=_mapping(r["criterion"]) or {},
        description=_s(r["description"]),
        evidence=_tuple(r["evidence"]),
        due_on=_s(r["due_on"]),
        audit=_os(r["audit"]),
        status=_s(r["status"]),
        raised_by=_s(r["raised_by"]),
        raised_on=_s(r["raised_on"]),
        containment=_os(r["containment"]),
        cause=_os(r["cause"]),
        cause_method=_os(r["cause_method"]),
        verified_effective=None
        if r["verified_effective"] is None
        else bool(r["verified_effective"]),
        verification_comment=_os(r["verification_comment"]),
        verified_by=_os(r["verified_by"]),
        closed_on=_os(r["closed_on"]),
        reopened_count=_i(r["reopened_count"]),
        since_seq=_i(r["valid_from"]),
        actions=actions,
    )


def _action(r: Mapping[str, object]) -> ActionView:
    return ActionView(
        action_id=str(r["action_id"]),
        description=_s(r["description"]),
        owner=_s(r["owner"]),
        due_on=_s(r["due_on"]),
        status=_s(r["status"]),
        completed_on=_os(r["completed_on"]),
        completed_by=_os(r["completed_by"]),
        evidence=_tuple(r["evidence"]),
        note=_os(r["note"]),
    )


def _findings(
    conn: Connection, n: int | None, scope: set[str] | None
) -> list[FindingView]:
    stmt = select(findings).where(visible(findings, n)).order_by(findings.c.finding_id)
    if scope is not None:
        stmt = stmt.where(findings.c.unit.in_(sorted(scope)))
    return [_finding(r) for r in _rows(conn, stmt)]


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
        found = _findings(conn, n, _subtree(conn, n, unit, subtree))
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
        rows = _rows(
            conn,
            select(findings).where(
                visible(findings, n), findings.c.finding_id == finding_id
            ),
        )
        if not rows:
            raise RecordNotFoundError(f"finding {finding_id} not found")
        acts = _rows(
            conn,
            select(finding_actions)
            .where(
                visible(finding_actions, n), finding_actions.c.finding_id == finding_id
            )
            .order_by(finding_actions.c.action_id),
        )
    return _finding(rows[0], tuple(_action(a) for a in acts))


# -- indicators -----------------------------------------------------------------------
def _indicators(
    conn: Connection,
    n: int | None,
    scope: set[str] | None,
    indicator_id: str | None = None,
) -> list[IndicatorView]:
    stmt = (
        select(indicators)
        .where(visible(indicators, n))
        .order_by(indicators.c.indicator_id)
    )
    tstmt = select(indicator_targets).where(visible(indicator_targets, n))
    mstmt = select(indicator_measurements).where(visible(indicator_measurements, n))
    if scope is not None:
        stmt = stmt.where(indicators.c.unit.in_(sorted(scope)))
    if indicator_id is not None:
        stmt = stmt.where(indicators.c.indicator_id == indicator_id)
        tstmt = tstmt.where(indicator_targets.c.indicator_id == indicator_id)
        mstmt = mstmt.where(indicator_measurements.c.indicator_id == indicator_id)
    rows = _rows(conn, stmt)
    wanted = {str(r["indicator_id"]) for r in rows}
    targets: dict[str, list[TargetView]] = {}
    for t in _rows(
        conn,
        tstmt.order_by(
            indicator_targets.c.indicator_id, indicator_targets.c.effective_from
        ),
    ):
        if str(t["indicator_id"]) in wanted:
            targets.setdefault(str(t["indicator_id"]), []).append(
                TargetView(
                    effective_from=str(t["effective_from"]),
                    target=_s(t["target"]),
                    reason=_os(t["reason"]),
                    set_by=_s(t["set_by"]),
                )
            )
    measured: dict[str, list[dict[str, object]]] = {}
    for m in _rows(
        conn,
        mstmt.order_by(
            indicator_measurements.c.indicator_id, indicator_measurements.c.period
        ),
    ):
        if str(m["indicator_id"]) in wanted:
            measured.setdefault(str(m["indicator_id"]), []).append(m)
    views = []
    for r in rows:
        iid = str(r["indicator_id"])
        tlist = targets.get(iid, [])
        direction = _s(r["direction"])
        ms = [  # each with its verdict as known then (projections.indicators)
            MeasurementView(
                period=str(m["period"]),
                value=_s(m["value"]),
                first_value=_s(m["first_value"]),
                corrections=_i(m["corrections"]),
                note=_os(m["note"]),
                correction_reason=_os(m["correction_reason"]),
                recorded_by=_s(m["recorded_by"]),
                target=_os(m["target"]),
                met=None if m["met"] is None else bool(m["met"]),
            )
            for m in sorted(
                measured.get(iid, []),
                key=lambda m: (_i(m["begins"]), str(m["period"])),
            )
        ]
        views.append(
            IndicatorView(
                indicator_id=iid,
                unit=_s(r["unit"]),
                owner=_s(r["owner"]),
                name=_s(r["name"]),
                measure=_s(r["measure"]),
                direction=direction,
                frequency=_s(r["frequency"]),
                method=_s(r["method"]),
                target=_s(r["target"]),
                effective_from=_s(r["effective_from"]),
                status=_s(r["status"]),
                retired_reason=_os(r["retired_reason"]),
                since_seq=_i(r["valid_from"]),
                targets=tuple(tlist),
                measurements=tuple(ms),
            )
        )
    return views


def indicator_list(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    as_of: datetime | None = None,
) -> list[IndicatorView]:
    """Return indicators with targets and measurements, ordered by indicator id."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        return _indicators(conn, n, _subtree(conn, n, unit, subtree))


def indicator(
    engine: Engine,
    ledger: LedgerClock,
    indicator_id: str,
    *,
    as_of: datetime | None = None,
) -> IndicatorView:
    """Return one indicator with targets and measurements.

    Raises:
        RecordNotFoundError: no such indicator as known at `as_of`.
    """
    with engine.connect() as conn:
        found = _indicators(conn, position(ledger, as_of), None, indicator_id)
    if not found:
        raise RecordNotFoundError(f"indicator {indicator_id} not found")
    return found[0]


def indicator_value(
    engine: Engine,
    ledger: LedgerClock,
    indicator_id: str,
    period: str,
    *,
    as_of: datetime | None = None,
) -> MeasurementView | None:
    """Return the measurement of `period`: as best known now (all later corrections
    applied) when `as_of` is None, else as it was known at `as_of`; None if unmeasured.
    """
    for m in indicator(engine, ledger, indicator_id, as_of=as_of).measurements:
        if m.period == period:
            return m
    return None


# -- management reviews ---------------------------------------------------------------
def _review(r: Mapping[str, object]) -> ReviewView:
    return ReviewView(
        review_id=str(r["review_id"]),
        unit=_s(r["unit"]),
        held_on=_s(r["held_on"]),
        held_by=_s(r["held_by"]),
        attendees=_strs(r["attendees"]),
        inputs=_tuple(r["inputs"]),
        decisions=_strs(r["decisions"]),
        actions=_tuple(r["actions"]),
        since_seq=_i(r["valid_from"]),
    )


def review_list(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    as_of: datetime | None = None,
) -> list[ReviewView]:
    """Return management reviews ordered by date held, then id."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        scope = _subtree(conn, n, unit, subtree)
        stmt = select(reviews).where(visible(reviews, n))
        if scope is not None:
            stmt = stmt.where(reviews.c.unit.in_(sorted(scope)))
        rows = _rows(conn, stmt.order_by(reviews.c.held_on, reviews.c.review_id))
    return [_review(r) for r in rows]


def review(
    engine: Engine,
    ledger: LedgerClock,
    review_id: str,
    *,
    as_of: datetime | None = None,
) -> ReviewView:
    """Return one management review.

    Raises:
        RecordNotFoundError: no such review as known at `as_of`.
    """
    with engine.connect() as conn:
        rows = _rows(
            conn,
            select(reviews).where(
                visible(reviews, position(ledger, as_of)),
                reviews.c.review_id == review_id,
            ),
        )
    if not rows:
        raise RecordNotFoundError(f"review {review_id} not found")
    return _review(rows[0])
