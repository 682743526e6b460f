"""The read side on the large demo: projection rebuild and the status report as of T.

`python -m bench --only records` builds (once, then reuses) the `qms demo --size
large` ledger on SQLite (bench/.cache/large-sqlite/) and on PostgreSQL (database
`qms_bench_large`, its service key in bench/.cache/large-postgresql/), then measures
on each:

1. a full projection rebuild (`projections.runner.rebuild`) in a process of its own
   that does nothing else, so its peak RSS (`ru_maxrss`) is the rebuild's own;
2. the status report (`build_report`) of the whole network and of one bureau as
   known at 20 instants drawn with `secrets` across the ledger's time range, and
   at 20 more drawn across the time of its first 1,000,000 events (the ledger as it
   stood at the size the targets name).

Before those, it times `qms demo --size small` into a new SQLite ledger in
bench/results/ (the whole command in a process of its own, deleted afterwards):
the issue asks that it finish in under a minute.

The PostgreSQL ledger is the SQLite one, table by table (`copy_ledger`: every
event, Merkle node, checkpoint, key and blob with the same bytes, its service key
beside it), so both dialects are measured on the same history and the demo is
built once (`QMS_BENCH_PG_DEMO=1` builds it on PostgreSQL with `qms demo` instead).
A cached ledger is reused while its `built.json` names the same size; delete the
folder (and drop the database) to build anew. The environment variable
QMS_BENCH_RECORDS_SIZE=tiny|small builds a smaller demo (the table names the size).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.harness import PostgresServer, elapsed, percentile
from ledger.integrity.envelope import parse_time
from ledger.integrity.signing import load_private_key_file
from ledger.settings import DEFAULT_ORIGIN
from ledger.store import EventStore, create_engine_for, migrate
from ledger.store.partial_export import PartialScope, write_partial_export
from projections.queries.streams import unit_streams
from projections.reports import build_report
from projections.runner import rebuild

CACHE = Path(__file__).resolve().parent / ".cache"
PG_DATABASE = "qms_bench_large"
BUREAU = "BJ"
INSTANTS = 20
TARGET_EVENTS = 1_000_000  # the size at which the issue states the report targets
REBUILD_TARGET = 10_000.0  # events/s
RSS_TARGET_MB = 500.0
SMALL_DEMO_TARGET_S = 60.0
RESULTS = Path(__file__).resolve().parent / "results"
P50_TARGET_MS = 200.0
P95_TARGET_MS = 500.0
PARTIAL_TARGET_S = 10.0  # a partial export of one bureau for one year


@dataclass(frozen=True, slots=True)
class Ledger:
    """A built demo ledger: where it is and how it was made."""

    dialect: str
    url: str
    instance: Path
    events: int
    size: str
    build_seconds: float


def _env(instance: Path, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["QMS_INSTANCE"] = str(instance)
    env["QMS_DATABASE_URL"] = url
    env.pop("QMS_SIGNING_KEY_FILE", None)
    return env


def _store(ledger: Ledger) -> EventStore:
    key = load_private_key_file(ledger.instance / "signing-key.pem")
    return EventStore(create_engine_for(ledger.url), key, _origin(ledger))


def _origin(ledger: Ledger) -> str:
    return str(json.loads((ledger.instance / "built.json").read_text())["origin"])


def _size_of(url: str) -> int:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.text("SELECT size FROM ledger_head")).scalar() or 0
            )
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def qms_command(*args: str) -> list[str]:
    """`qms ARGS` through this interpreter (our own CLI)."""
    return [sys.executable, "-c", "from web.cli import main; main()", *args]


def _demo_command(size: str) -> list[str]:
    """`qms demo --size SIZE` through this interpreter."""
    return qms_command("demo", "--size", size)


def ensure_ledger(dialect: str, url: str, size: str, instance: Path) -> Ledger:
    """Return the cached demo ledger of `size`, building it with `qms demo` if needed."""
    built = instance / "built.json"
    info = _cached(instance, url, size)
    if info is not None:
        return Ledger(
            dialect,
            url,
            instance,
            int(str(info["events"])),
            size,
            float(str(info["seconds"])),
        )
    instance.mkdir(parents=True, exist_ok=True)
    for stale in (
        "built.json",
        "signing-key.pem",
        "qms.sqlite3",
        "qms.sqlite3-wal",
        "qms.sqlite3-shm",
    ):
        (instance / stale).unlink(missing_ok=True)
    print(
        f"building the {size} demo on {dialect} (qms demo --size {size}) ...",
        flush=True,
    )
    start = time.perf_counter()
    subprocess.run(_demo_command(size), env=_env(instance, url), check=True)
    seconds = time.perf_counter() - start
    events = _size_of(url)
    info = {
        "size": size,
        "events": events,
        "seconds": seconds,
        "origin": os.environ.get("QMS_ORIGIN") or DEFAULT_ORIGIN,
        "built": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    built.write_text(json.dumps(info, indent=2) + "\n")
    return Ledger(dialect, url, instance, events, size, seconds)


# Parents before children; each copied in seq or key order.
_LEDGER_TABLES = (
    ("ledger_events", "seq"),
    ("merkle_nodes", "level, idx"),
    ("ledger_checkpoints", "size"),
    ("ledger_keys", "key_id"),
    ("ledger_streams", "stream"),
    ("ledger_commands", "command_id"),
    ("ledger_blobs", "digest"),
    ("ledger_blob_disposals", "digest"),
)
# The people's sealed e-signature keys and password credentials (the service's
# vault): without them nobody can sign in to the copy or sign in it.
PEOPLE_TABLES = (
    ("esign_keys", "key_id"),
    ("credentials", "user_id"),
)


def _copy_tables(
    src: sqlite3.Connection,
    cur: psycopg.Cursor[tuple[object, ...]],
    tables: tuple[tuple[str, str], ...],
) -> None:
    for table, order in tables:
        rows = src.execute(f"SELECT * FROM {table} ORDER BY {order}")  # our own names
        columns = ", ".join(d[0] for d in rows.description)
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def copy_people(sqlite_file: Path, url: str) -> bool:
    """Copy the vault's tables from the SQLite ledger when the PostgreSQL `url` has
    no credentials yet (a copy made before they were copied); return whether it did."""
    pg_url = make_url(url).set(drivername="postgresql")
    dst = psycopg.connect(pg_url.render_as_string(hide_password=False))
    src = sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)
    try:
        with dst.transaction(), dst.cursor() as cur:
            cur.execute("SELECT count(*) FROM credentials")
            found = cur.fetchone()
            if found is not None and found[0] > 0:
                return False
            _copy_tables(src, cur, PEOPLE_TABLES)
        return True
    finally:
        src.close()
        dst.close()


def copy_ledger(source: Ledger, url: str, instance: Path) -> Ledger:
    """Copy the ledger and vault tables of the SQLite `source` into the PostgreSQL `url`.

    The database must be empty; it is migrated first (tables, triggers, head row),
    the rows go in with COPY, and the head row moves last, so the copy holds the
    same events, hashes and signatures as the source, under the same service key.
    """
    print(f"copying the {source.size} demo ledger to PostgreSQL ...", flush=True)
    start = time.perf_counter()
    engine = create_engine_for(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    src = sqlite3.connect(f"file:{source.instance / 'qms.sqlite3'}?mode=ro", uri=True)
    pg_url = make_url(url).set(drivername="postgresql")
    dst = psycopg.connect(pg_url.render_as_string(hide_password=False))
    try:
        with dst.transaction(), dst.cursor() as cur:
            _copy_tables(src, cur, _LEDGER_TABLES + PEOPLE_TABLES)
            size, hash_, recorded_at = src.execute(
                "SELECT size, hash, recorded_at FROM ledger_head WHERE id = 1"
            ).fetchone()
            cur.execute(
                "UPDATE ledger_head SET size = %s, hash = %s, recorded_at = %s "
                "WHERE id = 1",
                (size, hash_, recorded_at),
            )
    finally:
        dst.close()
        src.close()
    instance.mkdir(parents=True, exist_ok=True)
    key = instance / "signing-key.pem"
    shutil.copyfile(source.instance / "signing-key.pem", key)
    key.chmod(0o600)
    seconds = time.perf_counter() - start
    info = json.loads((source.instance / "built.json").read_text())
    info.update(copied_from="sqlite", copy_seconds=seconds)
    (instance / "built.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"  copied {source.events:,} events in {seconds:.0f} s", flush=True)
    return Ledger(
        "postgresql", url, instance, source.events, source.size, source.build_seconds
    )


def _cached(instance: Path, url: str, size: str) -> dict[str, object] | None:
    """Return the build record of the cached ledger when it is complete and of `size`."""
    built = instance / "built.json"
    if not built.is_file():
        return None
    info: dict[str, object] = json.loads(built.read_text())
    if info.get("size") != size or _size_of(url) != info.get("events"):
        return None
    return info


def _pg_ledger(server_url: str, size: str) -> tuple[str, Path]:
    """Return the benchmark database's URL and instance folder; (re)create it if stale."""
    instance = CACHE / f"{size}-postgresql"
    url = make_url(server_url).set(database=PG_DATABASE)
    text = url.render_as_string(hide_password=False)
    admin = sa.create_engine(
        server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                {"n": PG_DATABASE},
            ).scalar()
            if exists and _cached(instance, text, size) is None:
                conn.execute(
                    sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
                )
                exists = None
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
                (instance / "built.json").unlink(missing_ok=True)
    finally:
        admin.dispose()
    return text, instance


