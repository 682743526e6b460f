"""A person's sign-offs: every e-signature they made, on whichever record.

Read through the event store's own reads (`read`), the events up to the ledger
position known at `as_of`; an event carries an e-signature in its `esig` member,
whose `signer` names the person.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ledger.integrity.envelope import RecordedEvent
from projections.as_of import LedgerClock, position
from projections.queries.rows import text_of


class EventReader(LedgerClock, Protocol):
    """What the sign-offs need of the event store: n(T), its size, the events in order."""

    def size(self) -> int: ...

    def read(
        self, from_seq: int = 1, to_seq: int | None = None, *, batch: int = 2000
    ) -> Iterator[RecordedEvent]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SignOffView:
    """One e-signature of the person: the record, what the signature meant, when."""

    seq: int
    stream: str
    version: int
    type: str
    meaning: str
    name: str  # the printed name the signature carries
    signed_at: str


def signoffs(
    ledger: EventReader, user_id: str, *, as_of: datetime | None = None
) -> tuple[SignOffView, ...]:
    """Return every e-signature `user_id` made as known at `as_of`, newest first."""
    n = position(ledger, as_of)
    last = ledger.size() if n is None else n
    if last < 1:
        return ()
    found = []
    for event in ledger.read(1, last):
        esig = event.data.get("esig")
        if not isinstance(esig, Mapping) or esig.get("signer") != user_id:
            continue
        found.append(
            SignOffView(
                seq=event.seq,
                stream=event.stream,
                version=event.version,
                type=event.type,
                meaning=text_of(esig.get("meaning")),
                name=text_of(esig.get("name")),
                signed_at=text_of(esig.get("signed_at")),
            )
        )
    return tuple(reversed(found))
