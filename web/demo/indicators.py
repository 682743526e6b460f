"""The demo's indicators: definitions, monthly measurements, a target change and corrections."""

from __future__ import annotations

from datetime import date, timedelta

from ledger.domain import add_months
from ledger.domain import indicators as ind
from web.demo.recorder import Bureau, Recorder, Step
from web.demo.story import INDICATORS


class Indicators:
    """Defines each bureau's indicators and records their measurements."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.values: dict[tuple[str, date], int] = {}
        self.count = 0  # indicators defined

    def plan(self) -> None:
        """Define the indicators now; put their measurements and changes on the agenda."""
        period0 = self.rec.first.strftime("%Y-%m")
        months = self.rec.scale.months
        for bi, b in enumerate(self.rec.bureaus):
            for ii, (suffix, name, measure, direction, target, low, high) in enumerate(
                INDICATORS
            ):
                indicator_id = f"{b.code}-{suffix}"
                self.rec.record(
                    ind.DefineIndicator(
                        indicator_id=indicator_id,
                        unit=b.code,
                        owner=b.owner,
                        name=name,
                        measure=measure,
                        direction=direction,
                        target=target,
                        frequency="monthly",
                        method="月度统计 Monthly count from the report register",
                        effective_from=period0,
                    ),
                    b.manager,
                )
                self.count += 1
                for m in range(months):
                    period = add_months(self.rec.first, m)
                    day = add_months(self.rec.first, m + 1) + timedelta(
                        days=self.rec.rng.between(2, 7)
                    )
                    value = self.rec.rng.between(low, high)
                    self.values[(indicator_id, period)] = value
                    self.rec.at(day, self.measure_step(indicator_id, b, period, value))
                if bi == 0 and ii == 0:
                    change = add_months(self.rec.first, months // 2)
                    self.rec.at(change, self.target_step(indicator_id, b, change))
                if (bi, ii) in ((1, 0), (2, 1)):
                    m = months // 3 + bi
                    fix = add_months(self.rec.first, m + 1) + timedelta(days=12)
                    period = add_months(self.rec.first, m)
                    self.rec.at(
                        fix, self.correct_step(indicator_id, b, period, bi == 1)
                    )

    def measure_step(
        self, indicator_id: str, b: Bureau, period: date, hundredths: int
    ) -> Step:
        def step() -> None:
            self.rec.record(
                ind.RecordMeasurement(
                    indicator_id=indicator_id,
                    period=period.strftime("%Y-%m"),
                    value=decimal(hundredths),
                    note="",
                ),
                b.owner,
            )

        return step

    def target_step(self, indicator_id: str, b: Bureau, day: date) -> Step:
        def step() -> None:
            self.rec.record(
                ind.ChangeTarget(
                    indicator_id=indicator_id,
                    target="97.00",
                    effective_from=day.strftime("%Y-%m"),
                    reason="连续一年达标、提高目标 Target met for a year; raised",
                ),
                b.manager,
            )

        return step

    def correct_step(
        self, indicator_id: str, b: Bureau, period: date, by_owner: bool
    ) -> Step:
        def step() -> None:
            self.rec.record(
                ind.CorrectMeasurement(
                    indicator_id=indicator_id,
                    period=period.strftime("%Y-%m"),
                    value=decimal(
                        self.values[(indicator_id, period)] + (-110 if by_owner else 35)
                    ),
                    reason="统计遗漏了补发的报告 Late-issued reports were left out of the count",
                ),
                b.owner if by_owner else b.manager,
            )

        return step


def decimal(hundredths: int) -> str:
    """Return `hundredths` as a decimal string with two places."""
    return f"{hundredths // 100}.{hundredths % 100:02d}"
