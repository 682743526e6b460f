"""Errors the ledger raises on purpose. Imports nothing else from the project."""

from __future__ import annotations

from collections.abc import Mapping


class LedgerError(Exception):
    """Base for every error the ledger raises on purpose."""


class ConfigError(LedgerError):
    """A setting is malformed or missing; the message names it."""


class EventRejectedError(LedgerError):
    """Input or a business rule failed; the caller can fix the input.

    `messages` maps a field name to what is wrong with it.
    """

    def __init__(
        self, message: str, messages: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.messages: dict[str, object] = dict(messages or {})


class NotAuthorizedError(LedgerError):
    """The actor may not do this."""


class NotFoundError(LedgerError):
    """The named record, event or key does not exist."""


class ConcurrencyError(LedgerError):
    """A stream moved since it was read; reload and retry."""


class StorageError(LedgerError):
    """The database failed; wraps the driver error."""


class KeyMaterialError(LedgerError):
    """A key cannot be loaded, decrypted or used."""


class VerificationError(LedgerError):
    """The record does not verify. Never retried or hidden.

    `seq` is the first event that fails, or 0 for a failure that belongs to no
    single event (checkpoint, proofs, blobs).
    """

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"event {seq}: {reason}")
        self.seq = seq
        self.reason = reason
