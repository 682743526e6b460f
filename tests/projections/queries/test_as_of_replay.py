"""Every register as of a random T equals the same register over a replay of the prefix."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections import queries as q
from projections.reports import build_report
from projections.runner import rebuild
from tests.support.projections import START, EngineFactory, feed, fresh_store
from tests.support.simulation import Simulation


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picks=st.lists(st.integers(0, 10**6), min_size=2, max_size=40),
    cut=st.integers(0, 10**6),
)
def test_views_as_of_random_t_equal_a_replay_of_the_prefix(
    engines: EngineFactory, picks: list[int], cut: int
) -> None:
    store, clock = fresh_store(engines)
    feed(store, clock, picks, sim=Simulation(), hours=2)
    as_of = START + timedelta(hours=2 * (cut % (len(picks) + 1)), minutes=30)
    n = store.size_at(as_of)
    replay = engines()
    rebuild(replay, store, upto=n)

    def views(engine: object, at: datetime | None) -> tuple[object, ...]:
        e = engine  # the read-model database
        return (
            q.unit_tree(e, store, as_of=at),  # type: ignore[arg-type]
            q.user_list(e, store, as_of=at),  # type: ignore[arg-type]
            q.document_register(e, store, as_of=at),  # type: ignore[arg-type]
            q.audit_list(e, store, as_of=at),  # type: ignore[arg-type]
            q.finding_register(e, store, as_of=at),  # type: ignore[arg-type]
            q.indicator_list(e, store, as_of=at),  # type: ignore[arg-type]
            q.review_list(e, store, as_of=at),  # type: ignore[arg-type]
        )

    assert views(store.engine, as_of) == views(replay, None)
    assert (
        build_report(store.engine, store, as_of=as_of).to_json()
        == build_report(replay, store, as_of=as_of).to_json()
    )
