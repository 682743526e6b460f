"""Turns measurements into the comparison table (Markdown) and the JSON report.

Targets and the baselines named in the issue live here, next to the rows they judge.
"""

from __future__ import annotations

import json
import platform
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.harness import Config, Results, percentile

# Baselines the issue measured on its reference machine (events/s, signatures/s).
ISSUE_BASELINES = {
    "single.postgresql.es": 590.0,
    "single.sqlite.es": 1900.0,
    "batch.postgresql.es": 7100.0,
    "batch.sqlite.es": 17500.0,
    "ed25519.verify": 6700.0,
}
VERIFY_TARGET = 10_000.0  # events/s, both cores
DEMO_VERIFY_TARGETS = {2: 15_000.0, 1: 9_000.0}  # qms verify on the large demo
PROOF_TARGET_MS = 5.0


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    metric: str
    ours: str
    eventsourcing: str
    ratio: str
    target: str
    met: str
    baseline_ratio: str = ""  # against the eventsourcing figure the issue names
    baseline_met: str = ""


def _missing(results: Results, key: str) -> str:
    """Say why a measurement is absent: PostgreSQL unreachable, or not selected."""
    if "postgresql" in key and any("postgresql" in k for k in results.skipped):
        return "unreachable"
    return "not run"


def _rate(value: float) -> str:
    return f"{value:,.0f}/s"


def _ratio_row(
    results: Results, metric: str, key: str, es_key: str, target: float | None
) -> Row:
    ours, theirs = results.get(key), results.get(es_key)
    if ours is None or theirs is None:
        why = _missing(results, key if ours is None else es_key)
        return Row(metric, why, why, "", _target_text(target), "")
    ratio = ours.median / theirs.median
    met = "" if target is None else ("yes" if ratio >= target else "NO")
    named = ISSUE_BASELINES.get(es_key)
    base_ratio = "" if named is None else f"{ours.median / named:.2f}x"
    base_met = (
        ""
        if target is None or named is None
        else ("yes" if ours.median / named >= target else "NO")
    )
    return Row(
        metric,
        _rate(ours.median),
        _rate(theirs.median),
        f"{ratio:.2f}x",
        _target_text(target),
        met,
        base_ratio,
        base_met,
    )


def _target_text(target: float | None) -> str:
    return "info" if target is None else f">= {target:.1f}x"


def _verify_row(results: Results, metric: str, key: str, target: float | None) -> Row:
    sample = results.get(key)
    if sample is None:
        return Row(metric, _missing(results, key), "", "", "", "")
    if target is None:
        return Row(metric, _rate(sample.median), "", "", "info", "")
    met = "yes" if sample.median >= target else "NO"
    return Row(metric, _rate(sample.median), "", "", f">= {target:,.0f}/s", met)


def _latency_row(results: Results, metric: str, key: str, target: float | None) -> Row:
    values = results.latencies.get(key)
    if not values:
        return Row(metric, _missing(results, key), "", "", "", "")
    p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
    text = f"p50 {p50:.2f} / p95 {p95:.2f} ms"
    if target is None:
        return Row(metric, text, "", "", "info", "")
    met = "yes" if p95 < target else "NO"
    return Row(metric, text, "", "", f"p95 < {target:.0f} ms", met)


_RATIO_ROWS = (  # metric, our key, eventsourcing key, target ratio (None: info)
    (
        "single append, PostgreSQL",
        "single.postgresql.ours",
        "single.postgresql.es",
        1.2,
    ),
    ("single append, SQLite", "single.sqlite.ours", "single.sqlite.es", 1.0),
    (
        "single append, SQLite (es synchronous=NORMAL: no fsync per commit)",
        "single.sqlite.ours",
        "single.sqlite.es_normal",
        None,
    ),
    ("batch of 1,000, PostgreSQL", "batch.postgresql.ours", "batch.postgresql.es", 0.5),
    ("batch of 1,000, SQLite", "batch.sqlite.ours", "batch.sqlite.es", 0.5),
    (
        "batch of 1,000, SQLite (es synchronous=NORMAL: no fsync per commit)",
        "batch.sqlite.ours",
        "batch.sqlite.es_normal",
        None,
    ),
)
_VERIFY_ROWS = (  # source, key, target events/s (None: info)
    ("SQLite, 2 workers", "verify.sqlite.w2", VERIFY_TARGET),
    ("PostgreSQL, 2 workers", "verify.postgresql.w2", VERIFY_TARGET),
    ("an export, 2 workers", "verify.export.w2", VERIFY_TARGET),
    ("SQLite, 1 worker", "verify.sqlite.w1", None),
    ("PostgreSQL, 1 worker", "verify.postgresql.w1", None),
    ("an export, 1 worker", "verify.export.w1", None),
)


