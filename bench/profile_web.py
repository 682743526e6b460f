"""Profile web pages in one process: `python -m bench.profile_web USER PATH [PATH ...]`.

Serves the ledger named by QMS_DATABASE_URL / QMS_INSTANCE (a copy, as the web
benchmark makes: this signs in and so writes a session row) through Flask's test
client, signs in as USER (password `demo-USER`), then for each PATH: the
milliseconds of 20 requests one after another (no other load), the CPU time this process spends on each
(what other load on the machine does not change), the SQL statements
one request runs, and with --profile the functions under cProfile that take the
most time in 20 more.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import time
from collections.abc import Sequence

from sqlalchemy import event

from bench.harness import percentile
from web.app import create_app
from web.demo.scale import demo_password
from web.wiring import STORE_EXTENSION

REPEATS = 20


def main(argv: Sequence[str] | None = None) -> int:
    """Sign in, then time (and optionally profile) each path."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_web")
    parser.add_argument("user")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    app = create_app()
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    answer = client.post(
        "/login",
        data={
            "csrf_token": token.group(1) if token else "",
            "user_id": args.user,
            "password": demo_password(args.user),
        },
    )
    if answer.status_code != 302:
        sys.stderr.write(f"could not sign in as {args.user}: {answer.status_code}\n")
        return 2
    engine = app.extensions[STORE_EXTENSION].engine
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    for path in args.paths:
        status = client.get(path).status_code  # warm
        statements.clear()
        client.get(path)
        one = list(statements)
        times = []
        cpu = time.process_time()
        for _ in range(REPEATS):
            start = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - start) * 1000)
        cpu_ms = (time.process_time() - cpu) * 1000 / REPEATS
        print(
            f"{path}: status {status}, p50 {percentile(times, 0.5):.1f} ms, "
            f"p95 {percentile(times, 0.95):.1f} ms, {cpu_ms:.1f} ms of this "
            f"process's CPU each, {len(one)} SQL statements"
        )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(REPEATS):
                client.get(path)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
                args.top
            )
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
