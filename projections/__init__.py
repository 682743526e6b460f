"""qms-ledger read side: projections rebuilt from the ledger, queries and reports."""

from __future__ import annotations
