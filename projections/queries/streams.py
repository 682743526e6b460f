"""The record streams of a unit subtree: what a partial export of those units holds.

A record belongs to the unit its register rows name; a record ever recorded for one
of the units counts (every version is read, through the registers' unit indexes).
The units' own streams (`unit/<code>`) count too; people's streams (`user/*`) do not:
a person belongs to no record of a unit's quality system.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, Table, select

from projections.errors import RecordNotFoundError
from projections.queries.units import unit_scope, units_at
from projections.tables import audits, documents, findings, indicators, reviews

_REGISTERS: tuple[tuple[str, Table, str], ...] = (
    ("audit", audits, "audit_id"),
    ("document", documents, "doc_id"),
    ("finding", findings, "finding_id"),
    ("indicator", indicators, "indicator_id"),
    ("review", reviews, "review_id"),
)


@dataclass(frozen=True, slots=True)
class UnitStreams:
    """The units of a scope and the streams of their records, sorted."""

    units: tuple[str, ...]
    streams: tuple[str, ...]


def unit_streams(engine: Engine, unit: str, *, subtree: bool = True) -> UnitStreams:
    """Return the units `unit` covers (with `subtree`, every unit below it now) and
    the streams of every record ever recorded for them.

    Raises:
        RecordNotFoundError: there is no unit `unit`.
    """
    with engine.connect() as conn:
        if unit not in {u.code for u in units_at(conn, None)}:
            raise RecordNotFoundError(f"unit {unit} not found")
        codes = sorted(unit_scope(conn, None, unit, subtree) or ())
        streams = {f"unit/{code}" for code in codes}
        for kind, table, key in _REGISTERS:
            query = select(table.c[key]).where(table.c.unit.in_(codes)).distinct()
            streams.update(f"{kind}/{row[0]}" for row in conn.execute(query))
    return UnitStreams(tuple(codes), tuple(sorted(streams)))
