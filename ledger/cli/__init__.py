"""The ledger's own `qms` commands and their runner (`commands.py`); how a command opens the ledger (`context.py`)."""

from __future__ import annotations

from ledger.cli.commands import init, ledger_group, run
from ledger.cli.context import (
    LedgerContext,
    Refused,
    check_origin,
    ensure_service_key,
    make_instance_folder,
    pass_ctx,
    refuse_missing_key,
    restrict_sqlite_file,
)

__all__ = [
    "LedgerContext",
    "Refused",
    "check_origin",
    "ensure_service_key",
    "init",
    "ledger_group",
    "make_instance_folder",
    "pass_ctx",
    "refuse_missing_key",
    "restrict_sqlite_file",
    "run",
]
