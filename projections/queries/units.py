"""The unit tree as known at a moment, and the unit scope every register filters by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from projections.as_of import LedgerClock, position, visible
from projections.queries.rows import dict_rows, text_of, text_or_none
from projections.tables import units


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitView:
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent: str | None
    closed: bool
    children: tuple[str, ...] = ()


def units_at(conn: Connection, n: int | None) -> list[UnitView]:
    """Return every unit valid at `n` (None: current), with its children, by code."""
    rows = dict_rows(
        conn, select(units).where(visible(units, n)).order_by(units.c.code)
    )
    kids: dict[str, list[str]] = {}
    for r in rows:
        if r["parent"] is not None:
            kids.setdefault(str(r["parent"]), []).append(str(r["code"]))
    return [
        UnitView(
            code=str(r["code"]),
            name_zh=text_of(r["name_zh"]),
            name_en=text_of(r["name_en"]),
            kind=text_of(r["kind"]),
            parent=text_or_none(r["parent"]),
            closed=bool(r["closed"]),
            children=tuple(sorted(kids.get(str(r["code"]), []))),
        )
        for r in rows
    ]


def unit_scope(
    conn: Connection, n: int | None, unit: str | None, subtree: bool
) -> set[str] | None:
    """Return the unit codes a register filter on `unit` covers: None for no filter,
    `{unit}` alone without `subtree`, else `unit` and every unit below it at `n`.
    """
    if unit is None:
        return None
    if not subtree:
        return {unit}
    return set(subtree_codes(units_at(conn, n), unit))


def subtree_codes(tree: list[UnitView], unit: str) -> list[str]:
    """Return the codes of `unit` and every unit below it in `tree`, sorted."""
    by_code = {u.code: u for u in tree}
    found, todo = set(), [unit]
    while todo:
        code = todo.pop()
        if code in found:
            continue
        found.add(code)
        if code in by_code:
            todo.extend(by_code[code].children)
    return sorted(found)


def unit_tree(
    engine: Engine, ledger: LedgerClock, *, as_of: datetime | None = None
) -> list[UnitView]:
    """Return every unit (with its children's codes), ordered by code."""
    with engine.connect() as conn:
        return units_at(conn, position(ledger, as_of))


def unit_subtree(
    engine: Engine, ledger: LedgerClock, unit: str, *, as_of: datetime | None = None
) -> list[str]:
    """Return the codes of `unit` and every unit below it, sorted."""
    with engine.connect() as conn:
        return sorted(unit_scope(conn, position(ledger, as_of), unit, True) or ())
