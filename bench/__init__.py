"""Benchmarks of the ledger's append, verification and proof paths (`python -m bench`).

Not part of the installed package; run from a checkout with the `bench` extra installed.
"""

from __future__ import annotations
