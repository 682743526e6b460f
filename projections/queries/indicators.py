"""The indicators register: objectives with their targets and measurements."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from projections.as_of import LedgerClock, position, visible
from projections.errors import RecordNotFoundError, RegisterRequestError
from projections.queries.pages import Page, PageRequest
from projections.queries.rows import dict_rows, int_or_zero, text_of, text_or_none
from projections.queries.units import unit_scope
from projections.tables import indicator_measurements, indicator_targets, indicators


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


def _indicator_rows(
    conn: Connection,
    n: int | None,
    scope: set[str] | None,
    indicator_id: str | None = None,
) -> list[dict[str, object]]:
    """The indicator rows visible at `n` (of `scope`), by id: no targets, no values."""
    stmt = (
        select(indicators)
        .where(visible(indicators, n))
        .order_by(indicators.c.indicator_id)
    )
    if scope is not None:
        stmt = stmt.where(indicators.c.unit.in_(sorted(scope)))
    if indicator_id is not None:
        stmt = stmt.where(indicators.c.indicator_id == indicator_id)
    return dict_rows(conn, stmt)


def _indicators(
    conn: Connection,
    n: int | None,
    scope: set[str] | None,
    indicator_id: str | None = None,
) -> list[IndicatorView]:
    return _views(conn, n, _indicator_rows(conn, n, scope, indicator_id))


def _views(
    conn: Connection, n: int | None, rows: list[dict[str, object]]
) -> list[IndicatorView]:
    """The indicators of `rows` with their targets and measurements as known at `n`.

    Only the targets and measurements of these indicators are read (one range of
    the primary key each), not those of every indicator of the network.
    """
    wanted = sorted({str(r["indicator_id"]) for r in rows})
    if not wanted:
        return []
    tstmt = select(indicator_targets).where(
        visible(indicator_targets, n),
        indicator_targets.c.indicator_id.in_(wanted),
    )
    mstmt = select(indicator_measurements).where(
        visible(indicator_measurements, n),
        indicator_measurements.c.indicator_id.in_(wanted),
    )
    targets: dict[str, list[TargetView]] = {}
    for t in dict_rows(
        conn,
        tstmt.order_by(
            indicator_targets.c.indicator_id, indicator_targets.c.effective_from
        ),
    ):
        targets.setdefault(str(t["indicator_id"]), []).append(
            TargetView(
                effective_from=str(t["effective_from"]),
                target=text_of(t["target"]),
                reason=text_or_none(t["reason"]),
                set_by=text_of(t["set_by"]),
            )
        )
    measured: dict[str, list[dict[str, object]]] = {}
    for m in dict_rows(
        conn,
        mstmt.order_by(
            indicator_measurements.c.indicator_id, indicator_measurements.c.period
        ),
    ):
        measured.setdefault(str(m["indicator_id"]), []).append(m)
    views = []
    for r in rows:
        iid = str(r["indicator_id"])
        tlist = targets.get(iid, [])
        direction = text_of(r["direction"])
        ms = [  # each with its verdict as known then (projections.folds.indicators)
            MeasurementView(
                period=str(m["period"]),
                value=text_of(m["value"]),
                first_value=text_of(m["first_value"]),
                corrections=int_or_zero(m["corrections"]),
                note=text_or_none(m["note"]),
                correction_reason=text_or_none(m["correction_reason"]),
                recorded_by=text_of(m["recorded_by"]),
                target=text_or_none(m["target"]),
                met=None if m["met"] is None else bool(m["met"]),
            )
            for m in sorted(
                measured.get(iid, []),
                key=lambda m: (int_or_zero(m["begins"]), str(m["period"])),
            )
        ]
        views.append(
            IndicatorView(
                indicator_id=iid,
                unit=text_of(r["unit"]),
                owner=text_of(r["owner"]),
                name=text_of(r["name"]),
                measure=text_of(r["measure"]),
                direction=direction,
                frequency=text_of(r["frequency"]),
                method=text_of(r["method"]),
                target=text_of(r["target"]),
                effective_from=text_of(r["effective_from"]),
                status=text_of(r["status"]),
                retired_reason=text_or_none(r["retired_reason"]),
                since_seq=int_or_zero(r["valid_from"]),
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
        return _indicators(conn, n, unit_scope(conn, n, unit, subtree))


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


INDICATOR_SORTS = ("id", "name", "unit", "status")


def indicator_page(
    engine: Engine,
    ledger: LedgerClock,
    request: PageRequest,
    *,
    unit: str | None = None,
    subtree: bool = True,
    status: str | None = None,
    as_of: datetime | None = None,
    within: Collection[str] | None = None,
) -> Page[IndicatorView]:
    """Return one page of the indicators register (of the units `within`, None:
    every unit): searched in numbers and names.

    An agency has hundreds of indicators: the register's rows are filtered, sorted
    and cut in memory, and only the page's indicators are read with their targets
    and measurements.

    Raises:
        RegisterRequestError: the request names an unknown sort key.
    """
    if request.sort and request.sort not in INDICATOR_SORTS:
        raise RegisterRequestError(
            "sort", f"sort by one of {', '.join(sorted(INDICATOR_SORTS))}"
        )
    words = [w.lower() for w in request.words]
    with engine.connect() as conn:
        n = position(ledger, as_of)
        found = [
            r
            for r in _indicator_rows(conn, n, unit_scope(conn, n, unit, subtree))
            if (status is None or text_of(r["status"]) == status)
            and (within is None or text_of(r["unit"]) in within)
            and all(
                w in str(r["indicator_id"]).lower() or w in text_of(r["name"]).lower()
                for w in words
            )
        ]
        sort = request.sort or "id"
        found.sort(
            key=lambda r: (_sort_value(r, sort), str(r["indicator_id"])),
            reverse=request.descending,
        )
        if request.per_page is not None:
            start = (request.page - 1) * request.per_page
            shown = found[start : start + request.per_page]
        else:
            shown = found
        page = _views(conn, n, shown)
    return Page(tuple(page), len(found), request)


def _sort_value(row: dict[str, object], sort: str) -> str:
    column = {"id": "indicator_id", "name": "name", "unit": "unit", "status": "status"}
    return text_of(row[column[sort]])
