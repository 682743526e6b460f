"""System versioning: the row versions valid at a ledger position, one index range per span.

A moment T is read as the position n = ledger.size_at(T); the rows valid at n are the
state built from the ledger prefix 1..n ("as known at T"). `projections.tables`
explains the `span` column these conditions use.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Protocol

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Subquery,
    Table,
    TextClause,
    and_,
    bindparam,
    text,
)


class LedgerClock(Protocol):
    """What queries need of the event store: the ledger size as known at a moment."""

    def size_at(self, moment: datetime) -> int: ...


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
