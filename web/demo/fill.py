"""Filling an empty ledger with the demo: the cast, the plans in story order, then day by day."""

from __future__ import annotations

from collections.abc import Callable

from ledger.clock import FixedClock
from ledger.service import Service
from ledger.store import EventStore
from web.demo.audits import Audits
from web.demo.documents import Documents
from web.demo.findings import Findings
from web.demo.indicators import Indicators
from web.demo.people import People
from web.demo.recorder import Recorder
from web.demo.reviews import Reviews
from web.demo.scale import LAST_DAY, DemoSummary, Scale, scale_of


def fill_demo(
    service: Service,
    store: EventStore,
    *,
    seed: int = 1,
    size: str = "small",
    progress: Callable[[int, int], None] | None = None,
    clock: FixedClock | None = None,
    scale: Scale | None = None,
    bulk: bool | None = None,
) -> DemoSummary:
    """Fill an empty ledger with a reproducible two-year QMS story.

    `clock` must be the clock the service and the store read (default: the
    service's clock when it is a `FixedClock`); it is moved day by day from the
    first day to 2026-10-31. Without a fixed clock `recorded_at` is the real time
    and only `occurred_at` follows the story. `progress(done, total)` counts days.
    `scale` replaces the preset of `size` (the summary still names `size`).

    Each person signs within one signing session of the demo's run: the password
    is checked (the key unsealed) at their first signing, as 21 CFR 11.200(a)(1)(i)
    allows for a series of signings in one continuous period of access.

    `bulk` (default: for `large` only) records a day's commands per transaction
    through `Service.batch` with the same rules and skips the inline projections:
    the read models are caught up before each management review (which pins the
    status report) and at the end.

    Raises:
        EventRejectedError: the ledger holds QMS records already, or `size` is unknown.
        NotAuthorizedError: a rule refused a step (a defect of the demo).
        StorageError: the database failed.
    """
    scale = scale or scale_of(size)
    if clock is None and isinstance(service.clock, FixedClock):
        clock = service.clock
    if bulk is None:
        bulk = size == "large"
    rec = Recorder(service, store, scale, seed, clock, progress, bulk=bulk)
    People(rec).enrol_all()
    documents, indicators = Documents(rec), Indicators(rec)
    findings = Findings(rec)
    audits, reviews = Audits(rec, findings), Reviews(rec)
    # The plans draw from the seeded random numbers: this order is the story.
    documents.plan()
    indicators.plan()
    audits.plan()
    findings.plan()
    reviews.plan()
    rec.play()
    directory = service.directory()
    return DemoSummary(
        seed=seed,
        size=size,
        first_day=rec.first,
        last_day=LAST_DAY,
        events=rec.events,
        ledger_size=store.size(),
        units=len(directory.units),
        users=len(directory.users),
        documents=documents.count,
        audits=audits.count,
        findings=findings.count,
        indicators=indicators.count,
        reviews=reviews.count,
        signatures=rec.signatures,
        admin=rec.admin,
    )
