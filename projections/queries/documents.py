"""The documents register: controlled documents and their revisions."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select

from ledger.integrity.canonical import JSONValue
from projections.as_of import LedgerClock, position, visible
from projections.errors import RecordNotFoundError
from projections.queries.pages import Page, PageRequest, register_page
from projections.queries.rows import (
    dict_rows,
    int_or_zero,
    json_object,
    str_list,
    text_of,
    text_or_none,
)
from projections.queries.units import unit_scope
from projections.tables import document_revisions, documents


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


def _document(
    r: Mapping[str, object], revisions: tuple[RevisionView, ...] = ()
) -> DocumentView:
    return DocumentView(
        doc_id=str(r["doc_id"]),
        unit=text_of(r["unit"]),
        title=text_of(r["title"]),
        kind=text_of(r["kind"]),
        status=text_of(r["status"]),
        latest_revision=text_of(r["latest_revision"]),
        effective_revision=text_or_none(r["effective_revision"]),
        next_review_due=text_or_none(r["next_review_due"]),
        review_interval_months=r["review_interval_months"]
        if isinstance(r["review_interval_months"], int)
        else None,
        retention_years=r["retention_years"]
        if isinstance(r["retention_years"], int)
        else None,
        since_seq=int_or_zero(r["valid_from"]),
        revisions=revisions,
    )


def _revision(r: Mapping[str, object]) -> RevisionView:
    return RevisionView(
        doc_id=str(r["doc_id"]),
        revision=str(r["revision"]),
        status=text_of(r["status"]),
        title=text_of(r["title"]),
        kind=text_of(r["kind"]),
        unit=text_of(r["unit"]),
        content=json_object(r["content"]),
        author=text_of(r["author"]),
        drafted_at=text_of(r["drafted_at"]),
        review_outcome=text_or_none(r["review_outcome"]),
        review_comment=text_or_none(r["review_comment"]),
        reviewed_by=text_or_none(r["reviewed_by"]),
        approved_by=text_or_none(r["approved_by"]),
        approved_at=text_or_none(r["approved_at"]),
        content_sha256=text_or_none(r["content_sha256"]),
        esig=json_object(r["esig"]),
        effective_on=text_or_none(r["effective_on"]),
        next_review_due=text_or_none(r["next_review_due"]),
        supersedes=text_or_none(r["supersedes"]),
        superseded_by=text_or_none(r["superseded_by"]),
        withdrawn_reason=text_or_none(r["withdrawn_reason"]),
        distributed_to=str_list(r["distributed_to"]),
        since_seq=int_or_zero(r["valid_from"]),
    )


def _documents(
    conn: Connection, n: int | None, scope: set[str] | None
) -> list[DocumentView]:
    stmt = select(documents).where(visible(documents, n)).order_by(documents.c.doc_id)
    if scope is not None:
        stmt = stmt.where(documents.c.unit.in_(sorted(scope)))
    return [_document(r) for r in dict_rows(conn, stmt)]


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
        found = _documents(conn, n, unit_scope(conn, n, unit, subtree))
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
        rows = dict_rows(
            conn,
            select(documents).where(
                visible(documents, n), documents.c.doc_id == doc_id
            ),
        )
        if not rows:
            raise RecordNotFoundError(f"document {doc_id} not found")
        revs = dict_rows(
            conn,
            select(document_revisions)
            .where(
                visible(document_revisions, n), document_revisions.c.doc_id == doc_id
            )
            .order_by(document_revisions.c.revision),
        )
    return _document(rows[0], tuple(_revision(r) for r in revs))


DOCUMENT_SORTS = ("id", "title", "kind", "unit", "status", "next_review_due")


def document_page(
    engine: Engine,
    ledger: LedgerClock,
    request: PageRequest,
    *,
    unit: str | None = None,
    subtree: bool = True,
    status: str | None = None,
    as_of: datetime | None = None,
    within: Collection[str] | None = None,
    effective_from: Collection[str] = (),
) -> Page[DocumentView]:
    """Return one page of the documents register: searched in numbers and titles.

    With `within`, only the documents of those units, and those of the units
    `effective_from` that have an effective revision (None: every document).

    Raises:
        RegisterRequestError: the request names an unknown sort key.
    """
    c = documents.c
    filters: list[ColumnElement[bool]] = []
    if status is not None:
        filters.append(c.status == status)
    if within is not None:
        filters.append(
            or_(
                c.unit.in_(sorted(within)),
                and_(
                    c.unit.in_(sorted(effective_from)),
                    c.effective_revision.is_not(None),
                ),
            )
        )
    return register_page(
        engine,
        ledger,
        documents,
        request,
        _document,
        unit=unit,
        subtree=subtree,
        as_of=as_of,
        filters=filters,
        key=(c.doc_id,),
        searched=(c.doc_id, c.title),
        sorts={
            "id": c.doc_id,
            "title": c.title,
            "kind": c.kind,
            "unit": c.unit,
            "status": c.status,
            "next_review_due": c.next_review_due,
        },
    )
