"""Audits projection: internal audits from plan to report and closure, versioned."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch
from projections.folds.fields import record_id, text
from projections.tables import audits


class AuditsProjection:
    """Folds `audit/*` events into `proj_audits`."""

    name = "audits"
    kind = "audit"

    @property
    def tables(self) -> Sequence[Table]:
        return (audits,)

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        aid, data, seq, etype = record_id(event), event.data, event.seq, event.type
        key = (aid,)
        if etype == "audit.planned":
            batch.put(
                audits,
                key,
                seq,
                {
                    "programme": text(data, "programme"),
                    "unit": text(data, "unit"),
                    "scope": text(data, "scope"),
                    "criteria": text(data, "criteria"),
                    "lead_auditor": text(data, "lead_auditor"),
                    "team": text(data, "team"),
                    "planned_start": text(data, "planned_start"),
                    "planned_end": text(data, "planned_end"),
                    "status": "planned",
                },
            )
        elif etype == "audit.started":
            batch.update(
                audits,
                key,
                seq,
                status="in_progress",
                started_on=text(data, "started_on"),
            )
        elif etype == "audit.reported":
            batch.update(
                audits,
                key,
                seq,
                status="reported",
                summary=text(data, "summary"),
                findings=text(data, "findings"),
                reported_by=event.actor,
                esig=text(data, "esig"),
            )
        elif etype == "audit.closed":
            batch.update(
                audits, key, seq, status="closed", closed_on=text(data, "closed_on")
            )
        elif etype == "audit.cancelled":
            batch.update(
                audits,
                key,
                seq,
                status="cancelled",
                cancelled_reason=text(data, "reason"),
            )
