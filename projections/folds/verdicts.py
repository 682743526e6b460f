"""How an indicator's period is judged: the target in force and whether it was met.

One rule for the projection that stores each measurement's verdict as it was known
and for the views that show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation


def period_start(period: str) -> tuple[int, int]:
    """Return (year, first month) of a period `YYYY-MM`, `YYYY-Qn` or `YYYY`."""
    year = int(period[:4])
    rest = period[5:]
    if not rest:
        return (year, 1)
    if rest.startswith("Q"):
        return (year, 3 * int(rest[1:]) - 2)
    return (year, int(rest))


def begins(period: str) -> int:
    """Return the period's first month as the number YYYYMM (periods sort by it)."""
    year, month = period_start(period)
    return year * 100 + month


def target_in_force(
    targets: Iterable[tuple[str, str | None]], period: str
) -> str | None:
    """Return the target in force for `period` among (effective_from, target) pairs:
    the latest not effective after the period's start; of equal starts, the later."""
    start = period_start(period)
    best: tuple[tuple[int, int], str | None] | None = None
    for effective_from, target in targets:
        begin = period_start(effective_from)
        if begin <= start and (best is None or begin >= best[0]):
            best = (begin, target)
    return None if best is None else best[1]


def is_met(direction: str, value: str, target: str | None) -> bool | None:
    """Return whether `value` meets `target` in the direction given (None: unknown)."""
    if target is None:
        return None
    try:
        v, t = Decimal(value), Decimal(target)
    except InvalidOperation:
        return None
    return v <= t if direction == "lower_is_better" else v >= t
