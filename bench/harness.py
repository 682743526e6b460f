"""What every benchmark shares: run sizes, the payload, timing, and throwaway databases.

Holds no product logic: the ledger and eventsourcing measurements live in their own
modules and only take their inputs from here, so both sides see the same payloads,
counts and database server.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from ledger.integrity.canonical import JSONValue

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Sizes of one benchmark run; `quick()` and `full()` are the two presets."""

    quick: bool
    single_count: int  # single-event appends per timed repeat
    single_warmup: int
    batch_count: int  # batches per timed repeat
    batch_warmup: int
    batch_size: int = 1000
    repeats: int = 3
    verify_repeats: int = 3
    streams: int = 10  # streams the appends rotate through (expected versions kept)
    verify_n: int  # events verified
    proof_size: int  # events in the ledger the proofs are served from
    proof_samples: int = 200
    ed25519_count: int
    workdir: Path
    server_url: str

    @classmethod
    def full(cls, workdir: Path, server_url: str) -> Config:
        """Return the preset of the full run (about five minutes on two cores)."""
        verify_n = int(os.environ.get("QMS_BENCH_N", "50000"))
        return cls(
            quick=False,
            single_count=2000,
            single_warmup=200,
            batch_count=20,
            batch_warmup=2,
            verify_n=verify_n,
            proof_size=max(100_000, verify_n),
            ed25519_count=20_000,
            workdir=workdir,
            server_url=server_url,
        )

    @classmethod
    def quick_run(cls, workdir: Path, server_url: str) -> Config:
        """Return the preset of `--quick` (about one minute)."""
        verify_n = int(os.environ.get("QMS_BENCH_N", "10000"))
        return cls(
            quick=True,
            single_count=500,
            single_warmup=50,
            batch_count=5,
            batch_warmup=1,
            verify_n=verify_n,
            proof_size=max(20_000, verify_n),
            proof_samples=100,
            verify_repeats=1,
            ed25519_count=5000,
            workdir=workdir,
            server_url=server_url,
        )


class Appender(Protocol):
    """One side of an append comparison: the ledger or eventsourcing on one database."""

    name: str

    def single(self, count: int) -> None:
        """Append `count` events, one transaction each."""

    def batches(self, count: int, size: int) -> None:
        """Append `count` transactions of `size` events each."""

    def close(self) -> None:
        """Release the database connections."""


@dataclass(frozen=True, slots=True)
class Sample:
    """Repeated measurements of one quantity, e.g. events/s of three runs."""

    values: tuple[float, ...]
    unit: str

    @property
    def median(self) -> float:
        """The median of the repeats."""
        return statistics.median(self.values)

    def to_json(self) -> dict[str, object]:
        """Return the sample for the JSON report."""
        return {"median": self.median, "values": list(self.values), "unit": self.unit}


@dataclass(slots=True)
class Results:
    """Measurements by key (e.g. "single.sqlite.ours"); what was skipped and why."""

    samples: dict[str, Sample] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # milliseconds
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, sample: Sample) -> None:
        """Record a measurement and show it at once (a long run shows progress)."""
        self.samples[key] = sample
        values = ", ".join(f"{v:,.1f}" for v in sample.values)
        print(
            f"  {key:<34} {sample.median:>12,.1f} {sample.unit}  [{values}]", flush=True
        )

    def add_latencies(self, key: str, values: list[float]) -> None:
        """Record per-call latencies in milliseconds and show their percentiles."""
        self.latencies[key] = values
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(
            f"  {key:<34} p50 {p50:.3f} ms  p95 {p95:.3f} ms  max {max(values):.3f} ms",
            flush=True,
        )

    def skip(self, prefix: str, reason: str) -> None:
        """Record that the measurements under `prefix` did not run."""
        self.skipped[prefix] = reason
        print(f"  {prefix:<34} skipped: {reason}", flush=True)

    def get(self, key: str) -> Sample | None:
        """Return the measurement, or None when it was skipped."""
        return self.samples.get(key)


def elapsed(action: Callable[[], object]) -> float:
    """Return the wall-clock seconds `action()` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile (`fraction` in 0..1) of `values`."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


# A finding as an auditor records it: about 300 bytes of JSON, varied per event so no
# layer can profit from repeated identical values.
_TITLES = (
    "Calibration record missing for torque wrench TW-114",
    "Superseded revision of QP-07 still posted at the service desk",
    "Customer complaint 2026-118 closed without a root-cause analysis",
    "Supplier evaluation for 2025 not signed by the purchasing manager",
)


def payload(i: int) -> dict[str, JSONValue]:
    """Return the data of a realistic event (a finding raised): ~300 bytes of JSON."""
    return {
        "finding_id": f"2026-{i:06d}",
        "title": _TITLES[i % len(_TITLES)],
        "classification": "minor_nonconformity" if i % 3 else "observation",
        "source": "internal_audit",
        "audit_id": f"IA-2026-{i % 97:03d}",
        "criterion": "ISO 9001:2015 7.1.5.2",
        "unit": f"bureau-{i % 40:02d}/maintenance",
        "due_date": "2026-03-31",
        "severity": i % 5,
        "evidence_count": 2,
    }


def payload_bytes(i: int) -> bytes:
    """Return `payload(i)` as the compact JSON both stores receive."""
    return json.dumps(payload(i), separators=(",", ":"), sort_keys=True).encode()


class PostgresServer:
    """A PostgreSQL server on which each benchmark gets its own fresh database."""

    def __init__(self, url: str) -> None:
        self.url: URL = make_url(url)
        self._admin = sa.create_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )

    def unreachable_reason(self) -> str | None:
        """Return why the server cannot be used, or None when it answers."""
        try:
            with self._admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            text = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc)
            first_line = (
                text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            )
            return f"PostgreSQL unreachable at {self.display()}: {first_line}"
        return None

    def display(self) -> str:
        """Return the server URL without a password."""
        return self.url.render_as_string(hide_password=True)

    def settings(self) -> dict[str, str]:
        """Return the server settings that decide commit cost."""
        names = ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
        with self._admin.connect() as conn:
            return {n: str(conn.execute(sa.text(f"SHOW {n}")).scalar()) for n in names}

    @contextmanager
    def fresh_database(self, prefix: str) -> Iterator[URL]:
        """Create an empty database, yield its URL, and drop it afterwards."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield self.url.set(database=name)
        finally:
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def dispose(self) -> None:
        """Close the administrative connection pool."""
        self._admin.dispose()
