"""Units projection: the unit tree (headquarters, bureaus, departments), versioned."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch
from projections.folds.fields import obj, record_id, text
from projections.tables import units


class UnitsProjection:
    """Folds `unit/*` events into `proj_units`."""

    name = "units"
    kind = "unit"

    @property
    def tables(self) -> Sequence[Table]:
        return (units,)

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        code, data, seq = record_id(event), event.data, event.seq
        if event.type == "unit.created":
            batch.put(
                units,
                (code,),
                seq,
                {
                    "name_zh": text(data, "name_zh"),
                    "name_en": text(data, "name_en"),
                    "kind": text(data, "kind"),
                    "parent": text(data, "parent"),
                    "closed": False,
                },
            )
        elif event.type == "unit.renamed":
            new = obj(data, "new")
            changes = {k: text(new, k) for k in ("name_zh", "name_en") if k in new}
            batch.update(units, (code,), seq, **changes)
        elif event.type == "unit.closed":
            batch.update(
                units, (code,), seq, closed=True, closed_reason=text(data, "reason")
            )
