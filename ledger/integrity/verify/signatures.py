"""Event signature checks in batches (the partial export's), and when workers pay.

The whole-ledger walk checks signatures with its chunks (`chunks`); once a ledger is
large enough to repay starting them, those chunks go to worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.integrity.ed25519 import verifies

POOL_AFTER = 4096
"""Events seen before worker processes are worth starting."""


def check_batch(
    items: Sequence[tuple[int, bytes, bytes, bytes]],
) -> tuple[int, bytes] | None:
    """Return the first (seq, key) in `items` whose signature fails (runs in a worker)."""
    for seq, public, message, sig in items:
        if not verifies(public, message=message, signature=sig):
            return seq, public
    return None
