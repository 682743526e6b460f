"""qms-ledger web UI, JSON API and the `qms` command entry point."""

from __future__ import annotations
