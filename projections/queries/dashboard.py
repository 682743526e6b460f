"""A unit's dashboard as known at a moment: findings, actions and reviews due, audits, indicators.

`today` is the reader's day in the agency's time zone (the caller's business): the
day of `as_of` when a past instant is shown, so that "overdue" means overdue then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, func, select

from ledger.domain.findings import CLASSIFICATIONS
from projections.as_of import LedgerClock, position, visible
from projections.queries.indicators import (
    IndicatorView,
    MeasurementView,
    indicator_list,
)
from projections.queries.rows import dict_rows, text_of
from projections.queries.units import unit_scope
from projections.tables import audits, documents, finding_actions, findings

HORIZON_DAYS = 30  # "due soon": within the next 30 days
TREND_PERIODS = 12  # the periods an indicator's trend shows


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingCount:
    """Open findings of one classification, and how many of them are past due."""

    classification: str
    open: int
    overdue: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DueAction:
    """A corrective action not done yet whose due day is past or near."""

    finding_id: str
    action_id: str
    unit: str
    description: str
    owner: str
    due_on: str
    overdue: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DueDocument:
    """An effective document whose periodic review is due, past or near."""

    doc_id: str
    unit: str
    title: str
    next_review_due: str
    overdue: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditProgress:
    """The audits of one programme year: planned in all, done, cancelled."""

    year: str
    planned: int
    done: int
    cancelled: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorTrend:
    """An indicator's last periods, each with the target in force then and its verdict."""

    indicator: IndicatorView
    periods: tuple[MeasurementView, ...]

    @property
    def latest(self) -> MeasurementView | None:
        """The most recent period measured, if any."""
        return self.periods[-1] if self.periods else None

    @property
    def missed(self) -> int:
        """How many of the periods shown missed their target."""
        return sum(1 for m in self.periods if m.met is False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    """What a unit's quality staff look at first, as known at one ledger position."""

    today: date
    findings: tuple[FindingCount, ...]
    actions_due: tuple[DueAction, ...]
    documents_due: tuple[DueDocument, ...]
    audits: tuple[AuditProgress, ...]
    indicators: tuple[IndicatorTrend, ...]


def dashboard(
    engine: Engine,
    ledger: LedgerClock,
    *,
    today: date,
    unit: str | None = None,
    subtree: bool = True,
    as_of: datetime | None = None,
) -> Dashboard:
    """Return the dashboard of `unit` (and, with `subtree`, every unit below it).

    Due lists hold what is past due and what falls due within HORIZON_DAYS of
    `today`, ordered by due day; audits are counted per programme year.
    """
    day = today.isoformat()
    horizon = (today + timedelta(days=HORIZON_DAYS)).isoformat()
    with engine.connect() as conn:
        n = position(ledger, as_of)
        scope = unit_scope(conn, n, unit, subtree)

        f = findings.c
        counts = {
            str(r["classification"]): (int(str(r["open"])), int(str(r["overdue"])))
            for r in dict_rows(
                conn,
                select(
                    f.classification,
                    func.count().label("open"),
                    func.sum((f.due_on < day).cast(type_=func.count().type)).label(
                        "overdue"
                    ),
                )
                .where(
                    visible(findings, n),
                    f.status != "closed",
                    *_in_scope(f.unit, scope),
                )
                .group_by(f.classification),
            )
        }
        a = finding_actions.c
        actions = dict_rows(
            conn,
            select(a.finding_id, a.action_id, f.unit, a.description, a.owner, a.due_on)
            .join(findings, f.finding_id == a.finding_id)
            .where(
                visible(finding_actions, n),
                visible(findings, n),
                a.status != "done",
                f.status != "closed",
                a.due_on <= horizon,
                *_in_scope(f.unit, scope),
            )
            .order_by(a.due_on, a.finding_id, a.action_id),
        )
        d = documents.c
        docs = dict_rows(
            conn,
            select(d.doc_id, d.unit, d.title, d.next_review_due)
            .where(
                visible(documents, n),
                d.status == "effective",
                d.next_review_due.is_not(None),
                d.next_review_due <= horizon,
                *_in_scope(d.unit, scope),
            )
            .order_by(d.next_review_due, d.doc_id),
        )
        au = audits.c
        year = func.substr(au.planned_start, 1, 4)
        progress = dict_rows(
            conn,
            select(
                year.label("year"),
                func.count().label("planned"),
                func.count()
                .filter(au.status.in_(("reported", "closed")))
                .label("done"),
                func.count().filter(au.status == "cancelled").label("cancelled"),
            )
            .where(and_(visible(audits, n), *_in_scope(au.unit, scope)))
            .group_by(year)
            .order_by(year),
        )
    trends = tuple(
        IndicatorTrend(
            indicator=i,
            periods=tuple(
                sorted(i.measurements, key=lambda m: m.period)[-TREND_PERIODS:]
            ),
        )
        for i in indicator_list(engine, ledger, unit=unit, subtree=subtree, as_of=as_of)
        if i.status != "retired"
    )
    return Dashboard(
        today=today,
        findings=tuple(
            FindingCount(
                classification=c,
                open=counts.get(c, (0, 0))[0],
                overdue=counts.get(c, (0, 0))[1],
            )
            for c in _classifications(counts)
        ),
        actions_due=tuple(
            DueAction(
                finding_id=str(r["finding_id"]),
                action_id=str(r["action_id"]),
                unit=text_of(r["unit"]),
                description=text_of(r["description"]),
                owner=text_of(r["owner"]),
                due_on=text_of(r["due_on"]),
                overdue=text_of(r["due_on"]) < day,
            )
            for r in actions
        ),
        documents_due=tuple(
            DueDocument(
                doc_id=str(r["doc_id"]),
                unit=text_of(r["unit"]),
                title=text_of(r["title"]),
                next_review_due=text_of(r["next_review_due"]),
                overdue=text_of(r["next_review_due"]) < day,
            )
            for r in docs
        ),
        audits=tuple(
            AuditProgress(
                year=text_of(r["year"]),
                planned=int(str(r["planned"])),
                done=int(str(r["done"])),
                cancelled=int(str(r["cancelled"])),
            )
            for r in progress
        ),
        indicators=trends,
    )


def _in_scope(
    column: ColumnElement[str], scope: set[str] | None
) -> list[ColumnElement[bool]]:
    """The condition that `column` names a unit of `scope` (none for no filter)."""
    return [] if scope is None else [column.in_(sorted(scope))]


def _classifications(counts: dict[str, tuple[int, int]]) -> Sequence[str]:
    """Every classification of the record rules, in their order, then any other found."""
    return (*CLASSIFICATIONS, *sorted(set(counts) - set(CLASSIFICATIONS)))
