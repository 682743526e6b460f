"""The ledger origin the test stores and their checkpoints name."""

from __future__ import annotations

ORIGIN = "qms.test/ledger"
