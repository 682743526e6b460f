"""The QMS status report of a unit subtree as known at T: data, JSON, CSV and HTML.

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

import csv
import difflib
import gc
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol, TypeVar, cast

from sqlalchemy import Connection, Engine, Text, and_, case, func, or_, select
from sqlalchemy import cast as sql_cast

from ledger.errors import KeyMaterialError
from ledger.integrity.canonical import JSONValue, canonical_bytes
from ledger.integrity.envelope import format_time
from ledger.store.engine import is_read_only
from projections.as_of import versions_at, visible
from projections.errors import ProjectionError, RecordNotFoundError
from projections.queries.rows import driver_rows, text_of
from projections.queries.units import unit_scope, units_at
from projections.report_html import render_html
from projections.runner import ALL_PROJECTIONS
from projections.tables import (
    audits,
    documents,
    findings,
    indicator_years,
    indicators,
    projection_positions,
)

REPORT_FORMAT = 1
CLASSIFICATIONS = ("major", "minor", "observation", "opportunity")
DONE_AUDITS = frozenset({"reported", "closed"})


class LedgerKeyEntry(Protocol):
    """What the report reads of a registered key (structurally: `KeyRecord`)."""

    @property
    def purpose(self) -> str: ...

    @property
    def registered_seq(self) -> int: ...


class ReportLedger(Protocol):
    """What the report needs of the store (structurally: `ledger.store.EventStore`)."""

    origin: str

    def size(self) -> int: ...

    def size_at(self, moment: datetime) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def checkpoint(self, size: int | None = None) -> str: ...

    def checkpoint_for(self, size: int) -> str | None: ...

    def checkpoints(self) -> list[tuple[int, str]]: ...

    def consistency_proof(
        self, size1: int, size2: int | None = None
    ) -> list[bytes]: ...

    def key_records(self) -> Sequence[LedgerKeyEntry]: ...


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


def _covering(ledger: ReportLedger, n: int) -> dict[str, JSONValue] | None:
    """Return the checkpoint that sealed the key epoch holding size n, with a proof.

    Only for a size n that has no checkpoint of its own and can no longer get one:
    the ledger keys in force after n were all replaced. Let r be the first
    registration of a `ledger` key after event n; that key signs checkpoints of
    size r and up, so sizes n..r-1 could be signed only by the keys before it,
    whose last checkpoint, of size r-1, `EventStore.rotate_ledger_key` stores
    before the rotation's events. The choice is the largest stored checkpoint of a
    size in n..r-1: nobody can sign a new one in that range any more, so the same
    checkpoint is chosen whenever the report is regenerated. Returns
    `{"note", "consistency_proof"}` (the RFC 9162 proof from n to the note's size,
    hex), or None when there is no such key registration or stored checkpoint.
    """
    later = [
        key.registered_seq
        for key in ledger.key_records()
        if key.purpose == "ledger" and key.registered_seq > n
    ]
    if not later:
        return None
    end = min(later) - 1
    sealed = [(size, note) for size, note in ledger.checkpoints() if n <= size <= end]
    if not sealed:
        return None
    size, note = max(sealed)
    proof = ledger.consistency_proof(n, size)
    return {"note": note, "consistency_proof": [h.hex() for h in proof]}


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


def _median(counts: Mapping[int, int]) -> str | None:
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


def _percent(part: int, whole: int) -> str | None:
    if whole == 0:
        return None
    value = Decimal(part) * 100 / Decimal(whole)
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _document_facts(
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


def _finding_facts(
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
        "median_days_to_close": _median(durations),
        "on_time_closure_percent": _percent(punctual, done),
    }


def _indicator_rows(
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


def _audit_counts(
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
) -> StatusReport:
    """Build the QMS status report of `unit`'s subtree (None: all) as known at `as_of`.

    `engine` holds the read models (they may be a replay of a ledger prefix); `ledger`
    gives n(T), the root and the checkpoint (or, for a size no key in force can sign
    any more, the checkpoint covering it: `_covering`).

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
        unit_codes = sorted(u.code for u in known if scope is None or u.code in scope)
        doc_total, by_status, overdue_docs = _document_facts(conn, n, scope, today)
        finding_section = _finding_facts(conn, n, scope, today)
        programmes = _audit_counts(conn, n, scope)
        indicator_rows = _indicator_rows(conn, n, scope)

    stamp: dict[str, JSONValue] = {
        "origin": ledger.origin,
        "size": n,
        "root": root.hex(),
        "checkpoint": _checkpoint(ledger, n),
    }
    if stamp["checkpoint"] is None:
        covering = _covering(ledger, n)
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
