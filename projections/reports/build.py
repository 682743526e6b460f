"""Building the QMS status report of a unit subtree as known at T, and its renderings.

The report reads only the row versions valid at n = n(T) and T's own date, and is
stamped with the ledger origin, n, the root hash of the first n events and the
signed checkpoint for n (for a size no key in force can sign any more, after a key
rotation: none, and the checkpoint that sealed that key's epoch with a consistency
proof from n to it). So the report as known at T is byte-identical whenever it
is regenerated (after any number of later events) and equal to the report built from
a replay of events 1..n into empty read models. Its JSON is canonical (RFC 8785);
the SHA-256 of those bytes is what a management review pins. No floats anywhere:
ratios and medians are decimal strings.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from ledger.integrity.canonical import JSONValue, canonical_bytes
from ledger.integrity.envelope import format_time
from ledger.store.engine import is_read_only
from projections.errors import ProjectionError, RecordNotFoundError
from projections.queries.units import unit_scope, units_at
from projections.reports.csv import render_csv
from projections.reports.facts import (
    audit_counts,
    document_facts,
    finding_facts,
    indicator_facts,
)
from projections.reports.html import render_html
from projections.reports.stamp import ReportLedger, checkpoint_of, covering_checkpoint
from projections.runner import ALL_PROJECTIONS
from projections.tables import projection_positions

REPORT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The report as a JSON object (`data`) and its renderings."""

    data: Mapping[str, JSONValue]

    def to_json(self) -> bytes:
        """Return the canonical JSON bytes (RFC 8785: sorted keys, no spaces)."""
        return canonical_bytes(self.data)

    @property
    def size(self) -> int:
        """n(T): the number of ledger events the report was built from."""
        ledger = self.data["ledger"]
        size = ledger.get("size") if isinstance(ledger, Mapping) else None
        if not isinstance(size, int):  # pragma: no cover - build_report stamps it
            raise TypeError("report carries no ledger size")
        return size

    def sha256(self) -> str:
        """Return the hex SHA-256 of `to_json()`: what a management review pins."""
        return hashlib.sha256(self.to_json()).hexdigest()

    def to_csv(self) -> str:
        """Return the report as CSV rows: section, item, field, value."""
        return render_csv(self.data)

    def to_html(self) -> str:
        """Return a self-contained printable HTML page with an inline SVG bar chart."""
        return render_html(self.data, self.sha256())


def _unknown_unit(unit: str, codes: Sequence[str]) -> RecordNotFoundError:
    """Return the error for a code no unit has, naming the closest unit codes."""
    shown = unit if len(unit) <= 40 else f"{unit[:40]}..."
    folded = {code.casefold(): code for code in codes}
    close = [
        folded[match]
        for match in difflib.get_close_matches(unit.casefold(), folded, 3, 0.0)
    ]
    hint = f"the closest unit codes: {', '.join(close)}" if close else "none exist"
    return RecordNotFoundError(f"no unit {shown} in the ledger; {hint}")


def _require_position(conn: Connection, n: int) -> None:
    """Refuse to report from read models that have not reached event n."""
    count, lowest = conn.execute(
        select(func.count(), func.min(projection_positions.c.position))
    ).one()
    reached = int(lowest or 0) if count == len(ALL_PROJECTIONS) else 0
    if reached < n:
        advice = (
            "they are stale in this read-only copy: rebuild a writable copy"
            if is_read_only(conn.engine)
            else "run `qms rebuild`"
        )
        raise ProjectionError(
            f"the read models have reached event {reached}, the report needs event {n}: "
            + advice
        )


@contextmanager
def _no_collection() -> Iterator[None]:
    """Hold the cyclic garbage collector while a report is built.

    A network report makes a hundred thousand small dicts and tuples and no cycle;
    the collector would walk them again and again (a third of the time). It runs
    as usual afterwards, and is left on if another report turned it back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_report(
    engine: Engine,
    ledger: ReportLedger,
    *,
    as_of: datetime,
    unit: str | None = None,
    within: Collection[str] | None = None,
) -> StatusReport:
    """Build the QMS status report of `unit`'s subtree (None: all) as known at `as_of`,
    limited to the units `within` when given (what the reader may see).

    `engine` holds the read models (they may be a replay of a ledger prefix); `ledger`
    gives n(T), the root and the checkpoint (or, for a size no key in force can sign
    any more, the checkpoint covering it: `covering_checkpoint`).

    Raises:
        ProjectionError: no event was recorded by `as_of`, or the read models have
            not reached n(T).
        RecordNotFoundError: `unit` names no unit the read models know (a unit
            created after `as_of` gives an empty report).
    """
    n = ledger.size_at(as_of)
    if n == 0:
        raise ProjectionError(
            f"the ledger holds no event recorded at or before {format_time(as_of)}"
        )
    today = format_time(as_of)[:10]  # T's date in UTC, like every ledger time
    root = ledger.root(n)
    with _no_collection(), engine.connect() as conn:
        _require_position(conn, n)
        known = units_at(conn, n)
        if unit is not None and all(u.code != unit for u in known):
            # A unit created after T reports as empty at T; a code no unit ever
            # had is a mistake, not an empty report.
            current = [u.code for u in units_at(conn, None)]
            if unit not in current:
                raise _unknown_unit(unit, current)
        scope = unit_scope(conn, n, unit, True)
        if within is not None:
            every = {u.code for u in known} if scope is None else scope
            scope = every & set(within)
        unit_codes = sorted(u.code for u in known if scope is None or u.code in scope)
        doc_total, by_status, overdue_docs = document_facts(conn, n, scope, today)
        finding_section = finding_facts(conn, n, scope, today)
        programmes = audit_counts(conn, n, scope)
        indicator_rows = indicator_facts(conn, n, scope)

    stamp: dict[str, JSONValue] = {
        "origin": ledger.origin,
        "size": n,
        "root": root.hex(),
        "checkpoint": checkpoint_of(ledger, n),
    }
    if stamp["checkpoint"] is None:
        covering = covering_checkpoint(ledger, n)
        if covering is not None:
            stamp["checkpoint_covering"] = covering
    data: dict[str, JSONValue] = {
        "report": "qms-status",
        "format": REPORT_FORMAT,
        "unit": unit,
        "units": list(unit_codes),
        "as_of": format_time(as_of),
        "as_of_date": today,
        "ledger": stamp,
        "documents": {
            "total": doc_total,
            "by_status": by_status,
            "overdue_reviews": overdue_docs,
        },
        "findings": finding_section,
        "audits": {
            "by_programme": {k: dict(v) for k, v in sorted(programmes.items())},
            "planned": sum(v["planned"] for v in programmes.values()),
            "done": sum(v["done"] for v in programmes.values()),
        },
        "indicators": indicator_rows,
    }
    return StatusReport(data)
