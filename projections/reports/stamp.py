"""The ledger stamp of a report: what it needs of the store, and the checkpoint of its size.

A size no key in force can sign any more, after a key rotation, is stamped with the
checkpoint that sealed that key's epoch and a consistency proof from the size to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ledger.errors import KeyMaterialError
from ledger.integrity.canonical import JSONValue


class LedgerKeyEntry(Protocol):
    """What the report reads of a registered key (structurally: `KeyRecord`)."""

    @property
    def purpose(self) -> str: ...

    @property
    def registered_seq(self) -> int: ...


class ReportLedger(Protocol):
    """What the report needs of the store (structurally: `ledger.store.EventStore`)."""

    origin: str

    def size(self) -> int: ...

    def size_at(self, moment: datetime) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...

    def checkpoint(self, size: int | None = None) -> str: ...

    def checkpoint_for(self, size: int) -> str | None: ...

    def checkpoints(self) -> list[tuple[int, str]]: ...

    def consistency_proof(
        self, size1: int, size2: int | None = None
    ) -> list[bytes]: ...

    def key_records(self) -> Sequence[LedgerKeyEntry]: ...


def checkpoint_of(ledger: ReportLedger, n: int) -> str | None:
    """Return the signed checkpoint of size n: the stored one, else one signed now.

    The store signs and keeps it, so a report regenerated later carries the same
    bytes. After a key rotation an earlier size can no longer be signed; the report
    then carries no checkpoint of its own size, and the root it states is checked
    against a later checkpoint with a consistency proof (`qms prove consistency`).
    """
    stored = ledger.checkpoint_for(n)
    if stored is not None:
        return stored
    try:
        return ledger.checkpoint(n)
    except KeyMaterialError:
        return None


def covering_checkpoint(ledger: ReportLedger, n: int) -> dict[str, JSONValue] | None:
    """Return the checkpoint that sealed the key epoch holding size n, with a proof.

    Only for a size n that has no checkpoint of its own and can no longer get one:
    the ledger keys in force after n were all replaced. Let r be the first
    registration of a `ledger` key after event n; that key signs checkpoints of
    size r and up, so sizes n..r-1 could be signed only by the keys before it,
    whose last checkpoint, of size r-1, `EventStore.rotate_ledger_key` stores
    before the rotation's events. The choice is the largest stored checkpoint of a
    size in n..r-1: nobody can sign a new one in that range any more, so the same
    checkpoint is chosen whenever the report is regenerated. Returns
    `{"note", "consistency_proof"}` (the RFC 9162 proof from n to the note's size,
    hex), or None when there is no such key registration or stored checkpoint.
    """
    later = [
        key.registered_seq
        for key in ledger.key_records()
        if key.purpose == "ledger" and key.registered_seq > n
    ]
    if not later:
        return None
    end = min(later) - 1
    sealed = [(size, note) for size, note in ledger.checkpoints() if n <= size <= end]
    if not sealed:
        return None
    size, note = max(sealed)
    proof = ledger.consistency_proof(n, size)
    return {"note": note, "consistency_proof": [h.hex() for h in proof]}
