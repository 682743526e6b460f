"""The histories the read-side tests record are valid events of the catalogue."""

from __future__ import annotations

from datetime import datetime

from ledger.store import EventStore


def test_the_histories_used_here_follow_the_event_catalogue(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    """Guards the tests themselves: scenario and simulation events are valid data."""
    from ledger import catalog
    from tests.support.simulation import Simulation, choices

    recorded = [e for e in store.read() if not e.stream.startswith("ledger/")]
    sim = Simulation()
    simulated = [e for pick in choices(2000) for e in sim.step(pick)]
    for etype, data in [(e.type, e.data) for e in recorded] + [
        (e.type, e.data) for e in simulated
    ]:
        catalog.validate(etype, data)
    assert {e.type for e in simulated} == set(catalog.event_types()) - {
        t for t in catalog.event_types() if t.startswith("ledger.")
    }
