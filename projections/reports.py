"""The QMS status report of a unit subtree as known at T: data, JSON, CSV and HTML.

The report reads only the row versions valid at n = n(T) and T's own date, and is
stamped with the ledger origin, n, the root hash of the first n events and the
signed checkpoint for n. So the report as known at T is byte-identical whenever it
is regenerated (after any number of later events) and equal to the report built from
a replay of events 1..n into empty read models. Its JSON is canonical (RFC 8785);
the SHA-256 of those bytes is what a management review pins. No floats anywhere:
ratios and medians are decimal strings.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, cast

from sqlalchemy import Connection, Engine, func, select

from ledger.canonical import JSONValue, canonical_bytes
from ledger.envelope import format_time
from ledger.errors import KeyMaterialError
from projections.errors import ProjectionError
from projections.models import findings, projection_positions
from projections.queries import (
    _audits,
    _documents,
    _indicators,
    _subtree,
    _units,
    visible,
)
from projections.report_html import render_html
from projections.runner import ALL_PROJECTIONS

REPORT_FORMAT = 1
CLASSIFICATIONS = ("major", "minor", "observation", "opportunity")
DONE_AUDITS = frozenset({"reported", "closed"})


class ReportLedger(Protocol):
    """What the report needs of the store (structurally: `ledger.store.EventStore`)."""

    origin: str

    def size(self) -> int: ...

    def size_at(self, moment: datetime) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def checkpoint(self, size: int | None = None) -> str: ...

    def checkpoint_for(self, size: int) -> str | None: ...


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
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "item", "field", "value"])
        for section, item, name, value in _flat(self.data):
            writer.writerow([section, item, name, value])
        return out.getvalue()

    def to_html(self) -> str:
        """Return a self-contained printable HTML page with an inline SVG bar chart."""
        return render_html(self.data, self.sha256())


def _checkpoint(ledger: ReportLedger, n: int) -> str | None:
    """Return the signed checkpoint of size n: the stored one, else one signed now.

    The store signs and keeps it, so a report regenerated later carries the same
    bytes. After a key rotation an earlier size can no longer be signed; the report
    then carries no checkpoint of its own size, and the root it states is checked
    against a later checkpoint with a consistency proof (`qms prove consistency`).
    """
    stored = ledger.checkpoint_for(n)
    if stored is not None:
        return stored
    try:
        return ledger.checkpoint(n)
    except KeyMaterialError:
        return None


def _days(start: str, end: str) -> int:
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def _median(values: Sequence[int]) -> str | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return f"{Decimal(ordered[mid]):.1f}"
    return f"{(Decimal(ordered[mid - 1]) + Decimal(ordered[mid])) / 2:.1f}"


def _percent(part: int, whole: int) -> str | None:
    if whole == 0:
        return None
    value = Decimal(part) * 100 / Decimal(whole)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class _FindingFacts:
    """The columns of a finding the report counts: no JSON to parse."""

    finding_id: str
    unit: str
    classification: str
    status: str
    due_on: str
    raised_on: str
    closed_on: str | None

    @property
    def is_open(self) -> bool:
        return self.status != "closed"


def _finding_facts(
    conn: Connection, n: int, scope: set[str] | None
) -> list[_FindingFacts]:
    """The findings known at n, reading only what the report needs (a network holds
    tens of thousands; their criteria and evidence stay in the database)."""
    c = findings.c
    stmt = (
        select(
            c.finding_id,
            c.unit,
            c.classification,
            c.status,
            c.due_on,
            c.raised_on,
            c.closed_on,
        )
        .where(visible(findings, n))
        .order_by(c.finding_id)
    )
    if scope is not None:
        stmt = stmt.where(c.unit.in_(sorted(scope)))
    return [
        _FindingFacts(
            finding_id=str(r.finding_id),
            unit=_text(r.unit),
            classification=_text(r.classification),
            status=_text(r.status),
            due_on=_text(r.due_on),
            raised_on=_text(r.raised_on),
            closed_on=None if r.closed_on is None else str(r.closed_on),
        )
        for r in conn.execute(stmt)
    ]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _require_position(conn: Connection, n: int) -> None:
    """Refuse to report from read models that have not reached event n."""
    count, lowest = conn.execute(
        select(func.count(), func.min(projection_positions.c.position))
    ).one()
    reached = int(lowest or 0) if count == len(ALL_PROJECTIONS) else 0
    if reached < n:
        raise ProjectionError(
            f"the read models have reached event {reached}, the report needs event {n}: "
            "run `qms rebuild`"
        )


def build_report(
    engine: Engine,
    ledger: ReportLedger,
    *,
    as_of: datetime,
    unit: str | None = None,
) -> StatusReport:
    """Build the QMS status report of `unit`'s subtree (None: all) as known at `as_of`.

    `engine` holds the read models (they may be a replay of a ledger prefix); `ledger`
    gives n(T), the root and the checkpoint.
    """
    n = ledger.size_at(as_of)
    if n == 0:
        raise ProjectionError(
            f"the ledger holds no event recorded at or before {format_time(as_of)}"
        )
    today = format_time(as_of)[:10]  # T's date in UTC, like every ledger time
    root = ledger.root(n)
    with engine.connect() as conn:
        _require_position(conn, n)
        scope = _subtree(conn, n, unit, True)
        unit_codes = sorted(
            u.code for u in _units(conn, n) if scope is None or u.code in scope
        )
        docs = _documents(conn, n, scope)
        finds = _finding_facts(conn, n, scope)
        auds = _audits(conn, n, scope)
        inds = _indicators(conn, n, scope)

    by_status: dict[str, JSONValue] = {}
    for d in docs:
        by_status[d.status] = cast("int", by_status.get(d.status, 0)) + 1
    overdue_docs: list[JSONValue] = [
        {
            "doc_id": d.doc_id,
            "revision": d.effective_revision,
            "title": d.title,
            "unit": d.unit,
            "next_review_due": d.next_review_due,
        }
        for d in docs
        if d.effective_revision and d.next_review_due and d.next_review_due < today
    ]

    open_f = [f for f in finds if f.is_open]
    closed_f = [f for f in finds if not f.is_open and f.closed_on]
    open_by_class: dict[str, JSONValue] = dict.fromkeys(CLASSIFICATIONS, 0)
    for f in open_f:
        open_by_class[f.classification] = (
            cast("int", open_by_class.get(f.classification, 0)) + 1
        )
    overdue_f: list[JSONValue] = [
        {
            "finding_id": f.finding_id,
            "classification": f.classification,
            "unit": f.unit,
            "due_on": f.due_on,
        }
        for f in open_f
        if f.due_on and f.due_on < today
    ]
    on_time = sum(
        1 for f in closed_f if f.closed_on is not None and f.closed_on <= f.due_on
    )

    programmes: dict[str, dict[str, int]] = {}
    for a in auds:
        counts = programmes.setdefault(
            a.programme, {"planned": 0, "done": 0, "cancelled": 0}
        )
        if a.status == "cancelled":
            counts["cancelled"] += 1
        else:
            counts["planned"] += 1
            if a.status in DONE_AUDITS:
                counts["done"] += 1

    indicator_rows: list[JSONValue] = []
    for i in inds:
        periods: list[JSONValue] = [
            {"period": m.period, "value": m.value, "target": m.target, "met": m.met}
            for m in i.measurements
        ]
        indicator_rows.append(
            {
                "indicator_id": i.indicator_id,
                "name": i.name,
                "unit": i.unit,
                "measure": i.measure,
                "direction": i.direction,
                "status": i.status,
                "periods": periods,
                "met": sum(1 for m in i.measurements if m.met is True),
                "missed": sum(1 for m in i.measurements if m.met is False),
            }
        )

    data: dict[str, JSONValue] = {
        "report": "qms-status",
        "format": REPORT_FORMAT,
        "unit": unit,
        "units": list(unit_codes),
        "as_of": format_time(as_of),
        "as_of_date": today,
        "ledger": {
            "origin": ledger.origin,
            "size": n,
            "root": root.hex(),
            "checkpoint": _checkpoint(ledger, n),
        },
        "documents": {
            "total": len(docs),
            "by_status": by_status,
            "overdue_reviews": overdue_docs,
        },
        "findings": {
            "total": len(finds),
            "open": len(open_f),
            "open_by_classification": open_by_class,
            "overdue": overdue_f,
            "closed": len(closed_f),
            "median_days_to_close": _median(
                [_days(f.raised_on, f.closed_on) for f in closed_f if f.closed_on]
            ),
            "on_time_closure_percent": _percent(on_time, len(closed_f)),
        },
        "audits": {
            "by_programme": {k: dict(v) for k, v in sorted(programmes.items())},
            "planned": sum(v["planned"] for v in programmes.values()),
            "done": sum(v["done"] for v in programmes.values()),
        },
        "indicators": indicator_rows,
    }
    return StatusReport(data)


# -- renderings -----------------------------------------------------------------------
def _scalar(value: JSONValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return canonical_bytes(value).decode()


def _flat(data: Mapping[str, JSONValue]) -> list[tuple[str, str, str, str]]:
    """Flatten the report into (section, item, field, value) rows in key order."""
    rows: list[tuple[str, str, str, str]] = []
    for section in sorted(data):
        value = data[section]
        if isinstance(value, Mapping):
            for name in sorted(value):
                inner = value[name]
                if isinstance(inner, Mapping):
                    for key in sorted(inner):
                        rows.append((section, name, key, _scalar(inner[key])))
                elif isinstance(inner, list):
                    for entry in inner:
                        rows.extend(_entry_rows(section, name, entry))
                else:
                    rows.append((section, "", name, _scalar(inner)))
        elif isinstance(value, list):
            for entry in value:
                rows.extend(_entry_rows(section, "", entry))
        else:
            rows.append((section, "", "", _scalar(value)))
    return rows


def _entry_rows(
    section: str, group: str, entry: JSONValue
) -> list[tuple[str, str, str, str]]:
    if not isinstance(entry, Mapping):
        return [(section, group, "", _scalar(entry))]
    ident = next(
        (str(entry[k]) for k in ("doc_id", "finding_id", "indicator_id") if k in entry),
        "",
    )
    item = f"{group}/{ident}" if group else ident
    rows = []
    for key in sorted(entry):
        inner = entry[key]
        if key == "periods" and isinstance(inner, list):
            for p in inner:
                if isinstance(p, Mapping):
                    period = str(p.get("period"))
                    for pk in sorted(p):
                        rows.append((section, f"{item}/{period}", pk, _scalar(p[pk])))
        else:
            rows.append((section, item, key, _scalar(inner)))
    return rows
