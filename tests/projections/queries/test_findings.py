"""A finding with its corrective actions, as known now and at T."""

from __future__ import annotations

from datetime import datetime

from ledger.store import EventStore
from projections import queries as q


def test_finding_with_actions_as_of(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    half = q.finding(store.engine, store, "2026-0001", as_of=moments["f1_half"])
    assert half.status == "actions_planned"
    assert [(a.action_id, a.status) for a in half.actions] == [
        ("A1", "done"),
        ("A2", "planned"),
    ]
    now = q.finding(store.engine, store, "2026-0001")
    assert (now.status, now.closed_on, now.verified_effective) == (
        "closed",
        "2026-01-15",
        True,
    )
    assert [a.status for a in now.actions] == ["done", "done"]

    register = q.finding_register(store.engine, store, open_only=True)
    assert [f.finding_id for f in register] == ["2026-0002", "2026-0003"]
    assert [
        f.finding_id for f in q.finding_register(store.engine, store, unit="B02")
    ] == ["2026-0003"]