def build_rows(config: Config, results: Results) -> list[Row]:
    """Return the table rows in the order of the issue's speed section."""
    rows = [_ratio_row(results, *spec) for spec in _RATIO_ROWS]
    rows += [
        _verify_row(
            results, f"verify {config.verify_n:,} events from {source}", key, goal
        )
        for source, key, goal in _VERIFY_ROWS
    ]
    rows += [
        _verify_row(
            results,
            f"qms verify, the large demo on SQLite, {workers} worker(s)",
            f"verify.demo.w{workers}",
            goal,
        )
        for workers, goal in DEMO_VERIFY_TARGETS.items()
    ]
    two, one = results.get("verify.export.w2"), results.get("verify.export.w1")
    if two is not None and one is not None:
        gain = f"{two.median / one.median:.2f}x"
        rows.append(
            Row("verification, 2 workers vs 1 (export)", gain, "", "", "info", "")
        )
    big = f"{config.proof_size // 1000}k"
    for dialect, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        key = f"proof.{dialect}"
        rows += [
            _latency_row(
                results, f"inclusion proof at {big}, {label}", f"{key}.inclusion",
                PROOF_TARGET_MS,
            ),
            _latency_row(
                results, f"consistency proof to {big}, {label}", f"{key}.consistency",
                None,
            ),
            _latency_row(results, f"root() at {big}, {label}", f"{key}.root", None),
        ]  # fmt: skip
    ed = results.get("ed25519.verify")
    ed_text = _missing(results, "ed25519") if ed is None else _rate(ed.median)
    rows.append(Row("raw Ed25519 verify, 1 core", ed_text, "", "", "reference", ""))
    return rows


def markdown_table(rows: list[Row]) -> str:
    """Return the rows as a Markdown table."""
    header = (
        "metric",
        "ours",
        "eventsourcing (this run)",
        "ratio (this run)",
        "ratio vs issue baseline",
        "target",
        "met? (this run)",
        "met? (issue baseline)",
    )
    cells = [header] + [
        (
            r.metric,
            r.ours,
            r.eventsourcing,
            r.ratio,
            r.baseline_ratio,
            r.target,
            r.met,
            r.baseline_met,
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for index, cell in enumerate(cells):
        lines.append(
            "| "
            + " | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True))
            + " |"
        )
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine_note(results: Results) -> list[str]:
    """Return lines comparing this machine's baselines with the issue's."""
    lines = []
    for key, label in (
        ("single.postgresql.es", "eventsourcing single, PostgreSQL"),
        ("single.sqlite.es", "eventsourcing single, SQLite"),
        ("batch.postgresql.es", "eventsourcing batch, PostgreSQL"),
        ("batch.sqlite.es", "eventsourcing batch, SQLite"),
        ("ed25519.verify", "raw Ed25519 verify, 1 core"),
    ):
        sample = results.get(key)
        if sample is not None:
            factor = sample.median / ISSUE_BASELINES[key]
            here, there = _rate(sample.median), _rate(ISSUE_BASELINES[key])
            lines.append(f"{label}: {here} here, {there} in the issue ({factor:.1f}x)")
    return lines


def environment(extra: dict[str, str]) -> dict[str, str]:
    """Return what identifies the machine and the software measured."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": version("eventsourcing"),
        "sqlalchemy": version("sqlalchemy"),
        "psycopg": version("psycopg"),
        "cryptography": version("cryptography"),
        **extra,
    }


def write_json(
    path: Path, config: Config, results: Results, rows: list[Row], env: dict[str, str]
) -> None:
    """Save everything measured as JSON."""
    latencies = {
        key: {
            "p50": percentile(values, 0.5),
            "p95": percentile(values, 0.95),
            "max": max(values),
            "values": values,
        }
        for key, values in results.latencies.items()
    }
    document = {
        "environment": env,
        "config": {
            **asdict(config),
            "workdir": str(config.workdir),
            "server_url": make_url(config.server_url).render_as_string(
                hide_password=True
            ),
        },
        "samples": {key: s.to_json() for key, s in results.samples.items()},
        "latencies_ms": latencies,
        "skipped": results.skipped,
        "notes": results.notes,
        "rows": [asdict(r) for r in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
