"""The management reviews register."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

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
)
from projections.queries.units import unit_scope
from projections.tables import reviews


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


def _review(r: Mapping[str, object]) -> ReviewView:
    return ReviewView(
        review_id=str(r["review_id"]),
        unit=text_of(r["unit"]),
        held_on=text_of(r["held_on"]),
        held_by=text_of(r["held_by"]),
        attendees=str_list(r["attendees"]),
        inputs=json_list(r["inputs"]),
        decisions=str_list(r["decisions"]),
        actions=json_list(r["actions"]),
        since_seq=int_or_zero(r["valid_from"]),
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
        scope = unit_scope(conn, n, unit, subtree)
        stmt = select(reviews).where(visible(reviews, n))
        if scope is not None:
            stmt = stmt.where(reviews.c.unit.in_(sorted(scope)))
        rows = dict_rows(conn, stmt.order_by(reviews.c.held_on, reviews.c.review_id))
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
        rows = dict_rows(
            conn,
            select(reviews).where(
                visible(reviews, position(ledger, as_of)),
                reviews.c.review_id == review_id,
            ),
        )
    if not rows:
        raise RecordNotFoundError(f"review {review_id} not found")
    return _review(rows[0])


REVIEW_SORTS = ("id", "unit", "held_on")


def review_page(
    engine: Engine,
    ledger: LedgerClock,
    request: PageRequest,
    *,
    unit: str | None = None,
    subtree: bool = True,
    as_of: datetime | None = None,
    within: Collection[str] | None = None,
) -> Page[ReviewView]:
    """Return one page (of the units `within`, None: every unit) of the management reviews: searched in their numbers.

    Raises:
        RegisterRequestError: the request names an unknown sort key.
    """
    c = reviews.c
    return register_page(
        engine,
        ledger,
        reviews,
        request,
        _review,
        unit=unit,
        subtree=subtree,
        as_of=as_of,
        within=within,
        filters=(),
        key=(c.review_id,),
        searched=(c.review_id,),
        sorts={"id": c.review_id, "unit": c.unit, "held_on": c.held_on},
    )
