"""The documents register and a document's revisions, as known now and at T."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.store import EventStore
from projections import queries as q
from projections.errors import RecordNotFoundError


def test_document_register_covers_the_unit_subtree(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    e = store.engine
    assert [d.doc_id for d in q.document_register(e, store, unit="B01")] == [
        "QP-07",
        "QP-09",
    ]
    assert [
        d.doc_id for d in q.document_register(e, store, unit="B01", subtree=False)
    ] == ["QP-07"]
    assert [d.doc_id for d in q.document_register(e, store)] == [
        "QP-07",
        "QP-09",
        "QP-10",
    ]
    assert [d.doc_id for d in q.document_register(e, store, status="drafted")] == [
        "QP-09"
    ]


def test_document_keeps_every_revision_and_answers_as_of(
    store: EventStore, moments: dict[str, datetime]
) -> None:
    now = q.document(store.engine, store, "QP-07")
    assert (now.status, now.effective_revision, now.latest_revision) == (
        "effective",
        "B",
        "B",
    )
    assert [(r.revision, r.status) for r in now.revisions] == [
        ("A", "superseded"),
        ("B", "effective"),
    ]
    assert now.revisions[0].superseded_by == "B"
    assert now.revisions[1].approved_by == "bob"
    assert now.revisions[1].author == "alice"

    then = q.document(store.engine, store, "QP-07", as_of=moments["qp07_a"])
    assert then.effective_revision == "A"
    assert [(r.revision, r.status) for r in then.revisions] == [("A", "effective")]

    with pytest.raises(RecordNotFoundError):
        q.document(store.engine, store, "QP-07", as_of=moments["setup"])
