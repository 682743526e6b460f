"""The Projection protocol: one read model, the stream kind it folds and the tables it owns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch


class Projection(Protocol):
    """One read model: the stream kind it folds and the tables it owns."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str:
        """The stream kind (`document`, `finding`, ...) whose events it folds."""
        ...

    @property
    def tables(self) -> Sequence[Table]:
        """Its tables; the first key column of each is the record id of the stream."""
        ...

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        """Fold one event into row versions through `batch`."""
        ...
