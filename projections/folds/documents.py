"""Documents projection: each controlled document and all its revisions, versioned.

A document's status is "effective" while one of its revisions is effective, else the
status of its latest revision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch, Row
from projections.folds.fields import (
    day_of,
    integer,
    items,
    obj,
    record_id,
    text,
    to_json,
)
from projections.tables import document_revisions, documents


class DocumentsProjection:
    """Folds `document/*` events into `proj_documents` and `proj_document_revisions`."""

    name = "documents"
    kind = "document"

    @property
    def tables(self) -> Sequence[Table]:
        return (documents, document_revisions)

    def apply(
        self, batch: Batch, event: RecordedEvent
    ) -> None:  # one branch per event type
        doc_id, data, seq, etype = record_id(event), event.data, event.seq, event.type
        if etype == "document.retention_changed":
            years = integer(obj(data, "new"), "retention_years")
            batch.update(documents, (doc_id,), seq, retention_years=years)
            return
        revision = text(data, "revision") or ""
        key = (doc_id, revision)
        if etype == "document.drafted":
            batch.put(
                document_revisions,
                key,
                seq,
                {
                    "unit": text(data, "unit"),
                    "title": text(data, "title"),
                    "kind": text(data, "kind"),
                    "status": "drafted",
                    "content": text(data, "content"),
                    "author": event.actor,
                    "drafted_at": day_of(event.occurred_at),
                    "review_interval_months": integer(data, "review_interval_months"),
                    "retention_years": integer(data, "retention_years"),
                    "distributed_to": "[]",
                },
            )
            current = batch.get(documents, doc_id)
            base: Row = dict(current) if current is not None else {}
            base.update(
                unit=text(data, "unit"),
                title=text(data, "title"),
                kind=text(data, "kind"),
                latest_revision=revision,
                review_interval_months=integer(data, "review_interval_months"),
                retention_years=integer(data, "retention_years"),
            )
            batch.put(documents, (doc_id,), seq, base)
        elif etype == "document.draft_updated":
            new = obj(data, "new")
            changes: dict[str, object] = {"status": "drafted"}
            if "title" in new:
                changes["title"] = text(new, "title")
            if "content" in new:
                changes["content"] = text(new, "content")
            batch.update(document_revisions, key, seq, **changes)
            if "title" in new:
                doc = batch.get(documents, doc_id)
                if doc is not None and doc["latest_revision"] == revision:
                    batch.update(documents, (doc_id,), seq, title=text(new, "title"))
        elif etype == "document.submitted":
            batch.update(document_revisions, key, seq, status="submitted")
        elif etype == "document.reviewed":
            outcome = text(data, "outcome")
            batch.update(
                document_revisions,
                key,
                seq,
                status=outcome,
                review_outcome=outcome,
                review_comment=text(data, "comment"),
                reviewed_by=event.actor,
            )
        elif etype == "document.approved":
            batch.update(
                document_revisions,
                key,
                seq,
                status="approved",
                approved_by=event.actor,
                approved_at=event.recorded_at,
                content_sha256=text(data, "content_sha256"),
                esig=text(data, "esig"),
            )
        elif etype == "document.became_effective":
            batch.update(
                document_revisions,
                key,
                seq,
                status="effective",
                effective_on=text(data, "effective_on"),
                next_review_due=text(data, "next_review_due"),
                supersedes=text(data, "supersedes"),
            )
            old = text(data, "supersedes")
            if old and batch.get(document_revisions, doc_id, old) is not None:
                batch.update(
                    document_revisions,
                    (doc_id, old),
                    seq,
                    status="superseded",
                    superseded_by=revision,
                )
            batch.update(
                documents,
                (doc_id,),
                seq,
                effective_revision=revision,
                next_review_due=text(data, "next_review_due"),
            )
        elif etype == "document.superseded":
            batch.update(
                document_revisions,
                key,
                seq,
                status="superseded",
                superseded_by=text(data, "by_revision"),
            )
            doc = batch.get(documents, doc_id)
            if doc is not None and doc["effective_revision"] == revision:
                batch.update(
                    documents,
                    (doc_id,),
                    seq,
                    effective_revision=None,
                    next_review_due=None,
                )
        elif etype == "document.withdrawn":
            batch.update(
                document_revisions,
                key,
                seq,
                status="withdrawn",
                withdrawn_reason=text(data, "reason"),
            )
            doc = batch.get(documents, doc_id)
            if doc is not None and doc["effective_revision"] == revision:
                batch.update(
                    documents,
                    (doc_id,),
                    seq,
                    effective_revision=None,
                    next_review_due=None,
                )
        elif etype == "document.distributed":
            rev = batch.get(document_revisions, *key)
            already = set(_units(rev))
            already.update(u for u in items(data, "units") if isinstance(u, str))
            batch.update(
                document_revisions, key, seq, distributed_to=to_json(sorted(already))
            )
        elif etype == "document.review_completed":
            due = text(obj(data, "new"), "next_review_due")
            batch.update(document_revisions, key, seq, next_review_due=due)
            doc = batch.get(documents, doc_id)
            if doc is not None and doc["effective_revision"] == revision:
                batch.update(documents, (doc_id,), seq, next_review_due=due)
        else:
            return
        _refresh_status(batch, doc_id, seq)


def _units(rev: Row | None) -> list[str]:
    if rev is None or not isinstance(rev["distributed_to"], str):
        return []
    loaded = json.loads(rev["distributed_to"])
    return [u for u in loaded if isinstance(u, str)]


def _refresh_status(batch: Batch, doc_id: str, seq: int) -> None:
    doc = batch.get(documents, doc_id)
    if doc is None:
        return
    if doc["effective_revision"]:
        status = "effective"
    else:
        latest = batch.get(document_revisions, doc_id, str(doc["latest_revision"]))
        status = str(latest["status"]) if latest is not None else "drafted"
    batch.update(documents, (doc_id,), seq, status=status)
