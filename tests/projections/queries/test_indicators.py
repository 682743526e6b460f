"""An indicator's measurements as best known now and as known then."""

from __future__ import annotations

from datetime import datetime

from ledger.store import EventStore
from projections import queries as q


def test_indicator_value_as_best_known_now_and_as_known_then(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    e = store.engine
    best = q.indicator_value(e, store, "KPI-1", "2026-01")
    assert best is not None
    assert (best.value, best.first_value, best.corrections) == ("94.00", "96.00", 1)
    assert (best.target, best.met) == ("95.00", False)
    known = q.indicator_value(
        e, store, "KPI-1", "2026-01", as_of=moments["kpi_measured"]
    )
    assert known is not None
    assert (known.value, known.corrections, known.met) == ("96.00", 0, True)
    assert (
        q.indicator_value(e, store, "KPI-1", "2026-02", as_of=moments["kpi_measured"])
        is None
    )

    kpi = q.indicator(e, store, "KPI-1")
    assert [(t.effective_from, t.target) for t in kpi.targets] == [
        ("2026-01", "95.00"),
        ("2026-02", "97.00"),
    ]
    assert [(m.period, m.target, m.met) for m in kpi.measurements] == [
        ("2026-01", "95.00", False),
        ("2026-02", "97.00", True),
        ("2026-03", "97.00", False),
    ]
