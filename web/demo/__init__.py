"""A reproducible demonstration ledger, recorded through the real write service.

`fill_demo` fills an empty ledger (only the genesis event and, optionally, the
first administrator) with two years of QMS records ending 2026-10-31: a
headquarters and bureaus with Chinese and English names, about thirty people in
every role, controlled documents with approvals and revisions, internal audits,
findings with corrective actions, monthly indicators and yearly management
reviews. Every record goes through `Service.handle`, so every rule, permission and
e-signature of the product is exercised; the same seed gives the same records.

Time is driven by a `FixedClock` shared with the service and the store: it moves
day by day, so `recorded_at` follows the story and `occurred_at` is the same day.
The demo passwords are `demo_password(user_id, seed)`; being public, they are
hashed (and the e-signature keys sealed) at the cheap cost `DEMO_SCRYPT_N`.
"""

from __future__ import annotations

from web.demo.fill import fill_demo
from web.demo.scale import (
    DEMO_SCRYPT_N,
    SIZES,
    DemoRandom,
    DemoSummary,
    Scale,
    demo_password,
    demo_start,
)

__all__ = [
    "DEMO_SCRYPT_N",
    "SIZES",
    "DemoRandom",
    "DemoSummary",
    "Scale",
    "demo_password",
    "demo_start",
    "fill_demo",
]
