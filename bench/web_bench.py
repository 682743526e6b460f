"""The web UI under load: the large demo on PostgreSQL, gunicorn (2 workers), 20 clients.

`python -m bench --only web`:

1. takes the large demo's PostgreSQL ledger that the records benchmark builds
   (`qms_bench_large`, its service key in bench/.cache/large-postgresql/) and, once,
   copies it to a template database with the read models built
   (`qms_bench_large_rm`: `qms rebuild`, then ANALYZE); later runs reuse it while it
   holds the same events;
2. for each run, makes a throw-away copy of that template (`qms_bench_web`, the form
   posts write to it) and drops it afterwards: the demo ledger itself is never
   written to;
3. prepares the posts through the service on the copy: for each approver some
   revisions drafted, submitted and endorsed, waiting for their e-signature, and for
   each author some drafts to edit;
4. serves the copy with `qms serve --workers 2` (gunicorn) and runs locust headless
   (`bench/web_locustfile.py`) with 20 users, each signed in as a different demo
   person, for a warm-up and then a fixed measured time;
5. prints the table: page kind, requests, failures, p50, p95, target, met?

Percentiles are nearest-rank over every request of the measured window (the warm-up,
when the 20 sign-ins run their deliberately slow key derivation, is left out).
The PostgreSQL copy of the demo must hold the people's credentials (the vault's
tables); a copy made without them gets them from the SQLite demo ledger
(bench/.cache/large-sqlite/qms.sqlite3, or QMS_BENCH_WEB_SQLITE).
Settings: QMS_BENCH_WEB_SECONDS (measured time, default 60), QMS_BENCH_WEB_USERS
(default 20), QMS_BENCH_WEB_SOURCE (the ledger database, default qms_bench_large)
with QMS_BENCH_WEB_INSTANCE (its instance folder).
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.harness import percentile
from bench.records_bench import CACHE, PG_DATABASE, _table, copy_people
from ledger.domain import documents as d
from ledger.integrity.envelope import JSONValue
from ledger.integrity.signing import load_private_key_file
from ledger.service import Service
from ledger.store import EventStore, create_engine_for
from projections.runner import InlineProjector
from web.demo.scale import demo_password

RESULTS = Path(__file__).resolve().parent / "results"
LOCUSTFILE = Path(__file__).resolve().parent / "web_locustfile.py"
WEB_DATABASE = "qms_bench_web"
WARMUP_S = 20  # the sign-ins of every user, before the measured time
BUREAUS = 4  # bureaus whose author, approver, owner and manager take part
HQ_PEOPLE = ("hq.manager", "hq.author", "hq.approver", "hq.auditor1")
PENDING_PER_APPROVER = 12
DRAFTS_PER_AUTHOR = 3
RECORDS_PER_KIND = 200
INSTANTS = 50
ZONE = ZoneInfo(os.environ.get("QMS_TIMEZONE") or "Asia/Shanghai")
# (name prefix, p50 target ms or None, p95 target ms)
TARGETS: tuple[tuple[str, float | None, float], ...] = (
    ("register as of T", None, 300.0),
    ("register: ", 50.0, 150.0),
    ("record: ", 50.0, 150.0),
    ("form page: ", 50.0, 150.0),
    ("dashboard", None, 300.0),
    ("post: e-signature", None, 400.0),
    ("post: ", None, 200.0),
)


def _admin(server_url: str) -> sa.Engine:
    return sa.create_engine(
        server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )


def _url(server_url: str, database: str) -> str:
    return (
        make_url(server_url)
        .set(database=database)
        .render_as_string(hide_password=False)
    )


def _exists(admin: sa.Engine, database: str) -> bool:
    with admin.connect() as conn:
        return bool(
            conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}
            ).scalar()
        )


def _size(url: str) -> int:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.text("SELECT size FROM ledger_head")).scalar_one()
            )
    finally:
        engine.dispose()


def _env(instance: Path, url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["QMS_INSTANCE"] = str(instance)
    env["QMS_DATABASE_URL"] = url
    env.pop("QMS_SIGNING_KEY_FILE", None)
    info = json.loads((instance / "built.json").read_text())
    env["QMS_ORIGIN"] = str(info["origin"])
    return env


def _qms(*args: str) -> list[str]:
    return [sys.executable, "-c", "from web.cli import main; main()", *args]


def ensure_template(server_url: str, source: str, instance: Path) -> str:
    """Return the name of the copy of `source` with its read models built (once)."""
    template = f"{source}_rm"
    marker = instance / "web-template.json"
    admin = _admin(server_url)
    try:
        events = _size(_url(server_url, source))
        if (
            _exists(admin, template)
            and marker.is_file()
            and json.loads(marker.read_text()).get("events") == events
        ):
            return template
        print(f"building the read models of {source} into {template} ...", flush=True)
        start = time.perf_counter()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{template}" TEMPLATE "{source}"'))
        url = _url(server_url, template)
        sqlite_file = Path(
            os.environ.get("QMS_BENCH_WEB_SQLITE")
            or CACHE / "large-sqlite" / "qms.sqlite3"
        )
        if sqlite_file.is_file() and copy_people(sqlite_file, url):
            print(f"  copied the people's credentials from {sqlite_file.name}")
        subprocess.run(
            _qms("rebuild"),
            env=_env(instance, url),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        engine = create_engine_for(url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                conn.commit()
        finally:
            engine.dispose()
        seconds = time.perf_counter() - start
        marker.write_text(json.dumps({"events": events, "seconds": seconds}) + "\n")
        print(
            f"  read models of {events:,} events built in {seconds:.0f} s", flush=True
        )
        return template
    finally:
        admin.dispose()


def _current(conn: sa.Connection, sql: str, **params: object) -> list[Any]:
    return list(conn.execute(sa.text(sql), params))


def _people(conn: sa.Connection) -> tuple[str, list[dict[str, Any]]]:
    """Return the top unit and the 20 personas: bureau staff first, then HQ's."""
    top = _current(
        conn,
        "SELECT code FROM proj_units WHERE valid_to IS NULL AND parent IS NULL",
    )[0][0]
    active = {
        row[0]: row[1]
        for row in _current(
            conn,
            "SELECT user_id, unit FROM proj_users WHERE valid_to IS NULL AND active",
        )
    }
    bureaus = [
        row[0]
        for row in _current(
            conn,
            "SELECT code FROM proj_units WHERE valid_to IS NULL AND kind = 'bureau' "
            "AND NOT coalesce(closed, false) ORDER BY code",
        )
    ]
    personas: list[dict[str, Any]] = []
    for code in bureaus:
        staff = [
            f"{code.lower()}.{r}" for r in ("author", "approver", "owner", "manager")
        ]
        if all(s in active for s in staff):
            personas.extend(
                {"user_id": s, "role": s.split(".")[1], "unit": code} for s in staff
            )
        if len(personas) >= 4 * BUREAUS:
            break
    for user_id in HQ_PEOPLE:
        if user_id in active:
            personas.append(
                {
                    "user_id": user_id,
                    "role": user_id.split(".")[1],
                    "unit": active[user_id],
                }
            )
    for p in personas:
        p["password"] = demo_password(p["user_id"])
    return top, personas


