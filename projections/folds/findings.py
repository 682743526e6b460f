"""Findings projection: findings with their corrective actions, versioned.

Status follows docs/events.md: an ineffective verification and a reopening send the
finding back to `cause_analysed`; all planned actions completed gives `actions_done`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch
from projections.folds.fields import day_of, record_id, text
from projections.tables import finding_actions, findings


class FindingsProjection:
    """Folds `finding/*` events into `proj_findings` and `proj_finding_actions`."""

    name = "findings"
    kind = "finding"

    @property
    def tables(self) -> Sequence[Table]:
        return (findings, finding_actions)

    def apply(
        self, batch: Batch, event: RecordedEvent
    ) -> None:  # one branch per event type
        fid, data, seq, etype = record_id(event), event.data, event.seq, event.type
        key = (fid,)
        if etype == "finding.raised":
            batch.put(
                findings,
                key,
                seq,
                {
                    "unit": text(data, "unit"),
                    "source": text(data, "source"),
                    "classification": text(data, "classification"),
                    "criterion": text(data, "criterion"),
                    "description": text(data, "description"),
                    "evidence": text(data, "evidence"),
                    "due_on": text(data, "due_on"),
                    "audit": text(data, "audit"),
                    "status": "raised",
                    "raised_by": event.actor,
                    "raised_on": day_of(event.occurred_at),
                    "raised_at": event.occurred_at,
                    "reopened_count": 0,
                },
            )
        elif etype == "finding.contained":
            batch.update(
                findings, key, seq, status="contained", containment=text(data, "action")
            )
        elif etype == "finding.cause_analysed":
            batch.update(
                findings,
                key,
                seq,
                status="cause_analysed",
                cause=text(data, "cause"),
                cause_method=text(data, "method"),
            )
        elif etype == "finding.actions_planned":
            actions = data.get("actions")
            for action in actions if isinstance(actions, list) else []:
                if not isinstance(action, Mapping):
                    continue
                batch.put(
                    finding_actions,
                    (fid, text(action, "action_id") or ""),
                    seq,
                    {
                        "description": text(action, "description"),
                        "owner": text(action, "owner"),
                        "due_on": text(action, "due_on"),
                        "status": "planned",
                    },
                )
            batch.update(findings, key, seq, status="actions_planned")
        elif etype == "finding.action_completed":
            batch.update(
                finding_actions,
                (fid, text(data, "action_id") or ""),
                seq,
                status="done",
                completed_on=day_of(event.occurred_at),
                completed_at=event.occurred_at,
                completed_by=event.actor,
                evidence=text(data, "evidence"),
                note=text(data, "note"),
            )
            if all(a["status"] == "done" for a in batch.children(finding_actions, fid)):
                batch.update(findings, key, seq, status="actions_done")
        elif etype == "finding.due_date_changed":
            new = data.get("new")
            due = text(new, "due_on") if isinstance(new, Mapping) else None
            batch.update(findings, key, seq, due_on=due)
        elif etype == "finding.verified":
            effective = data.get("effective") is True
            batch.update(
                findings,
                key,
                seq,
                status="verified" if effective else "cause_analysed",
                verified_effective=effective,
                verification_comment=text(data, "comment"),
                verified_by=event.actor,
            )
        elif etype == "finding.closed":
            closed_on = text(data, "closed_on")
            current = batch.get(findings, fid)
            raised_on = current["raised_on"] if current is not None else None
            batch.update(
                findings,
                key,
                seq,
                status="closed",
                closed_on=closed_on,
                days_to_close=_days_between(raised_on, closed_on),
            )
        elif etype == "finding.reopened":
            current = batch.get(findings, fid)
            count = current["reopened_count"] if current is not None else 0
            batch.update(
                findings,
                key,
                seq,
                status="cause_analysed",
                closed_on=None,
                days_to_close=None,
                verified_effective=None,
                reopened_count=(count if isinstance(count, int) else 0) + 1,
            )


def _days_between(start: object, end: object) -> int | None:
    """Return the days from date `start` to date `end` (None unless both are dates)."""
    try:
        return (date.fromisoformat(str(end)) - date.fromisoformat(str(start))).days
    except ValueError:
        return None
