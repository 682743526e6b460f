"""Indicator rules: periods recorded once, corrections keep the original."""

from __future__ import annotations

import pytest

from ledger.domain import indicators as i
from ledger.errors import EventRejectedError, NotAuthorizedError
from tests.support.records import Record

IID = "B1-ontime"


def defined() -> Record:
    rec = Record(i, i.IndicatorState(), user_units={"olga": "B1", "mia": "B1"})
    rec.do(
        i.DefineIndicator(
            indicator_id=IID,
            unit="B1",
            owner="olga",
            name="On-time inspections",
            measure="%",
            direction="higher_is_better",
            target="95.00",
            frequency="monthly",
            method="count",
            effective_from="2026-01",
        ),
        "mia",
    )
    return rec


def test_measurement_is_recorded_once_then_corrected() -> None:
    rec = defined()
    rec.do(
        i.RecordMeasurement(indicator_id=IID, period="2026-01", value="96.5"), "olga"
    )
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            i.RecordMeasurement(indicator_id=IID, period="2026-01", value="97"), "olga"
        )
    assert "period" in caught.value.messages
    rec.do(
        i.CorrectMeasurement(
            indicator_id=IID, period="2026-01", value="94.0", reason="typo"
        ),
        "olga",
    )
    correction = rec.events[-1].data
    assert correction["old"] == {"value": "96.5"}
    assert correction["new"] == {"value": "94.0"}
    assert rec.events[1].data["value"] == "96.5"  # the original stays on record
    assert rec.state.values["2026-01"] == "94.0"


def test_correction_needs_reason() -> None:
    rec = defined()
    rec.do(
        i.RecordMeasurement(indicator_id=IID, period="2026-01", value="96.5"), "olga"
    )
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            i.CorrectMeasurement(
                indicator_id=IID, period="2026-01", value="90", reason=""
            ),
            "olga",
        )
    assert "reason" in caught.value.messages


@pytest.mark.parametrize(
    ("period", "value", "field"),
    [
        ("2026-Q1", "1", "period"),
        ("2026-13", "1", "period"),
        ("2026-02", "9,5", "value"),
        ("2025-12", "1", "period"),
    ],
)
def test_measurement_format_rules(period: str, value: str, field: str) -> None:
    rec = defined()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            i.RecordMeasurement(indicator_id=IID, period=period, value=value), "olga"
        )
    assert field in caught.value.messages


def test_only_owner_records() -> None:
    rec = defined()
    with pytest.raises(NotAuthorizedError):
        rec.do(
            i.RecordMeasurement(indicator_id=IID, period="2026-01", value="1"), "mia"
        )


def test_target_change_and_retirement() -> None:
    rec = defined()
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            i.ChangeTarget(
                indicator_id=IID, target="97", effective_from="2026-07", reason=""
            ),
            "mia",
        )
    assert "reason" in caught.value.messages
    rec.do(
        i.ChangeTarget(
            indicator_id=IID, target="97.00", effective_from="2026-07", reason="raised"
        ),
        "mia",
    )
    assert rec.events[-1].data["old"] == {"target": "95.00"}
    rec.do(i.RetireIndicator(indicator_id=IID, reason="replaced"), "mia")
    with pytest.raises(EventRejectedError) as caught:
        rec.do(
            i.RecordMeasurement(indicator_id=IID, period="2026-02", value="1"), "olga"
        )
    assert "status" in caught.value.messages
