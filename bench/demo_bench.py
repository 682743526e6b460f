"""The certifier's commands on the large demo, each a whole `qms` process.

`python -m bench --only demo` takes the cached large demo on SQLite (built by
`python -m bench --only records`, or here when missing) and runs, one after the
other, each in a process of its own that does nothing else:

1. `qms verify` (the default: one worker per core) and `qms verify --workers 1`;
2. `qms export --out DIR` (it verifies the ledger before it publishes the export);
3. `qms verify --export DIR` with the default workers and with `--workers 1`;
4. `qms export --out FILE.zip --zip` (the streamed zip a certifier downloads).

Each row gives the wall time, the events per second, and the peak resident memory
of the largest process of the command (its own or a worker's: `wait4`'s
`ru_maxrss`), beside the figures the issue measured before and its targets. The
export folder and zip go to bench/results/ and are deleted afterwards.
QMS_BENCH_DEMO_ONLY=export,verify-export,... runs only the named rows (`verify`,
`verify1`, `export`, `verify-export`, `verify-export1`, `zip`); the export rows
need `export` first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.records_bench import CACHE, _env, _met, _table, ensure_ledger
from bench.records_bench import qms_command as _qms

RESULTS = Path(__file__).resolve().parent / "results"
RSS_TARGET_MB = 300.0
VERIFY_TARGET = {2: 15_000.0, 1: 9_000.0}  # events/s by worker count
ZIP_TARGET = 10_000.0  # events/s, the streamed full export
# The figures before (2 cores, the same demo): seconds, peak MB.
BEFORE = {
    "verify": "5 min 03 s = 4,759/s, 313 MB",
    "verify1": "-",
    "export": "4 min 44 s = 5,073/s, 305 MB",
    "verify-export": "-",
    "verify-export1": "-",
    "zip": "-",
}


@dataclass(frozen=True, slots=True)
class Run:
    """One whole command: wall seconds, peak RSS of its largest process, its output."""

    seconds: float
    peak_mb: float
    output: str


def run_command(argv: list[str], env: dict[str, str]) -> Run:
    """Run `argv` to its end; fail loudly when it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[3:])} failed:\n{output[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:04.1f} s" if minutes else f"{rest:.1f} s"


def run(size: str = "large") -> int:
    """Run the commands on the cached demo and print the table."""
    instance = CACHE / f"{size}-sqlite"
    url = f"sqlite:///{instance / 'qms.sqlite3'}"
    ledger = ensure_ledger("sqlite", url, size, instance)
    env = _env(instance, url)
    RESULTS.mkdir(parents=True, exist_ok=True)
    folder = RESULTS / "demo-export"
    archive = RESULTS / "demo-export.zip"
    shutil.rmtree(folder, ignore_errors=True)
    archive.unlink(missing_ok=True)
    cores = os.cpu_count() or 1
    # The certifier knows the ledger's first key id out of band; here, from pubkey.
    trusted = json.loads(run_command(_qms("pubkey", "--json"), env).output)
    key = ["--trusted-key", str(trusted["genesis_key_id"])]
    plan: list[tuple[str, str, list[str], float]] = [
        ("verify", f"qms verify ({cores} workers)", _qms("verify"), VERIFY_TARGET[2]),
        (
            "verify1",
            "qms verify --workers 1",
            _qms("verify", "--workers", "1"),
            VERIFY_TARGET[1],
        ),
        (  # the export's own check, before it publishes
            "export",
            "qms export --out DIR",
            _qms("export", "--out", str(folder)),
            VERIFY_TARGET[2],
        ),
        (
            "verify-export",
            f"qms verify --export DIR ({cores} workers)",
            _qms("verify", "--export", str(folder), *key),
            VERIFY_TARGET[2],
        ),
        (
            "verify-export1",
            "qms verify --export DIR --workers 1",
            _qms("verify", "--export", str(folder), *key, "--workers", "1"),
            VERIFY_TARGET[1],
        ),
        (
            "zip",
            "qms export --out FILE.zip --zip",
            _qms("export", "--out", str(archive), "--zip"),
            ZIP_TARGET,
        ),
    ]
    rows: list[tuple[str, ...]] = [
        ("command", "measured", "peak RSS", "before", "target", "met?")
    ]
    only = set(filter(None, os.environ.get("QMS_BENCH_DEMO_ONLY", "").split(",")))
    try:
        for name, label, argv, target in plan:
            if only and name not in only:
                continue
            print(f"running {label} ...", flush=True)
            done = run_command(argv, env)
            rate = ledger.events / done.seconds
            print(
                f"  {_duration(done.seconds)}, {rate:,.0f} events/s, "
                f"{done.peak_mb:,.0f} MB",
                flush=True,
            )
            ok = done.peak_mb < RSS_TARGET_MB and rate >= target
            rows.append(
                (
                    label,
                    f"{_duration(done.seconds)} = {rate:,.0f} events/s",
                    f"{done.peak_mb:,.0f} MB",
                    BEFORE[name],
                    f">= {target:,.0f}/s, < {RSS_TARGET_MB:.0f} MB",
                    _met(ok),
                )
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        archive.unlink(missing_ok=True)
    print()
    print(
        f"qms-ledger demo commands benchmark ({ledger.events:,} events, {cores} "
        f"cores), {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )
    print(_table(rows))
    return 0
