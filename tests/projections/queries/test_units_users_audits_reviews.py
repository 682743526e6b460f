"""The unit tree, users, audits and management reviews as known now and at T."""

from __future__ import annotations

from datetime import datetime

from ledger.store import EventStore
from projections import queries as q


def test_units_users_audits_reviews(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    e = store.engine
    tree = {u.code: u for u in q.unit_tree(e, store)}
    assert tree["HQ"].children == ("B01", "B02")
    assert tree["B01"].children == ("D01",)
    assert q.unit_subtree(e, store, "B01") == ["B01", "D01"]
    assert q.unit_tree(e, store, as_of=moments["before"]) == []

    bob = q.user(e, store, "bob")
    assert [(r.role, r.scope) for r in bob.roles] == [
        ("approver", "HQ"),
        ("auditor", "HQ"),
    ]
    assert [u.user_id for u in q.user_list(e, store, unit="B01")] == ["alice"]

    statuses = {a.audit_id: a.status for a in q.audit_list(e, store)}
    assert statuses == {
        "2026-01": "closed",
        "2026-02": "planned",
        "2026-03": "cancelled",
    }
    assert q.audit(e, store, "2026-01", as_of=moments["raised"]).status == "reported"

    (review,) = q.review_list(e, store)
    assert (review.review_id, review.decisions) == ("MR-2026-1", ("keep KPI-1",))
    assert q.review_list(e, store, as_of=moments["kpi_corrected"]) == []
