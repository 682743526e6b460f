"""The target in force for a period and whether a value met it."""

from __future__ import annotations

from projections.folds.verdicts import is_met, target_in_force


def test_period_targets_respect_quarters_and_years() -> None:
    targets = [("2025", "90"), ("2026-Q2", "95")]
    assert target_in_force(targets, "2026-03") == "90"
    assert target_in_force(targets, "2026-04") == "95"
    assert target_in_force(targets, "2024") is None
    assert is_met("lower_is_better", "3.5", "4") is True
    assert is_met("higher_is_better", "3.5", "4") is False
