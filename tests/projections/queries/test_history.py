"""A record's history as its page shows it: who, when, what changed, reason, signature."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.domain import indicators as i
from ledger.domain import users as us
from ledger.service import Service
from ledger.store import EventStore
from projections import queries as q
from projections.errors import RecordNotFoundError
from projections.runner import InlineProjector
from tests.support.service import blob, build_service, draft, secret


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    return build_service(store, clock, projectors=[InlineProjector()])


def _approved(service: Service, clock: FixedClock) -> dict[str, int]:
    """QP-07 drafted, retitled, sent back, submitted again, endorsed, approved."""
    store = service.store
    marks: dict[str, int] = {}
    clock.advance(hours=1)
    service.handle(draft(store, "QP-07"), "alice")
    marks["drafted"] = store.size()
    clock.advance(hours=1)
    service.handle(
        d.UpdateDocumentDraft(
            doc_id="QP-07",
            title="Control of documented information",
            content=blob(store, "rev A, second draft"),
        ),
        "alice",
    )
    marks["revised"] = store.size()
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    service.handle(
        d.ReviewDocument(
            doc_id="QP-07", outcome="changes_requested", comment="clarify 4.2"
        ),
        "bob",
    )
    service.handle(d.SubmitDocument(doc_id="QP-07"), "alice")
    service.handle(d.ReviewDocument(doc_id="QP-07", outcome="endorsed"), "bob")
    marks["endorsed"] = store.size()
    clock.advance(hours=1)
    service.handle(d.ApproveDocument(doc_id="QP-07"), "bob", password=secret("bob"))
    marks["approved"] = store.size()
    return marks


def test_history_lists_every_event_with_its_changes_and_signature(
    service: Service, clock: FixedClock
) -> None:
    marks = _approved(service, clock)
    history = q.record_history(service.store.engine, service.store, "document/QP-07")

    assert history.size == marks["approved"]
    assert [e.type for e in history.entries] == [
        "document.drafted",
        "document.draft_updated",
        "document.submitted",
        "document.reviewed",
        "document.submitted",
        "document.reviewed",
        "document.approved",
    ]
    assert [e.seq for e in history.entries] == sorted(e.seq for e in history.entries)
    assert history.newest_first[0].type == "document.approved"
    assert [e.actor for e in history.entries] == ["alice"] * 3 + ["bob", "alice"] + [
        "bob"
    ] * 2
    assert {e.actor_name for e in history.entries} == {"Alice", "Bob"}
    assert history.entries[0].actor_roles == (("author", "B1"),)
    assert history.entries[-1].actor_roles == (("approver", "B1"),)

    drafted = history.entries[0]
    created = {c.field: (c.old, c.new) for c in drafted.changes}
    assert created["title"] == (None, "Control of records")
    assert created["kind"] == (None, "procedure")
    assert created["unit"] == (None, "B1")

    revised = {c.field: (c.old, c.new) for c in history.entries[1].changes}
    assert revised["revisions.A.title"] == (
        "Control of records",
        "Control of documented information",
    )
    old_content, new_content = revised["revisions.A.content"]
    assert isinstance(old_content, dict)
    assert isinstance(new_content, dict)
    assert old_content["blob"] != new_content["blob"]

    submitted = [(c.field, c.old, c.new) for c in history.entries[2].changes]
    assert submitted == [("revisions.A.status", "drafted", "submitted")]
    sent_back = history.entries[3]
    assert [(c.field, c.old, c.new) for c in sent_back.changes] == [
        ("revisions.A.status", "submitted", "drafted")
    ]
    assert sent_back.comment == "clarify 4.2"
    assert sent_back.reason is None

    approved = history.entries[-1]
    assert ("revisions.A.status", "endorsed", "approved") in [
        (c.field, c.old, c.new) for c in approved.changes
    ]
    assert ("revisions.A.approved_by", None, "bob") in [
        (c.field, c.old, c.new) for c in approved.changes
    ]
    sig = approved.signature
    assert sig is not None
    assert (sig.signer, sig.name, sig.meaning) == ("bob", "Bob", "approved")
    assert sig.signed_at == approved.recorded_at
    assert len(sig.subject_sha256) == 64
    assert sig.key
    assert "esig" not in approved.data
    assert all(e.signature is None for e in history.entries[:-1])
    assert approved.recorded_at > drafted.recorded_at

    service.handle(us.GrantRole(user_id="bob", role="approver", scope="B2"), "root")
    later = q.record_history(service.store.engine, service.store, "document/QP-07")
    assert later.entries[-1].actor_roles == (("approver", "B1"),)  # as held then


def test_history_as_of_an_earlier_position_leaves_later_events_out(
    service: Service, clock: FixedClock
) -> None:
    marks = _approved(service, clock)
    store = service.store

    at_revised = q.record_history(
        store.engine, store, "document/QP-07", size=marks["revised"]
    )
    assert at_revised.size == marks["revised"]
    assert [e.type for e in at_revised.entries] == [
        "document.drafted",
        "document.draft_updated",
    ]
    assert all(e.seq <= marks["revised"] for e in at_revised.entries)

    moment = clock.now()
    clock.advance(hours=1)
    service.handle(
        d.MakeDocumentEffective(doc_id="QP-07", effective_on=date(2026, 7, 1)), "bob"
    )
    then = q.record_history(store.engine, store, "document/QP-07", as_of=moment)
    assert then.size == marks["approved"]
    assert then.entries[-1].type == "document.approved"
    now = q.record_history(store.engine, store, "document/QP-07")
    assert now.entries[-1].type == "document.became_effective"
    effective = {c.field: (c.old, c.new) for c in now.entries[-1].changes}
    assert effective["revisions.A.status"] == ("approved", "effective")
    assert effective["effective"] == (None, "A")

    with pytest.raises(RecordNotFoundError):
        q.record_history(
            store.engine, store, "document/QP-07", size=marks["drafted"] - 1
        )
    with pytest.raises(RecordNotFoundError):
        q.record_history(store.engine, store, "document/QP-99")


def test_history_gives_the_reason_and_the_name_known_then(
    service: Service, clock: FixedClock
) -> None:
    store = service.store
    service.handle(us.DeactivateUser(user_id="vic", reason="left the bureau"), "root")
    history = q.record_history(store.engine, store, "user/vic")
    last = history.entries[-1]
    assert last.type == "user.deactivated"
    assert last.reason == "left the bureau"
    assert [(c.field, c.old, c.new) for c in last.changes] == [("active", True, False)]
    assert last.actor == "root"
    assert last.actor_name == "Root Admin"
    assert ("admin", "HQ") in last.actor_roles
    assert not last.occurred_differs
    first = history.entries[0]
    assert first.type == "user.registered"
    assert {c.field for c in first.changes} >= {"user_id", "name", "unit", "email"}


def test_a_correction_names_the_period_and_a_target_change_its_reason(
    service: Service,
) -> None:
    store = service.store
    service.handle(
        i.DefineIndicator(
            indicator_id="B1-OTR",
            unit="B1",
            owner="dave",
            name="On-time reports",
            measure="%",
            direction="higher_is_better",
            target="95.00",
            frequency="monthly",
            method="count",
            effective_from="2026-01",
        ),
        "mia",
    )
    service.handle(
        i.RecordMeasurement(indicator_id="B1-OTR", period="2026-01", value="94.00"),
        "dave",
    )
    service.handle(
        i.CorrectMeasurement(
            indicator_id="B1-OTR",
            period="2026-01",
            value="96.00",
            reason="late returns counted twice",
        ),
        "dave",
    )
    service.handle(
        i.ChangeTarget(
            indicator_id="B1-OTR",
            target="97.00",
            effective_from="2026-02",
            reason="raised objective",
        ),
        "mia",
    )
    entries = q.record_history(store.engine, store, "indicator/B1-OTR").entries
    shown = [
        (e.type, e.actor_name, e.reason, [(c.field, c.old, c.new) for c in e.changes])
        for e in entries[1:]
    ]
    assert shown == [
        ("indicator.measured", "Dave", None, [("values.2026-01", None, "94.00")]),
        (
            "indicator.measurement_corrected",
            "Dave",
            "late returns counted twice",
            [("values.2026-01", "94.00", "96.00")],
        ),
        (
            "indicator.target_changed",
            "Mia",
            "raised objective",
            [("target", "95.00", "97.00")],
        ),
    ]
    assert entries[1].changes[0].path == ("values", "2026-01")
