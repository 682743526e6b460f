"""Attachments must be stored, with the size they name, on both dialects.

A record naming a blob that was never uploaded, was disposed of or has another size
is refused by `Service.handle` and by a batch, and nothing is stored.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.domain import findings as f
from ledger.errors import EventRejectedError
from ledger.service import BatchItem, Service
from ledger.store import EventStore
from tests.support.service import (
    blob,
    build_service,
    draft,
    refused,
)


@pytest.fixture
def service(store: EventStore, clock: FixedClock) -> Service:
    """HQ, bureaus B1 and B2, and one person per role with their own passwords."""
    return build_service(store, clock)


def missing_ref(size: int = 5) -> dict[str, Any]:
    return {
        "blob": hashlib.sha256(b"never uploaded").hexdigest(),
        "size": size,
        "name": "ghost.pdf",
        "media_type": "application/pdf",
    }


class TestAttachmentsMustExist:
    def test_a_draft_naming_a_blob_never_uploaded_is_refused(
        self, service: Service
    ) -> None:
        command = d.DraftDocument(
            doc_id="QP-07",
            unit="B1",
            title="Control of records",
            kind="procedure",
            content=missing_ref(),
        )
        err = refused(service, EventRejectedError, command, "alice")
        assert isinstance(err, EventRejectedError)
        assert "content" in err.messages
        assert "not stored" in str(err)
        assert service.store.read_stream("document/QP-07") == []

    def test_a_stored_blob_with_another_size_is_refused(self, service: Service) -> None:
        ref = blob(service.store, "rev A")
        command = d.DraftDocument(
            doc_id="QP-07",
            unit="B1",
            title="Control of records",
            kind="procedure",
            content={**ref, "size": int(ref["size"]) + 1},
        )
        err = refused(service, EventRejectedError, command, "alice")
        assert isinstance(err, EventRejectedError)
        assert list(err.messages) == ["content"]
        assert f"has {ref['size']} bytes, not {int(ref['size']) + 1}" in str(err)

    def test_evidence_must_be_stored_and_stored_evidence_passes(
        self, service: Service
    ) -> None:
        store = service.store

        def finding(evidence: list[dict[str, Any]]) -> f.RaiseFinding:
            return f.RaiseFinding(
                finding_id="2026-0050",
                unit="B1",
                source="complaint",
                classification="minor",
                criterion={"clause": "8.2"},
                description="records not controlled",
                evidence=evidence,
                due_on=date(2026, 9, 1),
            )

        err = refused(
            service,
            EventRejectedError,
            finding([blob(store, "photo"), missing_ref()]),
            "mia",
        )
        assert isinstance(err, EventRejectedError)
        assert list(err.messages) == ["evidence"]
        assert "evidence[1]" in str(err)
        (raised,) = service.handle(finding([blob(store, "photo")]), "mia")
        assert raised.type == "finding.raised"

    def test_a_batch_refuses_a_missing_attachment_and_stores_nothing(
        self, service: Service
    ) -> None:
        before = service.store.size()
        good = draft(service.store, "QP-08")
        bad = d.DraftDocument(
            doc_id="QP-09", unit="B1", title="t", kind="form", content=missing_ref()
        )
        items = [BatchItem(good, "alice"), BatchItem(bad, "alice")]
        with pytest.raises(EventRejectedError) as caught:
            service.handle_many(items)
        assert "content" in caught.value.messages
        assert service.store.size() == before

    def test_a_disposed_blob_cannot_be_attached_again(self, service: Service) -> None:
        ref = blob(service.store, "old revision")
        service.store.dispose_blob(
            str(ref["blob"]), "retention period ended", actor="root"
        )
        command = d.DraftDocument(
            doc_id="QP-07", unit="B1", title="t", kind="form", content=ref
        )
        err = refused(service, EventRejectedError, command, "alice")
        assert isinstance(err, EventRejectedError)
        assert "content" in err.messages
