"""Run the benchmark suite: `python -m bench [--quick] [--json FILE]`.

Everything runs in one process on one machine: the ledger and eventsourcing append
to the same SQLite disk and the same PostgreSQL server, their timed repeats
interleaved so drift in machine load hits both sides alike. Prints the results as
they come, then the comparison table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy.engine import URL

from bench import (
    demo_bench,
    eventsourcing_bench,
    ledger_bench,
    records_bench,
    web_bench,
)
from bench.harness import (
    DEFAULT_SERVER_URL,
    Appender,
    Config,
    PostgresServer,
    Results,
    Sample,
    elapsed,
)
from bench.report import (
    build_rows,
    environment,
    machine_note,
    markdown_table,
    write_json,
)

SECTIONS = ("appends", "ledger", "ed25519", "records", "web", "demo")
DIALECTS = ("sqlite", "postgresql")


def _interleaved(
    config: Config,
    results: Results,
    key: str,
    appenders: dict[str, Appender],
    run: Callable[[Appender], int],
    warm: Callable[[Appender], object],
) -> None:
    """Warm up each appender, then time `config.repeats` rounds of each, interleaved."""
    for appender in appenders.values():
        warm(appender)
    rates: dict[str, list[float]] = {name: [] for name in appenders}
    for _ in range(config.repeats):
        for name, appender in appenders.items():
            events = 0

            def once(appender: Appender = appender) -> None:
                nonlocal events
                events = run(appender)

            seconds = elapsed(once)
            rates[name].append(events / seconds)
    for name, values in rates.items():
        results.add(f"{key}.{name}", Sample(tuple(values), "events/s"))


def _fresh_url(server: PostgresServer | None, prefix: str, stack: ExitStack) -> URL:
    """Return the URL of a fresh PostgreSQL database dropped when `stack` closes."""
    if server is None:
        raise RuntimeError("PostgreSQL is unreachable")
    return stack.enter_context(server.fresh_database(prefix))


def _append_targets(
    config: Config, dialect: str, server: PostgresServer | None, stack: ExitStack
) -> dict[str, Appender]:
    """Open the ledger and eventsourcing side by side on fresh `dialect` databases."""
    appenders: dict[str, Appender]
    if dialect == "sqlite":
        ours = ledger_bench.open_store(
            f"sqlite:///{config.workdir / 'ours-appends.sqlite3'}"
        )
        appenders = {
            "ours": ledger_bench.StoreAppender("ours", ours, config.streams),
            "es": eventsourcing_bench.sqlite_appender(
                config.workdir / "es.sqlite3", config.streams
            ),
            "es_normal": eventsourcing_bench.sqlite_appender(
                config.workdir / "es-normal.sqlite3",
                config.streams,
                synchronous_normal=True,
            ),
        }
    else:
        ours_url = _fresh_url(server, "qms_bench_ours", stack)
        es_url = _fresh_url(server, "qms_bench_es", stack)
        ours = ledger_bench.open_store(ours_url.render_as_string(hide_password=False))
        appenders = {
            "ours": ledger_bench.StoreAppender("ours", ours, config.streams),
            "es": eventsourcing_bench.postgres_appender(es_url, config.streams),
        }
    for appender in appenders.values():
        stack.callback(appender.close)
    return appenders


def run_appends(
    config: Config, results: Results, server: PostgresServer | None
) -> None:
    """Single-event appends and batches of 1,000, ours against eventsourcing."""
    for dialect in DIALECTS:
        if dialect == "postgresql" and server is None:
            results.skip("single/batch.postgresql", "PostgreSQL unreachable")
            continue
        print(f"appends on {dialect} ...", flush=True)
        with ExitStack() as stack:
            appenders = _append_targets(config, dialect, server, stack)

            def single(appender: Appender) -> int:
                appender.single(config.single_count)
                return config.single_count

            def batches(appender: Appender) -> int:
                appender.batches(config.batch_count, config.batch_size)
                return config.batch_count * config.batch_size

            _interleaved(
                config, results, f"single.{dialect}", appenders, single,
                lambda a: a.single(config.single_warmup),
            )  # fmt: skip
            _interleaved(
                config, results, f"batch.{dialect}", appenders, batches,
                lambda a: a.batches(config.batch_warmup, config.batch_size),
            )  # fmt: skip


def _big_ledger(config: Config, results: Results, dialect: str, url: str) -> None:
    """Build a big ledger on `url`; time its verification, export and proofs."""
    n = config.verify_n
    store = ledger_bench.open_store(url)
    appender = ledger_bench.StoreAppender("ours", store, config.streams)
    try:
        print(
            f"building a {config.proof_size:,}-event ledger on {dialect} ...",
            flush=True,
        )
        seconds = elapsed(lambda: appender.grow_to(n))
        folder = config.workdir / "export"
        if dialect == "sqlite":  # the export covers exactly events 1..n
            export_seconds = elapsed(lambda: ledger_bench.export_ledger(store, folder))
            results.notes.append(
                f"export of {n:,} events written at {n / export_seconds:,.0f} events/s"
            )
        seconds += elapsed(lambda: appender.grow_to(config.proof_size))
        results.notes.append(
            f"built {config.proof_size:,} events on {dialect} in batches of 1,000 at "
            f"{config.proof_size / seconds:,.0f} events/s"
        )
        for workers in (2, 1):
            rates = [
                n / ledger_bench.verify_from_database(store, n, workers)
                for _ in range(config.verify_repeats)
            ]
            results.add(
                f"verify.{dialect}.w{workers}", Sample(tuple(rates), "events/s")
            )
        if dialect == "sqlite":
            key_id = store.signer.key_id
            for workers in (2, 1):
                rates = [
                    n / ledger_bench.verify_export_folder(folder, key_id, workers)
                    for _ in range(config.verify_repeats)
                ]
                results.add(
                    f"verify.export.w{workers}", Sample(tuple(rates), "events/s")
                )
        latencies = ledger_bench.proof_latencies(store, config.proof_samples)
        for name, values in latencies.items():
            results.add_latencies(f"proof.{dialect}.{name}", values)
    finally:
        appender.close()


def _verify_demo(results: Results) -> None:
    """Verify the cached large demo on SQLite, when one is built (`--only records`)."""
    instance = records_bench.CACHE / "large-sqlite"
    url = f"sqlite:///{instance / 'qms.sqlite3'}"
    if records_bench.cached_demo(instance, url, "large") is None:
        results.skip("verify.demo", "no complete large demo cached on SQLite")
        return
    ledger = records_bench.Ledger("sqlite", url, instance, 0, "large", 0.0)
    store = records_bench.open_demo_store(ledger)
    try:
        for workers in (2, 1):
            print(f"verifying the large demo, {workers} worker(s) ...", flush=True)
            seconds, events = ledger_bench.verify_store_run(store, workers)
            results.add(
                f"verify.demo.w{workers}", Sample((events / seconds,), "events/s")
            )
            results.notes.append(
                f"qms verify of the large demo ({events:,} events), {workers} "
                f"worker(s): {seconds:,.0f} s, {events / seconds:,.0f} events/s, "
                f"peak RSS so far {ledger_bench.peak_rss_mb():,.0f} MB"
            )
    finally:
        store.engine.dispose()


def run_ledger(config: Config, results: Results, server: PostgresServer | None) -> None:
    """Build a big ledger per dialect; time its verification and its proofs."""
    _verify_demo(results)
    _big_ledger(
        config, results, "sqlite", f"sqlite:///{config.workdir / 'ours-ledger.sqlite3'}"
    )
    if server is None:
        results.skip("verify/proof.postgresql", "PostgreSQL unreachable")
        return
    with server.fresh_database("qms_bench_big") as url:
        _big_ledger(
            config, results, "postgresql", url.render_as_string(hide_password=False)
        )


def run_ed25519(config: Config, results: Results) -> None:
    """Raw Ed25519 verification on one core, the floor under verification throughput."""
    rates = [ledger_bench.ed25519_verify_rate(config.ed25519_count) for _ in range(3)]
    results.add("ed25519.verify", Sample(tuple(rates), "signatures/s"))


def _load() -> float:
    """Return the one-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the ledger against eventsourcing (SQLite, PostgreSQL).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller run (about a minute)"
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="save the results as JSON"
    )
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("QMS_BENCH_DATABASE_URL")
        or os.environ.get("QMS_TEST_DATABASE_URL")
        or DEFAULT_SERVER_URL,
        help="PostgreSQL server on which fresh databases are created "
        "(default: QMS_BENCH_DATABASE_URL, QMS_TEST_DATABASE_URL, or the local server)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="where SQLite files and the export go (a disk, not tmpfs)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected sections, print the table, and save JSON when asked."""
    args = _parse(argv)
    sections = set(args.only or SECTIONS)
    if sections == {"records"}:  # the read side on the large demo, its own table
        return records_bench.run(args.database_url, _records_size())
    if sections == {"web"}:  # the web UI under load on the large demo, its own table
        return web_bench.run(args.database_url)
    if sections == {"demo"}:  # the certifier's commands on the large demo
        return demo_bench.run(_records_size())
    if sections == {"records", "web"}:
        records_bench.run(args.database_url, _records_size())
        print()
        return web_bench.run(args.database_url)
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = Results()
    load_before = _load()
    if load_before > 0.5:
        print(
            f"warning: load average {load_before:.2f} before the run; figures are noisy"
        )
    server: PostgresServer | None = PostgresServer(args.database_url)
    env_extra: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="run-", dir=args.workdir) as tmp:
        preset = Config.quick_run if args.quick else Config.full
        config = preset(Path(tmp), args.database_url)
        if server is not None:
            reason = server.unreachable_reason()
            if reason is None:
                env_extra = {f"postgresql {k}": v for k, v in server.settings().items()}
            else:
                print(reason, "- PostgreSQL rows are skipped", flush=True)
                results.notes.append(reason)
                server.dispose()
                server = None
        try:
            if "ed25519" in sections:
                run_ed25519(config, results)
            if "appends" in sections:
                run_appends(config, results, server)
            if "ledger" in sections:
                run_ledger(config, results, server)
        finally:
            if server is not None:
                server.dispose()
    env_extra["load average before / after"] = f"{load_before:.2f} / {_load():.2f}"
    env = environment(env_extra)
    rows = build_rows(config, results)
    print()
    kind = "quick" if config.quick else "full"
    print(f"qms-ledger benchmark ({kind} run), {env['date']}")
    print(f"{env['cpu']}, {os.cpu_count()} cores, Python {env['python']}")
    print(f"load average before / after: {env['load average before / after']}")
    print(markdown_table(rows))
    for line in results.notes + machine_note(results):
        print(f"- {line}")
    if args.json:
        write_json(args.json, config, results, rows, env)
        print(f"results saved to {args.json}")
    if "records" in sections:
        print()
        records_bench.run(args.database_url, _records_size())
    if "web" in sections:
        print()
        web_bench.run(args.database_url)
    if "demo" in sections:
        print()
        demo_bench.run(_records_size())
    return 0


def _records_size() -> str:
    """The demo size of the records section (QMS_BENCH_RECORDS_SIZE, default large)."""
    return os.environ.get("QMS_BENCH_RECORDS_SIZE") or "large"


if __name__ == "__main__":
    sys.exit(main())
