"""Profile the append path: `python -m bench.profile_append [--postgresql] [--batch]`.

Runs single appends (or batches of 1,000) under cProfile on a fresh database and prints
the functions that take the most time, to show where an append spends it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness import DEFAULT_SERVER_URL, PostgresServer, elapsed
from bench.ledger_bench import StoreAppender, open_store


def _profile(appender: StoreAppender, *, batch: bool, count: int, top: int) -> str:
    def work() -> None:
        if batch:
            appender.batches(count, 1000)
        else:
            appender.single(count)

    appender.single(100)  # warm up caches and the connection pool
    profiler = cProfile.Profile()
    seconds = elapsed(lambda: profiler.runcall(work))
    events = count * (1000 if batch else 1)
    out = io.StringIO()
    out.write(
        f"{events:,} events in {seconds:.2f} s under the profiler "
        f"({events / seconds:,.0f} events/s; the profiler slows Python code down)\n"
    )
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    """Profile appends on SQLite (default) or PostgreSQL and print the top functions."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_append")
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--batch", action="store_true", help="batches of 1,000 events")
    parser.add_argument(
        "--count", type=int, help="appends (default 2,000) or batches (10)"
    )
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    count = args.count or (10 if args.batch else 2000)
    if args.postgresql:
        server = PostgresServer(
            os.environ.get("QMS_BENCH_DATABASE_URL")
            or os.environ.get("QMS_TEST_DATABASE_URL")
            or DEFAULT_SERVER_URL
        )
        reason = server.unreachable_reason()
        if reason is not None:
            print(reason)
            return 1
        with server.fresh_database("qms_bench_profile") as url:
            appender = StoreAppender(
                "ours", open_store(url.render_as_string(hide_password=False)), 10
            )
            try:
                print(_profile(appender, batch=args.batch, count=count, top=args.top))
            finally:
                appender.close()
        server.dispose()
        return 0
    with tempfile.TemporaryDirectory(
        prefix="profile-", dir=Path(__file__).resolve().parent
    ) as tmp:
        appender = StoreAppender(
            "ours", open_store(f"sqlite:///{tmp}/profile.sqlite3"), 10
        )
        try:
            print(_profile(appender, batch=args.batch, count=count, top=args.top))
        finally:
            appender.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