def rebuild_once(ledger: Ledger) -> dict[str, float]:
    """Run one rebuild in a fresh process; return events/s, seconds and peak RSS."""
    out = subprocess.run(  # a process of its own
        [sys.executable, "-m", "bench.records_bench", "rebuild", ledger.url],
        env=_env(ledger.instance, ledger.url),
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _rebuild_here(url: str) -> None:
    """The child side of `rebuild_once`: rebuild and print one JSON line."""
    engine = create_engine_for(url)
    instance = Path(os.environ["QMS_INSTANCE"])
    key = load_private_key_file(instance / "signing-key.pem")
    origin = str(json.loads((instance / "built.json").read_text())["origin"])
    store = EventStore(engine, key, origin)
    seconds = 0.0
    events = 0

    def run() -> None:
        nonlocal events
        events = rebuild(engine, store)

    seconds = elapsed(run)
    engine.dispose()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    sys.stdout.write(
        json.dumps(
            {
                "events": events,
                "seconds": seconds,
                "rate": events / seconds,
                "peak_mb": peak_kb / 1024,
            }
        )
        + "\n"
    )


def instants(store: EventStore, count: int, upto: int | None = None) -> list[datetime]:
    """Draw `count` instants with `secrets` between the first recorded_at and that of
    event `upto` (default: the last): the ledger as it stood at `upto` events."""
    first = parse_time(next(store.read(1, 1)).recorded_at)
    size = store.size() if upto is None else min(upto, store.size())
    last = parse_time(next(store.read(size, size)).recorded_at)
    span_us = int((last - first).total_seconds() * 1_000_000)
    picks = sorted(secrets.randbelow(span_us + 1) for _ in range(count))
    return [first + timedelta(microseconds=us) for us in picks]


def report_latencies(
    ledger: Ledger, unit: str | None, moments: list[datetime]
) -> list[float]:
    """Return the milliseconds of `build_report` at each moment (one warm-up first)."""
    store = _store(ledger)
    try:
        build_report(store.engine, store, as_of=moments[0], unit=unit)
        values = []
        for moment in moments:
            start = time.perf_counter()
            build_report(store.engine, store, as_of=moment, unit=unit)
            values.append((time.perf_counter() - start) * 1000)
        return values
    finally:
        store.engine.dispose()


def partial_export_seconds(ledger: Ledger) -> tuple[float, int, int]:
    """Time a verified partial export of BUREAU's subtree for the demo's last full
    year (choosing the streams, proofs, writing and verifying); return (seconds,
    events, year)."""
    store = _store(ledger)
    out = RESULTS / f"partial-{ledger.dialect}"
    shutil.rmtree(out, ignore_errors=True)
    try:
        last = parse_time(next(store.read(store.size(), store.size())).recorded_at)
        year = last.year - 1
        start = time.perf_counter()
        found = unit_streams(store.engine, BUREAU)
        scope = PartialScope(
            unit=BUREAU,
            subtree=True,
            units=found.units,
            streams=found.streams,
            start=date(year, 1, 1),
            end=date(year, 12, 31),
        )
        summary = write_partial_export(store, scope, out)
        return time.perf_counter() - start, summary.events, year
    finally:
        shutil.rmtree(out, ignore_errors=True)
        store.engine.dispose()


def small_demo_seconds() -> float:
    """Time `qms demo --size small` into a new SQLite ledger; delete it afterwards."""
    instance = RESULTS / "small-demo"
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    url = f"sqlite:///{instance / 'qms.sqlite3'}"
    try:
        start = time.perf_counter()
        subprocess.run(
            _demo_command("small"),
            env=_env(instance, url),
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "| "
            + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
            + " |"
        )
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def measure(ledger: Ledger) -> list[tuple[str, ...]]:
    """Measure one dialect; return its table rows."""
    label = f"{ledger.dialect}, {ledger.size} demo, {ledger.events:,} events"
    print(f"rebuilding the read models ({label}) ...", flush=True)
    result = rebuild_once(ledger)
    print(
        f"  rebuild: {result['rate']:,.0f} events/s in {result['seconds']:.1f} s, "
        f"peak RSS {result['peak_mb']:.0f} MB",
        flush=True,
    )
    store = _store(ledger)
    try:
        # The whole ledger, and as it stood at the size the issue names (a prefix:
        # reports as known at T read only what was known at T).
        draws = [("", instants(store, INSTANTS))]
        if ledger.events > TARGET_EVENTS:
            draws.append(
                (f", at {TARGET_EVENTS:,}", instants(store, INSTANTS, TARGET_EVENTS))
            )
    finally:
        store.engine.dispose()
    rows: list[tuple[str, ...]] = [
        (
            f"rebuild, {label}",
            f"{result['rate']:,.0f} events/s",
            f">= {REBUILD_TARGET:,.0f}/s",
            _met(result["rate"] >= REBUILD_TARGET),
        ),
        (
            f"rebuild peak RSS, {ledger.dialect}",
            f"{result['peak_mb']:.0f} MB",
            f"< {RSS_TARGET_MB:.0f} MB",
            _met(result["peak_mb"] < RSS_TARGET_MB),
        ),
    ]
    for (at, moments), (name, unit) in itertools.product(
        draws, (("network", None), (f"bureau {BUREAU}", BUREAU))
    ):
        values = report_latencies(ledger, unit, moments)
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(
            f"  report ({name}{at}) at {len(values)} instants: p50 {p50:.0f} ms, "
            f"p95 {p95:.0f} ms, max {max(values):.0f} ms",
            flush=True,
        )
        rows.append(
            (
                f"report as of T ({name}{at}), {ledger.dialect}",
                f"p50 {p50:.0f} ms / p95 {p95:.0f} ms",
                f"p50 < {P50_TARGET_MS:.0f} / p95 < {P95_TARGET_MS:.0f} ms",
                _met(p50 < P50_TARGET_MS and p95 < P95_TARGET_MS),
            )
        )
    seconds, events, year = partial_export_seconds(ledger)
    print(
        f"  partial export (bureau {BUREAU}, {year}): {events:,} events in "
        f"{seconds:.1f} s",
        flush=True,
    )
    rows.append(
        (
            f"partial export (bureau {BUREAU}, {year}, verified), {ledger.dialect}",
            f"{seconds:.1f} s ({events:,} events)",
            f"< {PARTIAL_TARGET_S:.0f} s",
            _met(seconds < PARTIAL_TARGET_S),
        )
    )
    return rows


def run(server_url: str, size: str = "large") -> int:
    """Build or reuse the demo ledgers, measure both dialects, print the table."""
    sqlite_instance = CACHE / f"{size}-sqlite"
    sqlite_url = f"sqlite:///{sqlite_instance / 'qms.sqlite3'}"
    ledgers = [ensure_ledger("sqlite", sqlite_url, size, sqlite_instance)]
    server = PostgresServer(server_url)
    reason = server.unreachable_reason()
    notes: list[str] = []
    if reason is None:
        url, instance = _pg_ledger(server_url, size)
        info = _cached(instance, url, size)
        if info is not None or os.environ.get("QMS_BENCH_PG_DEMO") == "1":
            ledgers.append(ensure_ledger("postgresql", url, size, instance))
        else:
            ledgers.append(copy_ledger(ledgers[0], url, instance))
    else:
        notes.append(f"{reason}: PostgreSQL rows skipped")
    server.dispose()
    print("timing qms demo --size small (sqlite) ...", flush=True)
    small = small_demo_seconds()
    print(f"  small demo: {small:.1f} s", flush=True)
    rows: list[tuple[str, ...]] = [
        ("metric", "measured", "target", "met?"),
        (
            "qms demo --size small, sqlite",
            f"{small:.1f} s",
            f"< {SMALL_DEMO_TARGET_S:.0f} s",
            _met(small < SMALL_DEMO_TARGET_S),
        ),
    ]
    for ledger in ledgers:
        rows.extend(measure(ledger))
        info = json.loads((ledger.instance / "built.json").read_text())
        made = (
            f"a copy of the sqlite ledger ({info['copy_seconds']:.0f} s)"
            if info.get("copied_from")
            else f"`qms demo --size {ledger.size}` built {ledger.events:,} events "
            f"in {ledger.build_seconds / 60:.1f} min"
        )
        notes.append(f"{ledger.dialect}: {made}")
    print()
    print(
        f"qms-ledger records benchmark, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )
    print(_table(rows))
    for note in notes:
        print(f"- {note}")
    return 0


def main(argv: list[str]) -> int:
    """`python -m bench.records_bench rebuild URL` (the rebuild child process)."""
    if len(argv) == 2 and argv[0] == "rebuild":
        make_url(argv[1])  # refuse a malformed URL before touching anything
        _rebuild_here(argv[1])
        return 0
    sys.stderr.write("usage: python -m bench --only records\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def cached_demo(instance: Path, url: str, size: str) -> dict[str, object] | None:
    """Return the build record of a cached demo ledger when complete and of `size`."""
    return _cached(instance, url, size)


def open_demo_store(ledger: Ledger) -> EventStore:
    """Open a cached demo ledger's store with its service key."""
    return _store(ledger)
