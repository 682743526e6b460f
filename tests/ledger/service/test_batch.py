"""Many commands in few transactions, and signing sessions, on both dialects.

`Service.handle_many` and `Service.batch` apply the same rules as `Service.handle`;
a broken rule stores nothing of the pending batch. A signing session checks the
password once and signs later for its own person only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ledger.clock import FixedClock
from ledger.domain import Command
from ledger.domain import documents as d
from ledger.domain import units as un
from ledger.domain import users as us
from ledger.errors import (
    ConcurrencyError,
    EventRejectedError,
    NotAuthorizedError,
    NotFoundError,
)
from ledger.integrity.signing import SigningKey
from ledger.integrity.verify import verify_lines
from ledger.service import BatchItem, Service
from ledger.store import EventStore
from tests.support.service import TEMP, secret

PEOPLE = [
    ("alice", [("author", "B1")]),
    ("bob", [("approver", "B1")]),
    ("bea", [("approver", "B1")]),
]


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    """HQ and bureau B1; an author and two approvers who chose their passwords."""
    svc = Service(store, clock=clock, scrypt_n=2**10)
    svc.create_first_admin(
        "root", "Root Admin", "HQ", "总局", "Headquarters", secret("root")
    )
    svc.handle(
        un.CreateUnit(
            code="B1", name_zh="一分局", name_en="Bureau 1", kind="bureau", parent="HQ"
        ),
        "root",
    )
    for user_id, roles in PEOPLE:
        svc.handle(
            us.RegisterUser(
                user_id=user_id,
                name=user_id.title(),
                unit="B1",
                email=f"{user_id}@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        for role, scope in roles:
            svc.handle(us.GrantRole(user_id=user_id, role=role, scope=scope), "root")
        svc.change_password(user_id, TEMP, secret(user_id))
    return svc


def content(store: EventStore, text: str) -> dict[str, Any]:
    data = text.encode()
    return {
        "blob": store.put_blob(data),
        "size": len(data),
        "name": "doc.txt",
        "media_type": "text/plain",
    }


def draft(store: EventStore, doc_id: str) -> d.DraftDocument:
    return d.DraftDocument(
        doc_id=doc_id,
        unit="B1",
        title="Control of records",
        kind="procedure",
        content=content(store, doc_id),
    )


def lifecycle(store: EventStore, doc_id: str) -> list[tuple[Command, str]]:
    """Draft, submit and endorse a document; then bob approves it."""
    return [
        (draft(store, doc_id), "alice"),
        (d.SubmitDocument(doc_id=doc_id), "alice"),
        (d.ReviewDocument(doc_id=doc_id, outcome="endorsed"), "bob"),
        (d.ApproveDocument(doc_id=doc_id), "bob"),
    ]


def items(
    service: Service, doc_ids: list[str], session_of: str = "bob"
) -> list[BatchItem]:
    session = service.signing_session(session_of, secret(session_of))
    return [
        BatchItem(
            c, actor, session=session if isinstance(c, d.ApproveDocument) else None
        )
        for doc_id in doc_ids
        for c, actor in lifecycle(service.store, doc_id)
    ]


def command_ids(store: EventStore, first_seq: int) -> set[str]:
    return {e.meta["command_id"] for e in store.read(first_seq)}


class TestHandleMany:
    def test_records_every_command_with_verifiable_esignatures(
        self, service: Service, signer: SigningKey
    ) -> None:
        before = service.store.size()
        recorded = service.handle_many(items(service, ["QP-01", "QP-02", "QP-03"]))
        assert recorded == 12
        assert service.store.size() == before + 12
        assert service.store.stream_version("document/QP-02") == 4
        approved = service.store.read_stream("document/QP-02")[-1]
        assert approved.type == "document.approved"
        assert approved.data["esig"]["signer"] == "bob"  # type: ignore[index,call-overload]
        assert service.check_signoffs("document/QP-02") == 1
        head = verify_lines(
            service.store.read_lines(), trusted_key_id=signer.key_id, workers=1
        )
        assert head.esignatures == 3

    def test_transactions_hold_about_size_events(self, service: Service) -> None:
        transactions: list[int] = []

        class Counting:  # a projector runs once in every append transaction
            def apply(self, connection: object, events: Sequence[object]) -> None:
                transactions.append(len(events))

        service.handle_many(
            items(service, ["QP-01", "QP-02", "QP-03"]), size=4, projectors=[Counting()]
        )
        assert transactions == [4, 4, 4]

    def test_every_command_of_a_batch_keeps_its_own_command_id(
        self, service: Service
    ) -> None:
        first = service.store.size() + 1
        batch = items(service, ["QP-01", "QP-02", "QP-03"])
        service.handle_many(batch, size=4)
        recorded = list(service.store.read(first))
        assert len(command_ids(service.store, first)) == len(batch) == len(recorded)
        # A command repeated with its id is recognised and appends nothing.
        again = service.handle(
            batch[0].command,
            batch[0].actor,
            command_id=recorded[0].meta["command_id"],
        )
        assert again == recorded[:1]
        assert service.store.size() == first - 1 + len(recorded)

    def test_a_broken_rule_in_the_middle_stores_nothing(self, service: Service) -> None:
        batch = items(service, ["QP-01", "QP-02"])
        # alice may not approve: she is no approver (and wrote the revision).
        batch.insert(5, BatchItem(d.ApproveDocument(doc_id="QP-01"), "alice"))
        before = service.store.size()
        with pytest.raises(NotAuthorizedError):
            service.handle_many(batch, size=2)
        assert service.store.size() == before
        assert service.store.stream_version("document/QP-01") == 0

    def test_a_record_rule_is_checked_against_the_batch_s_own_changes(
        self, service: Service
    ) -> None:
        before = service.store.size()
        with pytest.raises(EventRejectedError):
            service.handle_many(
                [
                    BatchItem(draft(service.store, "QP-01"), "alice"),
                    BatchItem(d.SubmitDocument(doc_id="QP-01"), "alice"),
                    BatchItem(d.SubmitDocument(doc_id="QP-01"), "alice"),
                ]
            )
        assert service.store.size() == before

    def test_a_missing_record_stores_nothing(self, service: Service) -> None:
        before = service.store.size()
        with pytest.raises(NotFoundError):
            service.handle_many(
                [
                    BatchItem(draft(service.store, "QP-01"), "alice"),
                    BatchItem(d.SubmitDocument(doc_id="QP-99"), "alice"),
                ]
            )
        assert service.store.size() == before

    def test_units_and_users_are_refused(self, service: Service) -> None:
        before = service.store.size()
        with pytest.raises(EventRejectedError) as caught:
            service.handle_many(
                [
                    BatchItem(draft(service.store, "QP-01"), "alice"),
                    BatchItem(
                        us.GrantRole(user_id="alice", role="owner", scope="B1"), "root"
                    ),
                ]
            )
        assert "command" in caught.value.messages
        assert service.store.size() == before


class TestBatch:
    def test_a_failing_command_drops_the_pending_transaction_only(
        self, service: Service
    ) -> None:
        before = service.store.size()
        with service.batch(size=100) as batch:
            batch.handle(draft(service.store, "QP-01"), "alice")
            assert batch.flush() == 1
            batch.handle(draft(service.store, "QP-02"), "alice")
            with pytest.raises(NotAuthorizedError):
                batch.handle(d.SubmitDocument(doc_id="QP-02"), "bob")
            assert batch.pending == 0
        assert service.store.size() == before + 1
        assert service.store.stream_version("document/QP-02") == 0

    def test_a_failing_block_stores_nothing_pending(self, service: Service) -> None:
        before = service.store.size()

        def give_up() -> None:
            with service.batch() as batch:
                batch.handle(draft(service.store, "QP-01"), "alice")
                raise RuntimeError("the caller gave up")

        with pytest.raises(RuntimeError):
            give_up()
        assert service.store.size() == before

    def test_a_record_changed_meanwhile_fails_the_transaction(
        self, service: Service
    ) -> None:
        before = service.store.size()
        batch = service.batch()
        batch.handle(draft(service.store, "QP-01"), "alice")
        batch.handle(draft(service.store, "QP-02"), "alice")
        service.handle(draft(service.store, "QP-01"), "alice")  # someone else
        with pytest.raises(ConcurrencyError):
            batch.flush()
        assert service.store.size() == before + 1
        assert service.store.stream_version("document/QP-02") == 0

    def test_users_go_through_one_by_one_and_count_at_once(
        self, service: Service
    ) -> None:
        with service.batch() as batch:
            batch.handle(draft(service.store, "QP-01"), "alice")
            batch.handle(
                us.GrantRole(user_id="alice", role="approver", scope="B1"), "root"
            )
            # The new role is in force for the next command of the batch.
            batch.handle(
                d.DraftDocument(
                    doc_id="QP-02",
                    unit="B1",
                    title="Sampling",
                    kind="procedure",
                    content=content(service.store, "QP-02"),
                ),
                "alice",
            )
            batch.handle(d.SubmitDocument(doc_id="QP-02"), "alice")
            batch.handle(d.ReviewDocument(doc_id="QP-02", outcome="endorsed"), "bob")
            approve = d.ApproveDocument(doc_id="QP-02")
            with pytest.raises(NotAuthorizedError):  # still not her own revision
                batch.handle(
                    approve,
                    "alice",
                    session=service.signing_session("alice", secret("alice")),
                )
        assert service.store.stream_version("document/QP-01") == 1
        assert service.store.stream_version("document/QP-02") == 0

    def test_a_held_blob_is_stored_with_the_events_that_name_it(
        self, service: Service
    ) -> None:
        data = b"procedure text held by the batch"
        with service.batch() as batch:
            digest = batch.put_blob(data)
            assert service.store.blob_size(digest) is None  # held, not yet stored
            ref = {"blob": digest, "size": len(data), "name": "qp.txt"}
            batch.handle(
                d.DraftDocument(
                    doc_id="QP-01",
                    unit="B1",
                    title="Control of records",
                    kind="procedure",
                    content={**ref, "media_type": "text/plain"},
                ),
                "alice",
            )
        assert service.store.get_blob(digest) == data
        (drafted,) = service.store.read_stream("document/QP-01")
        assert drafted.data["content"]["blob"] == digest  # type: ignore[index,call-overload]

    def test_a_held_blob_is_dropped_with_a_failing_command(
        self, service: Service
    ) -> None:
        data = b"evidence that never gets recorded"
        batch = service.batch()
        digest = batch.put_blob(data)
        with pytest.raises(NotFoundError):
            batch.handle(d.SubmitDocument(doc_id="QP-404"), "alice")
        batch.flush()
        assert service.store.blob_size(digest) is None
        assert service.store.stream_version("document/QP-404") == 0

    def test_a_held_blob_that_was_disposed_of_fails_the_transaction(
        self, service: Service
    ) -> None:
        data = b"disposed of once"
        digest = service.store.put_blob(data)
        service.store.dispose_blob(digest, "retention period over", actor="root")
        batch = service.batch()
        batch.put_blob(data)
        batch.handle(draft(service.store, "QP-01"), "alice")
        with pytest.raises(EventRejectedError) as caught:
            batch.flush()
        assert "was disposed of" in str(caught.value)
        assert service.store.stream_version("document/QP-01") == 0


class TestSigningSession:
    def test_refuses_a_wrong_password(self, service: Service) -> None:
        with pytest.raises(EventRejectedError) as caught:
            service.signing_session("bob", "guess-guess")
        assert "password" in caught.value.messages

    def test_refuses_a_temporary_password(self, service: Service) -> None:
        service.handle(
            us.RegisterUser(
                user_id="ned",
                name="Ned",
                unit="B1",
                email="ned@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        with pytest.raises(NotAuthorizedError):
            service.signing_session("ned", TEMP)

    def test_refuses_an_unknown_user(self, service: Service) -> None:
        with pytest.raises(NotAuthorizedError):
            service.signing_session("nobody", "whatever-it-is")

    def test_signs_later_signings_without_the_password(self, service: Service) -> None:
        session = service.signing_session("bob", secret("bob"))
        for doc_id in ("QP-01", "QP-02"):
            for command, actor in lifecycle(service.store, doc_id)[:3]:
                service.handle(command, actor)
            (approved,) = service.handle(
                d.ApproveDocument(doc_id=doc_id), "bob", session=session
            )
            assert approved.data["esig"]["key"] == session.key_id  # type: ignore[index,call-overload]

    def test_cannot_sign_for_another_user(self, service: Service) -> None:
        bea = service.signing_session("bea", secret("bea"))
        for command, actor in lifecycle(service.store, "QP-01")[:3]:
            service.handle(command, actor)
        before = service.store.size()
        with pytest.raises(NotAuthorizedError) as caught:
            service.handle(d.ApproveDocument(doc_id="QP-01"), "bob", session=bea)
        assert "cannot sign for bob" in str(caught.value)
        with pytest.raises(NotAuthorizedError):
            service.handle_many(
                [BatchItem(d.ApproveDocument(doc_id="QP-01"), "bob", session=bea)]
            )
        assert service.store.size() == before

    def test_a_closed_session_signs_nothing(self, service: Service) -> None:
        session = service.signing_session("bob", secret("bob"))
        session.close()
        for command, actor in lifecycle(service.store, "QP-01")[:3]:
            service.handle(command, actor)
        with pytest.raises(NotAuthorizedError):
            service.handle(d.ApproveDocument(doc_id="QP-01"), "bob", session=session)
        assert session.closed

    def test_a_reset_password_ends_the_session_s_key(self, service: Service) -> None:
        session = service.signing_session("bob", secret("bob"))
        service.handle(
            us.ResetPassword(user_id="bob", temporary_password="temporary-2"), "root"
        )
        for command, actor in lifecycle(service.store, "QP-01")[:3]:
            service.handle(command, actor)
        with pytest.raises(NotAuthorizedError):
            service.handle(d.ApproveDocument(doc_id="QP-01"), "bob", session=session)

    def test_is_never_stored_or_shown(self, service: Service) -> None:
        session = service.signing_session("bob", secret("bob"))
        with pytest.raises(TypeError):
            session.__reduce_ex__(2)  # what pickling asks for
        assert "bob" in repr(session)
        assert "sign" not in repr(session).replace("SigningSession", "")
