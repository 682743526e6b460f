"""The demo's sizes, its seeded random numbers, its calendar and its passwords."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ledger.domain import add_months
from ledger.errors import EventRejectedError

LAST_DAY = date(2026, 10, 31)


@dataclass(frozen=True, slots=True)
class Scale:
    """How much the demo records (the story is the same at every scale)."""

    bureaus: int
    months: int
    start_docs: int  # controlled documents per bureau at the start
    new_docs_per_year: int  # further documents per bureau and year
    findings_per_month: int  # findings per bureau and month outside audits
    audit_findings: int  # most findings one internal audit raises


SIZES: dict[str, Scale] = {
    "tiny": Scale(
        bureaus=6,
        months=8,
        start_docs=2,
        new_docs_per_year=2,
        findings_per_month=0,
        audit_findings=3,
    ),
    "small": Scale(
        bureaus=6,
        months=24,
        start_docs=4,
        new_docs_per_year=8,
        findings_per_month=2,
        audit_findings=4,
    ),
    "large": Scale(
        bureaus=320,
        months=120,
        start_docs=6,
        new_docs_per_year=8,
        findings_per_month=2,
        audit_findings=5,
    ),
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo recorded."""

    seed: int
    size: str
    first_day: date
    last_day: date
    events: int  # events the demo appended
    ledger_size: int
    units: int
    users: int
    documents: int
    audits: int
    findings: int
    indicators: int
    reviews: int
    signatures: int
    admin: str


class DemoRandom:
    """A small deterministic generator (splitmix64) for reproducible demos."""

    _MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        digest = hashlib.sha256(f"qms-demo:{seed}".encode()).digest()
        self.state = int.from_bytes(digest[:8], "big")

    def next(self) -> int:
        """Return the next 64-bit value."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & self._MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._MASK
        return z ^ (z >> 31)

    def between(self, low: int, high: int) -> int:
        """Return an integer in [low, high]."""
        return low + self.next() % (high - low + 1)

    def percent(self, chance: int) -> bool:
        """Return True with a chance of `chance` percent."""
        return self.next() % 100 < chance

    def pick(self, items: Sequence[str]) -> str:
        """Return one of `items`."""
        return items[self.next() % len(items)]


# The scrypt cost of the demo's passwords and sealed keys. Every demo password is
# public (`demo_password`, printed by `qms demo`), so a costly derivation would
# protect nothing; production keeps `ledger.integrity.signing.SCRYPT_N`, and a
# password a person sets later in the demo ledger is hashed at the server's cost.
DEMO_SCRYPT_N = 2**10


def demo_password(user_id: str, seed: int = 1) -> str:
    """Return the demo password of `user_id` (seed 1: `demo-<user_id>`)."""
    return f"demo-{user_id}" if seed == 1 else f"demo-{seed}-{user_id}"


def demo_start(size: str = "small", *, scale: Scale | None = None) -> datetime:
    """Return the moment the demo of `size` starts (for a FixedClock made beforehand).

    Raises:
        EventRejectedError: `size` is unknown.
    """
    scale = scale or scale_of(size)
    first = add_months(LAST_DAY + timedelta(days=1), -scale.months)
    return datetime.combine(first, time(8), UTC)


def scale_of(size: str) -> Scale:
    """Return the preset scale called `size`.

    Raises:
        EventRejectedError: `size` is unknown.
    """
    scale = SIZES.get(size)
    if scale is None:
        message = f"size must be one of {', '.join(SIZES)}"
        raise EventRejectedError(message, {"size": [message]})
    return scale
