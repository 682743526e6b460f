"""Whole-ledger verifications run on request, one at a time, and what each found.

Two small tables beside the ledger (not part of it: they hold no event and change
nothing the chain proves), created on first use:

- `verification_runs`: one row per run: when it started and finished, the size it
  set out to check and how far it got, then the verified size and root, or the
  first failing `seq` and the reason.
- `verification_guard`: at most one row while a run is going. Claiming a run inserts
  it in the same transaction as the run's row, so of two processes (two gunicorn
  workers, a CLI) starting at once one gets the run and the other is told which run
  is going. A run that stopped reporting progress for `STALE_AFTER` seconds (its
  process ended) no longer holds the guard.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ledger.clock import Clock
from ledger.errors import LedgerError, StorageError, VerificationError
from ledger.integrity.envelope import format_time
from ledger.store import EventStore
from ledger.store.engine import storage_errors
from ledger.store.verify import verify_store

STALE_AFTER = 300.0  # seconds without progress after which a run counts as ended
PROGRESS_EVERY = 1.0  # seconds between two progress writes of a run

metadata = MetaData()
verification_runs = Table(
    "verification_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
    Column("started_by", String(200), nullable=False),
    Column("target", Integer, nullable=False),  # the ledger's size when it started
    Column("checked", Integer, nullable=False),  # events checked so far
    Column("beat", Float, nullable=False),  # wall time of the last progress
    Column("outcome", String(10), nullable=False),  # running, ok, failed
    Column("size", Integer),  # verified size
    Column("root", String(64)),  # verified root, base64
    Column("failure_seq", Integer),
    Column("reason", String(2000)),
)
verification_guard = Table(
    "verification_guard",
    metadata,
    Column("name", String(20), primary_key=True),
    Column("run_id", Integer, nullable=False),
)
GUARD = "verify"


@dataclass(frozen=True, slots=True)
class VerificationRun:
    """One run as recorded: `outcome` is running, ok, failed or abandoned."""

    id: int
    started_at: str
    finished_at: str | None
    started_by: str
    target: int
    checked: int
    outcome: str
    size: int | None
    root: str | None
    failure_seq: int | None
    reason: str | None

    @property
    def percent(self) -> int:
        """How far the run got, 0 to 100."""
        if self.outcome == "ok":
            return 100
        return min(100, self.checked * 100 // self.target) if self.target else 0

    def summary(self) -> str:
        """One line: `OK n=<size> root=<root> at <finished>`, `FAIL seq=...` or running."""
        if self.outcome == "ok":
            return f"OK n={self.size} root={self.root} at {self.finished_at}"
        if self.outcome == "failed":
            return f"FAIL seq={self.failure_seq} {self.reason} at {self.finished_at}"
        if self.outcome == "abandoned":
            return f"abandoned at {self.checked} of {self.target} events"
        return (
            f"running since {self.started_at}: {self.checked} of {self.target} events"
        )


class RunGoingError(LedgerError):
    """Another verification is going; `run` is it."""

    def __init__(self, run: VerificationRun) -> None:
        super().__init__(f"verification {run.id} is going already")
        self.run = run


def _has_tables(connection: Connection) -> bool:
    return bool(inspect(connection).has_table("verification_runs"))


def ensure_tables(engine: Engine) -> None:
    """Create the two tables when they do not exist yet."""
    with storage_errors("creating the verification tables"):
        metadata.create_all(engine)


def _run(row: object) -> VerificationRun:
    m = row._mapping  # type: ignore[attr-defined]  # a Row
    outcome = str(m["outcome"])
    if outcome == "running" and time.time() - float(m["beat"]) > STALE_AFTER:
        outcome = "abandoned"
    return VerificationRun(
        id=int(m["id"]),
        started_at=str(m["started_at"]),
        finished_at=m["finished_at"],
        started_by=str(m["started_by"]),
        target=int(m["target"]),
        checked=int(m["checked"]),
        outcome=outcome,
        size=m["size"],
        root=m["root"],
        failure_seq=m["failure_seq"],
        reason=m["reason"],
    )


def get_run(engine: Engine, run_id: int) -> VerificationRun | None:
    """Return the run `run_id`, or None."""
    with storage_errors("reading a verification"), engine.connect() as connection:
        if not _has_tables(connection):
            return None
        row = connection.execute(
            select(verification_runs).where(verification_runs.c.id == run_id)
        ).one_or_none()
    return None if row is None else _run(row)


def latest_run(engine: Engine, *, finished: bool = False) -> VerificationRun | None:
    """Return the latest run (only those that ended, with `finished`), or None."""
    query = select(verification_runs).order_by(verification_runs.c.id.desc()).limit(1)
    if finished:
        query = query.where(verification_runs.c.finished_at.is_not(None))
    with storage_errors("reading a verification"), engine.connect() as connection:
        if not _has_tables(connection):
            return None
        row = connection.execute(query).one_or_none()
    return None if row is None else _run(row)


def _claim(engine: Engine, clock: Clock, started_by: str, target: int) -> int:
    """Insert the run and the guard in one transaction; return the run's id.

    Raises:
        RunGoingError: the guard is held by a run that still reports progress.
        IntegrityError: another process inserted the guard meanwhile.
    """
    with engine.begin() as conn:
        held = conn.execute(
            select(verification_guard.c.run_id).where(
                verification_guard.c.name == GUARD
            )
        ).scalar_one_or_none()
        if held is not None:
            going = conn.execute(
                select(verification_runs).where(verification_runs.c.id == held)
            ).one_or_none()
            if going is not None and _run(going).outcome == "running":
                raise RunGoingError(_run(going))
            conn.execute(
                delete(verification_guard).where(
                    verification_guard.c.name == GUARD,
                    verification_guard.c.run_id == held,
                )
            )
        run_id = conn.execute(
            insert(verification_runs).values(
                started_at=format_time(clock.now()),
                started_by=started_by,
                target=target,
                checked=0,
                beat=time.time(),
                outcome="running",
            )
        ).inserted_primary_key[0]  # type: ignore[index]  # one key column
        conn.execute(insert(verification_guard).values(name=GUARD, run_id=run_id))
    return int(run_id)


def claim_run(store: EventStore, clock: Clock, started_by: str) -> VerificationRun:
    """Record a new run of the whole ledger, unless one is going.

    Raises:
        RunGoingError: another run holds the guard and still reports progress.
        StorageError: the database failed.
    """
    engine = store.engine
    ensure_tables(engine)
    target = store.size()
    for _attempt in range(2):
        try:
            with storage_errors("starting a verification"):
                run_id = _claim(engine, clock, started_by, target)
        except StorageError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                continue  # another process claimed it between our read and insert
            raise
        found = get_run(engine, int(run_id))
        if found is None:  # pragma: no cover - inserted above
            raise RuntimeError("the new verification run is not there")
        return found
    going_now = latest_run(engine)
    if going_now is None:  # pragma: no cover - the other claim inserted one
        raise RuntimeError("no verification run although the guard is held")
    raise RunGoingError(going_now)


def run_claimed(
    store: EventStore,
    clock: Clock,
    run_id: int,
    *,
    workers: int | None = None,
    trusted_key_id: str | None = None,
) -> VerificationRun:
    """Verify the whole ledger for the claimed run `run_id` and record what it found.

    Progress is written at most every `PROGRESS_EVERY` seconds; the guard is given
    back whatever happens.
    """
    engine = store.engine
    last = [0.0]

    def progress(checked: int) -> None:
        now = time.time()
        if now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        with engine.begin() as conn:
            conn.execute(
                update(verification_runs)
                .where(verification_runs.c.id == run_id)
                .values(checked=checked, beat=now)
            )

    values: dict[str, object]
    try:
        head, _sizes = verify_store(
            store, trusted_key_id=trusted_key_id, workers=workers, progress=progress
        )
        values = {
            "outcome": "ok",
            "size": head.size,
            "root": base64.b64encode(head.root).decode(),
            "checked": head.size,
        }
    except VerificationError as exc:
        values = {
            "outcome": "failed",
            "failure_seq": exc.seq,
            "reason": exc.reason[:2000],
        }
    except LedgerError as exc:  # the database failed under the run
        values = {"outcome": "failed", "failure_seq": 0, "reason": str(exc)[:2000]}
    values.update(finished_at=format_time(clock.now()), beat=time.time())
    with storage_errors("recording a verification"), engine.begin() as conn:
        conn.execute(
            update(verification_runs)
            .where(verification_runs.c.id == run_id)
            .values(**values)
        )
        conn.execute(
            delete(verification_guard).where(
                verification_guard.c.name == GUARD,
                verification_guard.c.run_id == run_id,
            )
        )
    found = get_run(engine, run_id)
    if found is None:  # pragma: no cover - inserted by claim_run
        raise RuntimeError("the verification run is not there")
    return found


def start_in_background(
    store: EventStore,
    clock: Clock,
    started_by: str,
    *,
    on_end: Callable[[VerificationRun], None] | None = None,
) -> VerificationRun:
    """Claim a run and verify in a thread of this process; return the run at once.

    Raises:
        RunGoingError: another run is going.
    """
    run = claim_run(store, clock, started_by)

    def work() -> None:
        ended = run_claimed(store, clock, run.id)
        if on_end is not None:
            on_end(ended)

    threading.Thread(target=work, name=f"verification-{run.id}", daemon=True).start()
    return run
