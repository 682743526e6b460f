"""The write service: `Service.handle(command, actor)` records QMS actions.

The face of the package; the parts live in its modules: `service` (the pipeline),
`decide` (its steps), `directory` (units, users and roles for authorization),
`batch` (many commands in few transactions), `people` (the first administrator,
enrolment keys, passwords) and `vault` (sealed e-signature keys, credentials).
Other packages import from here.
"""

from __future__ import annotations

from ledger.service.batch import BATCH_EVENTS, BatchItem, CommandBatch
from ledger.service.directory import Directory, UnitEntry, UserEntry
from ledger.service.service import Service
from ledger.service.vault import SigningSession

__all__ = [
    "BATCH_EVENTS",
    "BatchItem",
    "CommandBatch",
    "Directory",
    "Service",
    "SigningSession",
    "UnitEntry",
    "UserEntry",
]
