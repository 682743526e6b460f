"""The demo's yearly management reviews, each pinning the status report it looked at."""

from __future__ import annotations

from datetime import date, timedelta

from ledger.domain import reviews as rv
from ledger.integrity.envelope import format_time
from projections.reports import build_report
from web.demo.recorder import Recorder, Step
from web.demo.scale import LAST_DAY


class Reviews:
    """Holds the yearly management reviews at headquarters."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.count = 0  # reviews held

    def plan(self) -> None:
        """Put a management review on 20 March of every year of the story."""
        for year in range(self.rec.first.year, LAST_DAY.year + 1):
            day = date(year, 3, 20)
            if self.rec.first <= day:
                self.rec.at(day, self.review_step(year))

    def review_step(self, year: int) -> Step:
        def step() -> None:
            # The review looked at the status report as known now; its digest pins
            # exactly that report (ISO 9001 9.3 inputs, REQUIREMENTS R19).
            self.rec.catch_up()
            moment = self.rec.service.clock.now()
            report = build_report(
                self.rec.store.engine, self.rec.store, as_of=moment, unit=self.rec.hq
            )
            attendees = [
                self.rec.hq_manager,
                *self.rec.auditors,
                *(b.manager for b in self.rec.bureaus),
            ]
            owner = self.rec.bureaus[year % len(self.rec.bureaus)].manager
            self.rec.record(
                rv.HoldManagementReview(
                    review_id=f"MR-{year}",
                    unit=self.rec.hq,
                    held_on=self.rec.today,
                    attendees=attendees,
                    inputs=[
                        {
                            "report": "qms-status",
                            "unit": self.rec.hq,
                            "as_of": format_time(moment),
                            "size": report.size,
                            "sha256": report.sha256(),
                        }
                    ],
                    decisions=[
                        f"{year - 1}年度质量目标基本实现 The {year - 1} objectives were broadly met",
                        "加强仪器期间核查 Strengthen intermediate checks",
                    ],
                    actions=[
                        rv.ReviewAction(
                            description="组织计量专项培训 Hold metrology training",
                            owner=owner,
                            due_on=self.rec.today + timedelta(days=90),
                        )
                    ],
                ),
                self.rec.hq_manager,
            )
            self.count += 1

        return step
