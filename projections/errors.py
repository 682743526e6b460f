"""Errors the read side raises on purpose. Imports only the ledger's base error."""

from __future__ import annotations

from ledger.errors import LedgerError


class ProjectionError(LedgerError):
    """Base for every error the read side raises on purpose."""


class RecordNotFoundError(ProjectionError):
    """The named record does not exist as known at the requested moment."""
