"""Time (and profile) a scaled-down bulk demo: `python -m bench.profile_demo`.

Builds the `large` demo's story on a smaller network (`--bureaus`, `--months`) into
a new SQLite ledger, as `qms demo --size large` records it (bulk mode, the demo's
scrypt cost), and prints the wall-clock and CPU time; `--profile` runs it under
cProfile and prints the functions that take the most time. The large demo's own
build takes half an hour or more; a smaller network shows where the time goes, and
two runs side by side (this tree and another) compare two versions of the code.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ledger.clock import FixedClock
from ledger.integrity.signing import SigningKey
from ledger.service import Service
from ledger.store import EventStore, create_engine_for, migrate
from projections.runner import InlineProjector
from projections.tables import create_all
from web.demo import DEMO_SCRYPT_N, SIZES, Scale, demo_start, fill_demo


def main(argv: Sequence[str] | None = None) -> int:
    """Build a scaled-down large demo; print its time (and its profile)."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_demo")
    parser.add_argument("--bureaus", type=int, default=20)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--profile", action="store_true", help="run under cProfile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    large = SIZES["large"]
    scale = Scale(
        bureaus=args.bureaus,
        months=args.months,
        start_docs=large.start_docs,
        new_docs_per_year=large.new_docs_per_year,
        findings_per_month=large.findings_per_month,
        audit_findings=large.audit_findings,
    )
    with tempfile.TemporaryDirectory(
        prefix="demo-", dir=Path(__file__).resolve().parent
    ) as tmp:
        engine = create_engine_for(f"sqlite:///{tmp}/demo.sqlite3")
        migrate(engine)
        create_all(engine)
        clock = FixedClock(demo_start("large", scale=scale))
        store = EventStore(
            engine, SigningKey.generate(), "demo.bench.example/ledger", clock=clock
        )
        service = Service(
            store, projectors=[InlineProjector()], clock=clock, scrypt_n=DEMO_SCRYPT_N
        )
        profiler = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        summary = fill_demo(service, store, size="large", scale=scale)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        engine.dispose()
    print(
        f"{args.bureaus} bureaus x {args.months} months: {summary.ledger_size:,} events, "
        f"{summary.users} people, {summary.signatures:,} e-signatures; "
        f"{wall:.1f} s wall clock, {cpu:.1f} s CPU ({summary.ledger_size / wall:,.0f} events/s)"
    )
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
