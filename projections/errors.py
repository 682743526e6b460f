"""Errors the read side raises on purpose. Imports only the ledger's base error."""

from __future__ import annotations

from ledger.errors import LedgerError


class ProjectionError(LedgerError):
    """Base for every error the read side raises on purpose."""


class RecordNotFoundError(ProjectionError):
    """The named record does not exist as known at the requested moment."""


class RegisterRequestError(ProjectionError):
    """A register page was asked for with a value it cannot take (a page, a sort).

    `field` names the request's member that is wrong, for the form that sent it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
