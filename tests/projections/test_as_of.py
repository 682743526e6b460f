"""The as-of condition selects exactly the row versions valid at a position, on both dialects."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ledger.clock import FixedClock
from ledger.store import EventStore
from projections.as_of import visible
from projections.tables import VERSIONED_TABLES
from tests.support.projections import feed


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(picks=st.lists(st.integers(min_value=0, max_value=10_000), max_size=120))
def test_visible_selects_exactly_the_versions_valid_at_each_position(
    store: EventStore, clock: FixedClock, picks: list[int]
) -> None:
    """The span-indexed condition against the plain one, at every position."""
    start = store.size()
    feed(store, clock, picks)
    with store.engine.connect() as conn:
        for table in VERSIONED_TABLES:
            rows = conn.execute(select(table)).mappings().all()
            for row in rows:  # span: 0 while current, else the lifetime's bit length
                ended = row["valid_to"]
                want = 0 if ended is None else (ended - row["valid_from"]).bit_length()
                assert row["span"] == want
            key = list(table.primary_key.columns)
            for n in range(max(1, start), store.size() + 1):
                plain = {
                    tuple(r[c.name] for c in key)
                    for r in rows
                    if r["valid_from"] <= n
                    and (r["valid_to"] is None or r["valid_to"] > n)
                }
                found = set(conn.execute(select(*key).where(visible(table, n))).all())
                assert found == plain, (table.name, n)
