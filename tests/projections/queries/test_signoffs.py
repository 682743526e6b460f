"""A person's sign-offs: every e-signature they made, across records, as known at a moment."""

from __future__ import annotations

import pytest

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.service import Service
from ledger.store import EventStore
from projections import queries as q
from projections.runner import InlineProjector
from tests.support.service import build_service, endorsed, secret


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    return build_service(store, clock, projectors=[InlineProjector()])


def test_signoffs_list_each_signature_of_the_person_newest_first(
    service: Service, clock: FixedClock
) -> None:
    store = service.store
    assert q.signoffs(store, "bob") == ()
    endorsed(service, "QP-07")
    service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob"))
    first = store.size()
    moment = clock.now()
    clock.advance(hours=1)
    endorsed(service, "QP-08")
    service.handle(d.ApproveDocument(doc_id="QP-08"), "bob", password=secret("bob"))

    found = q.signoffs(store, "bob")
    assert [s.stream for s in found] == ["document/QP-08", "document/QP-07"]
    assert found[1].seq == first
    assert found[1].meaning == "approved"
    assert found[1].name == "Bob"
    assert found[0].seq > found[1].seq
    assert q.signoffs(store, "alice") == ()
    earlier = q.signoffs(store, "bob", as_of=moment)
    assert [s.stream for s in earlier] == ["document/QP-07"]
