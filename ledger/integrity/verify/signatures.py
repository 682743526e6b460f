"""Event signature checks in batches (the partial export's), and when workers pay.

The whole-ledger walk checks signatures with its chunks (`chunks`); once a ledger is
large enough to repay starting them, those chunks go to worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

POOL_AFTER = 4096
"""Events seen before worker processes are worth starting."""

_worker_keys: dict[bytes, Ed25519PublicKey] = {}


def check_batch(
    items: Sequence[tuple[int, bytes, bytes, bytes]],
) -> tuple[int, bytes] | None:
    """Return the first (seq, key) in `items` whose signature fails (runs in a worker)."""
    for seq, public, message, sig in items:
        key = _worker_keys.get(public)
        if key is None:
            key = _worker_keys[public] = Ed25519PublicKey.from_public_bytes(public)
        try:
            key.verify(sig, message)
        except InvalidSignature:
            return seq, public
    return None
