"""qms-ledger write side: the integrity core, storage, the QMS record rules.

Importing this package stays light (no database driver, no web framework), because
the offline verifier runs it first.
"""

from __future__ import annotations

from ledger.errors import (
    ConcurrencyError,
    EventRejectedError,
    LedgerError,
    NotAuthorizedError,
    NotFoundError,
    StorageError,
    VerificationError,
)

__all__ = [
    "ConcurrencyError",
    "EventRejectedError",
    "LedgerError",
    "NotAuthorizedError",
    "NotFoundError",
    "StorageError",
    "VerificationError",
]
