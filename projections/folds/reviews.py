"""Management reviews projection: each review with pinned inputs, decisions, actions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch
from projections.folds.fields import record_id, text
from projections.tables import reviews


class ReviewsProjection:
    """Folds `review/*` events into `proj_reviews`."""

    name = "reviews"
    kind = "review"

    @property
    def tables(self) -> Sequence[Table]:
        return (reviews,)

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        if event.type != "review.held":
            return
        data = event.data
        batch.put(
            reviews,
            (record_id(event),),
            event.seq,
            {
                "unit": text(data, "unit"),
                "held_on": text(data, "held_on"),
                "held_by": event.actor,
                "attendees": text(data, "attendees"),
                "inputs": text(data, "inputs"),
                "decisions": text(data, "decisions"),
                "actions": text(data, "actions"),
            },
        )
