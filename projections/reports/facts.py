"""What the status report counts at position n: documents, findings, audits, indicators.

Counted by the database over the row versions valid at n (`projections.as_of`), as
decimal strings where a ratio or a median is asked: no floats anywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar, cast

from sqlalchemy import Connection, Text, and_, case, func, or_, select
from sqlalchemy import cast as sql_cast

from ledger.domain.findings import CLASSIFICATIONS
from ledger.integrity.canonical import JSONValue
from projections.as_of import versions_at, visible
from projections.queries.rows import driver_rows, text_of
from projections.tables import audits, documents, findings, indicator_years, indicators

DONE_AUDITS = frozenset({"reported", "closed"})


def median(counts: Mapping[int, int]) -> str | None:
    """Return the median of values given as value -> how often, to one decimal."""
    total = sum(counts.values())
    if total == 0:
        return None
    # The values at 0-based positions (total - 1) // 2 and total // 2 of the sorted list.
    low = high = None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if low is None and seen > (total - 1) // 2:
            low = value
        if seen > total // 2:
            high = value
            break
    if low is None or high is None:  # pragma: no cover - both positions exist
        raise ValueError("median positions out of range")
    return f"{(Decimal(low) + Decimal(high)) / 2:.1f}"


def percent(part: int, whole: int) -> str | None:
    """Return `part` as a percentage of `whole`, to one decimal (half up); None of 0."""
    if whole == 0:
        return None
    value = Decimal(part) * 100 / Decimal(whole)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def document_facts(
    conn: Connection, n: int, scope: set[str] | None, today: str
) -> tuple[int, dict[str, JSONValue], list[JSONValue]]:
    """The documents known at n: their total, counts by status and overdue reviews."""
    v = versions_at(documents, n, _DOCUMENT_COLUMNS, scope).c
    counted = select(v.status, func.count()).group_by(v.status)
    overdue = select(
        v.doc_id, v.effective_revision, v.title, v.unit, v.next_review_due
    ).where(
        v.effective_revision.is_not(None),
        v.effective_revision != "",
        v.next_review_due != "",
        v.next_review_due < today,  # ISO dates sort as text
    )
    total = 0
    by_status: dict[str, JSONValue] = {}
    for status, count in conn.execute(counted).all():
        key = text_of(status)
        by_status[key] = cast("int", by_status.get(key, 0)) + int(count)
        total += int(count)
    rows: list[JSONValue] = [
        {
            "doc_id": str(doc_id),
            "revision": str(revision),
            "title": text_of(title),
            "unit": text_of(unit_),
            "next_review_due": str(due),
        }
        for doc_id, revision, title, unit_, due in _by_id(conn.execute(overdue).all())
    ]
    return total, by_status, rows


_R = TypeVar("_R", bound=Sequence[object])


def _by_id(rows: Sequence[_R]) -> list[_R]:
    """Rows in the order of their first column, an id, by code point.

    Sorted here rather than by the database: a planner would sort every span's
    versions by the id's index instead of reading the covering as-of index, and the
    order is the same whatever the database's collation.
    """
    return sorted(rows, key=lambda row: str(row[0]))


# What the report reads of every version valid at n: the as-of index holds these.
_DOCUMENT_COLUMNS = (
    "doc_id",
    "status",
    "effective_revision",
    "title",
    "unit",
    "next_review_due",
)
_FINDING_COLUMNS = (
    "finding_id",
    "status",
    "classification",
    "unit",
    "due_on",
    "closed_on",
    "days_to_close",
)


def finding_facts(
    conn: Connection, n: int, scope: set[str] | None, today: str
) -> dict[str, JSONValue]:
    """The findings section as known at n. A network holds tens of thousands of
    findings: the database counts the open ones by classification and the closed
    ones by days to close and punctuality; only the overdue ones are read."""
    v = versions_at(findings, n, _FINDING_COLUMNS, scope).c
    is_closed = v.status == "closed"
    overdue_stmt = select(v.finding_id, v.classification, v.unit, v.due_on).where(
        or_(v.status.is_(None), ~is_closed),
        v.due_on.is_not(None),
        v.due_on != "",
        v.due_on < today,  # ISO dates sort as text
    )
    # One pass of the database over them all, no sorting: the classification of
    # each open one, and for each closed one with a closing date its days to close
    # and whether it closed in time (ISO dates sort as text) as one number,
    # 2 * days + in_time, each list a comma-separated string counted here.
    dated = and_(
        is_closed,
        v.closed_on.is_not(None),
        v.closed_on != "",
        v.days_to_close.is_not(None),
    )
    mark = v.days_to_close * 2 + case((v.closed_on <= v.due_on, 1), else_=0)
    counted = select(
        func.count(),
        func.aggregate_strings(
            case((is_closed, None), else_=func.coalesce(v.classification, "")), ","
        ),
        func.aggregate_strings(case((dated, sql_cast(mark, Text)), else_=None), ","),
    )
    total, kinds, marks = driver_rows(conn, counted)[0]
    open_by_class: dict[str, JSONValue] = dict.fromkeys(CLASSIFICATIONS, 0)
    open_kinds = Counter[str]() if kinds is None else Counter(kinds.split(","))
    for cls, count in sorted(open_kinds.items()):
        open_by_class[cls] = cast("int", open_by_class.get(cls, 0)) + count
    durations: Counter[int] = Counter()
    punctual = 0
    for value, count in (
        Counter() if marks is None else Counter(marks.split(","))
    ).items():
        days, on_time = divmod(int(value), 2)
        durations[days] += count
        punctual += count * on_time
    overdue: list[JSONValue] = [
        {
            "finding_id": str(finding_id),
            "classification": "" if classification is None else classification,
            "unit": "" if unit_ is None else unit_,
            "due_on": due_on,
        }
        for finding_id, classification, unit_, due_on in _by_id(
            driver_rows(conn, overdue_stmt)
        )
    ]
    done = durations.total()
    return {
        "total": total,
        "open": open_kinds.total(),
        "open_by_classification": open_by_class,
        "overdue": overdue,
        "closed": done,
        "median_days_to_close": median(durations),
        "on_time_closure_percent": percent(punctual, done),
    }


def indicator_facts(
    conn: Connection, n: int, scope: set[str] | None
) -> list[JSONValue]:
    """The indicators known at n with each period's value, target and whether it
    was met, as the indicator-year rows valid at n list them (`projections.folds.indicators`
    keeps each period's verdict as it was known)."""
    i = indicators.c
    stmt = (
        select(i.indicator_id, i.name, i.unit, i.measure, i.direction, i.status)
        .where(visible(indicators, n, scope))
        .order_by(i.indicator_id)
    )
    rows = conn.execute(stmt).all()
    wanted = [str(r[0]) for r in rows]
    if scope is None:
        y = versions_at(
            indicator_years, n, ("indicator_id", "year", "periods", "met", "missed")
        ).c
        years_stmt = select(y.indicator_id, y.year, y.periods, y.met, y.missed)
    else:  # a few indicators: found by their key
        t = indicator_years.c
        years_stmt = select(t.indicator_id, t.year, t.periods, t.met, t.missed).where(
            visible(indicator_years, n), t.indicator_id.in_(sorted(wanted))
        )
    # One row per indicator and year, its periods listed as JSON already: each
    # indicator's years are joined in order and the database's texts parsed at once.
    years: dict[str, list[tuple[str, str, int, int]]] = {iid: [] for iid in wanted}
    for iid, year, periods, met, missed in driver_rows(conn, years_stmt):
        found = years.get(iid)
        if found is not None:
            found.append((year, periods, met, missed))
    texts = []
    for iid in wanted:
        found = years[iid]
        found.sort()
        texts.append(",".join(p[1:-1] for _, p, _, _ in found if p != "[]"))
    lists = json.loads("[[" + "],[".join(texts) + "]]") if texts else []

    result: list[JSONValue] = []
    for (iid, name, unit_, measure, direction, status), periods in zip(
        rows, lists, strict=True
    ):
        key = str(iid)
        found = years[key]
        result.append(
            {
                "indicator_id": key,
                "name": text_of(name),
                "unit": text_of(unit_),
                "measure": text_of(measure),
                "direction": text_of(direction),
                "status": text_of(status),
                "periods": periods,
                "met": sum(met for _, _, met, _ in found),
                "missed": sum(missed for _, _, _, missed in found),
            }
        )
    return result


def audit_counts(
    conn: Connection, n: int, scope: set[str] | None
) -> dict[str, dict[str, int]]:
    """The audits known at n counted by programme: planned, done and cancelled."""
    c = audits.c
    stmt = select(c.programme, c.status, func.count()).where(visible(audits, n, scope))
    programmes: dict[str, dict[str, int]] = {}
    for programme, status, count in conn.execute(
        stmt.group_by(c.programme, c.status)
    ).all():
        counts = programmes.setdefault(
            text_of(programme), {"planned": 0, "done": 0, "cancelled": 0}
        )
        if text_of(status) == "cancelled":
            counts["cancelled"] += int(count)
        else:
            counts["planned"] += int(count)
            if text_of(status) in DONE_AUDITS:
                counts["done"] += int(count)
    return programmes
