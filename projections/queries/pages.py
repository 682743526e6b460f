"""Register pages: a filtered, searched and sorted slice of a register with its total, in SQL.

A register page is what a clerk sees of a register: the rows that match the filters
and the search words, in the order asked for, one page at a time, with the number of
rows in all. Searching, sorting, counting and slicing run in the database, so a page
of a register with tens of thousands of records reads one page of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

from sqlalchemy import Connection, Engine, Select, Table, and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from projections.as_of import LedgerClock, position, visible
from projections.errors import RegisterRequestError
from projections.queries.rows import dict_rows
from projections.queries.units import unit_scope

T = TypeVar("T")

PER_PAGE_MAX: Final = 500
SEARCH_MAX: Final = 200  # characters of search text


@dataclass(frozen=True, slots=True, kw_only=True)
class PageRequest:
    """Which page of a register to show.

    `search` holds words that must each appear (case-insensitively) in one of the
    register's searched columns, its numbers and titles. `sort` names one of the
    register's sort keys ("" for its own order). `per_page` None asks for every
    matching row (a CSV export of what is shown).

    Raises:
        RegisterRequestError: a page below 1, a page size out of 1..PER_PAGE_MAX,
            or a search text over SEARCH_MAX characters.
    """

    search: str = ""
    sort: str = ""
    descending: bool = False
    page: int = 1
    per_page: int | None = 50

    def __post_init__(self) -> None:
        if self.page < 1:
            raise RegisterRequestError("page", "a page number starts at 1")
        if self.per_page is not None and not 1 <= self.per_page <= PER_PAGE_MAX:
            raise RegisterRequestError(
                "per_page", f"a page holds 1 to {PER_PAGE_MAX} rows"
            )
        if len(self.search) > SEARCH_MAX:
            raise RegisterRequestError(
                "search", f"search text is at most {SEARCH_MAX} characters"
            )

    @property
    def words(self) -> tuple[str, ...]:
        """The search words, in order, without repeats."""
        return tuple(dict.fromkeys(self.search.split()))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a register: its rows, how many match in all, and the request."""

    items: tuple[T, ...]
    total: int
    request: PageRequest

    @property
    def pages(self) -> int:
        """The number of pages (at least 1, so that an empty register has page 1)."""
        size = self.request.per_page
        if size is None or self.total == 0:
            return 1
        return -(-self.total // size)

    @property
    def first_index(self) -> int:
        """The 1-based index of the page's first row among all matches (0 if none)."""
        if not self.items:
            return 0
        size = self.request.per_page or 0
        return (self.request.page - 1) * size + 1


def _like(column: ColumnElement[str], word: str) -> ColumnElement[bool]:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def page_rows(
    conn: Connection,
    stmt: Select[tuple[object, ...]],
    *,
    request: PageRequest,
    key: Sequence[ColumnElement[object]],
    searched: Sequence[ColumnElement[str]],
    sorts: Mapping[str, ColumnElement[object]],
) -> tuple[list[dict[str, object]], int]:
    """Return the rows of `stmt` on the requested page and the number of all matches.

    `stmt` selects a register's visible rows with its filters; `key` is its unique
    order (the record id), used after the sort key so that pages never overlap;
    `searched` are the columns the words are looked for in; `sorts` names the sort
    keys. Rows whose sort key is empty come last in either direction; ties follow
    `key` in the same direction.

    Raises:
        RegisterRequestError: `sort` is not one of `sorts`.
    """
    if request.sort and request.sort not in sorts:
        raise RegisterRequestError("sort", f"sort by one of {', '.join(sorted(sorts))}")
    words = request.words
    if words:
        stmt = stmt.where(and_(*(or_(*(_like(c, w) for c in searched)) for w in words)))
    total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    order: list[ColumnElement[object]] = []
    if request.sort:
        column = sorts[request.sort]
        order.append(case((column.is_(None), 1), else_=0))
        order.append(column.desc() if request.descending else column.asc())
    order.extend(k.desc() if request.descending else k.asc() for k in key)
    stmt = stmt.order_by(None).order_by(*order)
    if request.per_page is not None:
        stmt = stmt.limit(request.per_page).offset(
            (request.page - 1) * request.per_page
        )
    return dict_rows(conn, stmt), int(total)


def register_page(
    engine: Engine,
    ledger: LedgerClock,
    table: Table,
    request: PageRequest,
    build: Callable[[Mapping[str, object]], T],
    *,
    unit: str | None,
    subtree: bool,
    as_of: datetime | None,
    filters: Sequence[ColumnElement[bool]],
    key: Sequence[ColumnElement[object]],
    searched: Sequence[ColumnElement[str]],
    sorts: Mapping[str, ColumnElement[object]],
    within: Collection[str] | None = None,
) -> Page[T]:
    """Return one page of the register `table` as known at `as_of`, each row made by `build`.

    The rows are those visible at n(as_of), of `unit` (and, with `subtree`, the units
    below it), of the units `within` (None: every unit: what the reader may see) and
    matching `filters`; `page_rows` searches, sorts and cuts them.

    Raises:
        RegisterRequestError: the request names an unknown sort key.
    """
    with engine.connect() as conn:
        n = position(ledger, as_of)
        scope = unit_scope(conn, n, unit, subtree)
        stmt = select(table).where(visible(table, n), *filters)
        if scope is not None:
            stmt = stmt.where(table.c.unit.in_(sorted(scope)))
        if within is not None:
            stmt = stmt.where(table.c.unit.in_(sorted(within)))
        rows, total = page_rows(
            conn, stmt, request=request, key=key, searched=searched, sorts=sorts
        )
    return Page(tuple(build(r) for r in rows), total, request)
