"""Indicators projection: objectives with their targets and measurements, versioned.

A measurement row per (indicator, period) holds the value as best known: a
correction ends the previous version and starts a new one, so the current row is
"as best known now for period P" and the row valid at n is "as known at T".
`first_value` keeps the value originally recorded. Each version also keeps the
period's verdict as it was known (`target`, `met`, `begins`): a target change
re-judges the measurements it reaches, so a report as known at T reads them as
they were, without looking the targets up again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch
from projections.folds.fields import record_id, text
from projections.folds.verdicts import begins, is_met, target_in_force
from projections.tables import (
    indicator_measurements,
    indicator_targets,
    indicator_years,
    indicators,
)


class IndicatorsProjection:
    """Folds `indicator/*` events into the indicator, target and measurement tables."""

    name = "indicators"
    kind = "indicator"

    @property
    def tables(self) -> Sequence[Table]:
        return (indicators, indicator_targets, indicator_measurements, indicator_years)

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        iid, data, seq, etype = record_id(event), event.data, event.seq, event.type
        if etype == "indicator.defined":
            batch.put(
                indicators,
                (iid,),
                seq,
                {
                    "unit": text(data, "unit"),
                    "owner": text(data, "owner"),
                    "name": text(data, "name"),
                    "measure": text(data, "measure"),
                    "direction": text(data, "direction"),
                    "frequency": text(data, "frequency"),
                    "method": text(data, "method"),
                    "target": text(data, "target"),
                    "effective_from": text(data, "effective_from"),
                    "status": "active",
                },
            )
            batch.put(
                indicator_targets,
                (iid, text(data, "effective_from") or ""),
                seq,
                {"target": text(data, "target"), "set_by": event.actor},
            )
        elif etype == "indicator.target_changed":
            new = data.get("new")
            target = text(new, "target") if isinstance(new, Mapping) else None
            batch.put(
                indicator_targets,
                (iid, text(data, "effective_from") or ""),
                seq,
                {
                    "target": target,
                    "reason": text(data, "reason"),
                    "set_by": event.actor,
                },
            )
            batch.update(indicators, (iid,), seq, target=target)
            years = set()
            for row in batch.children(indicator_measurements, iid):
                period = str(row["period"])
                batch.update(
                    indicator_measurements,
                    (iid, period),
                    seq,
                    **_verdict(batch, iid, period, _opt(row["value"])),
                )
                years.add(period[:4])
            for year in sorted(years):
                _year(batch, iid, year, seq)
        elif etype == "indicator.measured":
            value, period = text(data, "value"), text(data, "period") or ""
            batch.put(
                indicator_measurements,
                (iid, period),
                seq,
                {
                    "value": value,
                    "first_value": value,
                    "note": text(data, "note"),
                    "corrections": 0,
                    "recorded_by": event.actor,
                    **_verdict(batch, iid, period, value),
                },
            )
            _year(batch, iid, period[:4], seq)
        elif etype == "indicator.measurement_corrected":
            key = (iid, text(data, "period") or "")
            current = batch.get(indicator_measurements, *key)
            count = current["corrections"] if current is not None else 0
            new = data.get("new")
            value = text(new, "value") if isinstance(new, Mapping) else None
            batch.update(
                indicator_measurements,
                key,
                seq,
                value=value,
                corrections=(count if isinstance(count, int) else 0) + 1,
                correction_reason=text(data, "reason"),
                **_verdict(batch, iid, key[1], value),
            )
            _year(batch, iid, key[1][:4], seq)
        elif etype == "indicator.retired":
            batch.update(
                indicators,
                (iid,),
                seq,
                status="retired",
                retired_reason=text(data, "reason"),
            )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _verdict(
    batch: Batch, iid: str, period: str, value: str | None
) -> dict[str, object]:
    """The period's target in force, as the batch knows the targets now, and whether
    `value` met it in the indicator's direction."""
    targets = (
        (str(t["effective_from"]), _opt(t["target"]) or "")
        for t in batch.children(indicator_targets, iid)
    )
    target = target_in_force(targets, period)
    indicator = batch.get(indicators, iid)
    direction = "" if indicator is None else str(indicator["direction"] or "")
    return {
        "target": target,
        "met": is_met(direction, "" if value is None else value, target),
        "begins": begins(period),
    }


def _year(batch: Batch, iid: str, year: str, seq: int) -> None:
    """Write the indicator's periods of `year` as the report lists them."""
    rows = sorted(
        (
            row
            for row in batch.children(indicator_measurements, iid)
            if str(row["period"])[:4] == year
        ),
        key=lambda row: (row["begins"], str(row["period"])),
    )
    periods = [
        {
            "period": str(row["period"]),
            "value": _opt(row["value"]) or "",
            "target": _opt(row["target"]),
            "met": None if row["met"] is None else bool(row["met"]),
        }
        for row in rows
    ]
    verdicts = [p["met"] for p in periods]
    batch.put(
        indicator_years,
        (iid, year),
        seq,
        {
            # Keys in the report's order, no spaces: parsed back as they were.
            "periods": json.dumps(periods, ensure_ascii=False, separators=(",", ":")),
            "met": verdicts.count(True),
            "missed": verdicts.count(False),
        },
    )