_KEYS = {
    "documents": ("proj_documents", "doc_id"),
    "audits": ("proj_audits", "audit_id"),
    "findings": ("proj_findings", "finding_id"),
    "indicators": ("proj_indicators", "indicator_id"),
    "reviews": ("proj_reviews", "review_id"),
}


def _records(conn: sa.Connection, unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind, (table, key) in _KEYS.items():
        rows = _current(
            conn,
            f"SELECT {key} FROM {table} WHERE valid_to IS NULL AND unit = :u",
            u=unit,
        )
        ids = [r[0] for r in rows]
        found[kind] = [
            secrets.choice(ids) for _ in range(min(len(ids), RECORDS_PER_KIND))
        ]
    return found


def _searches(conn: sa.Connection) -> dict[str, list[str]]:
    """Search words: the leading part of record numbers and a word of titles."""
    words: dict[str, list[str]] = {}
    for kind, (table, key) in _KEYS.items():
        ids = [
            r[0]
            for r in _current(
                conn,
                f"SELECT {key} FROM {table} WHERE valid_to IS NULL LIMIT 500",
            )
        ]
        words[kind] = sorted({i[: max(3, len(i) - 2)] for i in ids})[:100] or [""]
    return words


def _instants(conn: sa.Connection, count: int) -> list[str]:
    first, last = _current(
        conn,
        "SELECT min(recorded_at), max(recorded_at) FROM ledger_events",
    )[0]
    start = datetime.fromisoformat(str(first).replace("Z", "+00:00"))
    end = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    span = int((end - start).total_seconds())
    picks = [
        start + timedelta(seconds=secrets.randbelow(span + 1)) for _ in range(count)
    ]
    return [p.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") for p in picks]


def _measured(conn: sa.Connection, owner: str) -> list[list[str]]:
    """(indicator, period, value) of measurements the owner may correct (numbers)."""
    rows = _current(
        conn,
        "SELECT m.indicator_id, m.period, m.value FROM proj_indicator_measurements m "
        "JOIN proj_indicators i ON i.indicator_id = m.indicator_id "
        "AND i.valid_to IS NULL WHERE m.valid_to IS NULL AND i.owner = :o "
        "AND i.status = 'active' LIMIT 50",
        o=owner,
    )
    out = []
    for indicator_id, period, value in rows:
        try:
            float(value)
        except (TypeError, ValueError):
            continue
        out.append([indicator_id, period, str(value)])
    return out


def prepare(url: str, instance: Path, plan_file: Path) -> dict[str, Any]:
    """Record the posts' starting points on the copy; write and return the plan."""
    engine = create_engine_for(url)
    key = load_private_key_file(instance / "signing-key.pem")
    origin = str(json.loads((instance / "built.json").read_text())["origin"])
    store = EventStore(engine, key, origin)
    service = Service(store, projectors=[InlineProjector()])
    try:
        with engine.connect() as conn:
            top, personas = _people(conn)
            plan: dict[str, Any] = {
                "top": top,
                "personas": personas,
                "searches": _searches(conn),
                "instants": _instants(conn, INSTANTS),
            }
            for p in personas:
                p["records"] = _records(conn, p["unit"])
                if p["role"] == "owner":
                    p["measured"] = _measured(conn, p["user_id"])
        authors = {p["unit"]: p["user_id"] for p in personas if p["role"] == "author"}
        tag = secrets.token_hex(3).upper()
        for p in personas:
            unit = p["unit"]
            author = authors.get(unit)
            if author is None:
                continue
            if p["role"] == "author":
                p["drafts"] = [
                    _draft(service, unit, author, f"WB{tag}-{unit}-D{n}")
                    for n in range(DRAFTS_PER_AUTHOR)
                ]
            elif p["role"] == "approver":
                pending = []
                for n in range(PENDING_PER_APPROVER):
                    doc_id = _draft(service, unit, author, f"WB{tag}-{unit}-A{n}")
                    service.handle(d.SubmitDocument(doc_id=doc_id), author)
                    service.handle(
                        d.ReviewDocument(doc_id=doc_id, outcome="endorsed"),
                        p["user_id"],
                    )
                    pending.append(doc_id)
                p["endorsed"] = pending
    finally:
        engine.dispose()
    plan_file.write_text(json.dumps(plan, ensure_ascii=False))
    return plan


def _draft(service: Service, unit: str, author: str, doc_id: str) -> str:
    data = f"{doc_id}: text of the benchmark draft.\n".encode()
    content: dict[str, JSONValue] = {
        "blob": service.store.put_blob(data),
        "size": len(data),
        "name": f"{doc_id}.txt",
        "media_type": "text/plain; charset=utf-8",
    }
    service.handle(
        d.DraftDocument(
            doc_id=doc_id,
            unit=unit,
            title=f"Benchmark draft {doc_id}",
            kind="procedure",
            content=content,
        ),
        author,
    )
    return doc_id


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(base: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn stopped before it served a page")
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer within a minute")


def _target(name: str) -> tuple[float | None, float] | None:
    for prefix, p50, p95 in TARGETS:
        if name.startswith(prefix):
            return p50, p95
    return None


def summarize(
    samples: list[dict[str, Any]], seconds: float
) -> tuple[list[tuple[str, ...]], list[str]]:
    """Return the table rows (one per page kind) and the notes of a run's samples."""
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in samples:
        by_name[s["name"]].append(s)
    rows: list[tuple[str, ...]] = [
        ("page kind", "requests", "failed", "p50 ms", "p95 ms", "target", "met?")
    ]
    missed = []
    for name in sorted(by_name, key=lambda n: (_order(n), n)):
        group = by_name[name]
        values = [s["ms"] for s in group]
        failed = sum(1 for s in group if not s["ok"])
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        target = _target(name)
        if target is None:
            text, met = "-", "-"
        else:
            t50, t95 = target
            ok = (t50 is None or p50 < t50) and p95 < t95 and failed == 0
            text = (
                f"p50 < {t50:.0f}, " if t50 is not None else ""
            ) + f"p95 < {t95:.0f}"
            met = "yes" if ok else "NO"
            if not ok:
                missed.append(name)
        rows.append(
            (name, str(len(group)), str(failed), f"{p50:.0f}", f"{p95:.0f}", text, met)
        )
    total = len(samples)
    notes = [
        f"{total:,} requests in {seconds:.0f} s measured "
        f"({total / max(seconds, 1):.1f} requests/s), from when the last of the "
        "people had signed in",
        "missed: " + ", ".join(missed) if missed else "every target met",
    ]
    return rows, notes


def _order(name: str) -> int:
    for index, (prefix, _a, _b) in enumerate(TARGETS):
        if name.startswith(prefix):
            return index
    return len(TARGETS)


def run(server_url: str) -> int:
    """Serve a copy of the large demo, load it with locust, print the table."""
    source = os.environ.get("QMS_BENCH_WEB_SOURCE") or PG_DATABASE
    instance = Path(
        os.environ.get("QMS_BENCH_WEB_INSTANCE") or CACHE / "large-postgresql"
    )
    seconds = int(os.environ.get("QMS_BENCH_WEB_SECONDS") or "60")
    users = int(os.environ.get("QMS_BENCH_WEB_USERS") or "20")
    if not _has_locust():
        print("locust is not installed (pip install -e '.[bench]')", file=sys.stderr)
        return 2
    admin = _admin(server_url)
    if not _exists(admin, source) or not (instance / "signing-key.pem").is_file():
        print(
            f"no demo ledger in {source}: run `python -m bench --only records` first",
            file=sys.stderr,
        )
        return 2
    load_before = os.getloadavg()[0]
    template = ensure_template(server_url, source, instance)
    with ExitStack() as stack:
        stack.callback(admin.dispose)
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="web-")))
        run_instance = work / "instance"
        run_instance.mkdir(mode=0o700)
        for name in ("signing-key.pem", "built.json"):
            shutil.copy2(instance / name, run_instance / name)
        with admin.connect() as conn:
            conn.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{WEB_DATABASE}" WITH (FORCE)')
            )
            conn.execute(
                sa.text(f'CREATE DATABASE "{WEB_DATABASE}" TEMPLATE "{template}"')
            )
        stack.callback(_drop, admin, WEB_DATABASE)
        url = _url(server_url, WEB_DATABASE)
        events = _size(url)
        print(
            f"preparing the posts on a copy of {template} ({events:,} events) ...",
            flush=True,
        )
        plan = prepare(url, run_instance, work / "plan.json")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = stack.enter_context(open(work / "gunicorn.log", "wb"))
        server = subprocess.Popen(
            _qms("serve", "--port", str(port), "--workers", "2"),
            env=_env(run_instance, url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.callback(_stop, server)
        _wait_ready(base, server, 60)
        samples_file = work / "samples.jsonl"
        env = dict(os.environ)
        env["QMS_WEB_BENCH_PLAN"] = str(work / "plan.json")
        env["QMS_WEB_BENCH_SAMPLES"] = str(samples_file)
        print(
            f"locust: {users} users for {WARMUP_S} s warm-up + {seconds} s on {base} "
            f"(gunicorn, 2 workers) ...",
            flush=True,
        )
        started = time.time()
        subprocess.run(
            [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
                "-u", str(users), "-r", str(users), "-t", f"{WARMUP_S + seconds}s",
                "--host", base, "--only-summary", "--loglevel", "WARNING",
                "--stop-timeout", "10", "--exit-code-on-error", "0",
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        everything = [
            json.loads(line) for line in samples_file.read_text().splitlines()
        ]
        # Measured from the moment the last person is signed in (their deliberately
        # slow key derivations all run at the start) to the end of the run.
        signed = [s["at"] for s in everything if s["name"] == "sign-in post"]
        cutoff = max(signed, default=started + WARMUP_S)
        samples = [s for s in everything if s["at"] > cutoff]
        measured = max((s["at"] for s in samples), default=cutoff) - cutoff
        rows, notes = summarize(samples, measured)
        errors = _server_errors(work / "gunicorn.log")
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "gunicorn.log", RESULTS / "web-gunicorn.log")
    load = os.getloadavg()[0]
    print()
    print(
        f"qms-ledger web benchmark, {datetime.now(UTC).astimezone():%Y-%m-%d %H:%M %Z}: "
        f"{events:,} events on PostgreSQL, gunicorn 2 workers, {users} locust users"
    )
    print(_table(rows))
    for note in notes:
        print(f"- {note}")
    print(
        f"- {len(plan['personas'])} demo people signed in; load average before / "
        f"after {load_before:.2f} / {load:.2f} on {os.cpu_count()} cores"
    )
    if errors:
        print(
            f"- the server logged {errors} tracebacks: bench/results/web-gunicorn.log"
        )
    return 0


def _has_locust() -> bool:
    # Not imported here: importing locust patches the standard library for gevent.
    return importlib.util.find_spec("locust") is not None


def _server_errors(log: Path) -> int:
    return log.read_text(errors="replace").count("Traceback")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _drop(admin: sa.Engine, database: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
