"""Apply ledger events to the read models: inline, catch-up and full rebuild.

The incremental paths go through `apply_events`, which folds a batch of events into
the tables and advances each projection's row in `projection_positions` in the SAME
transaction, so a position never claims rows that were not written (and a crash
leaves both behind together). Events at or below a projection's position are
skipped, which makes re-delivery harmless. `rebuild` folds the ledger record by
record in one transaction and sets the positions at its end. Row versions are keyed
by seq and a projection writes only its events' record, so neither the batch size
nor the order of the records changes the result: a rebuild equals incremental
updates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Protocol

from sqlalchemy import Connection, Engine, bindparam, select, update

from ledger import catalog
from ledger.errors import ConfigError, EventRejectedError
from ledger.integrity.envelope import RecordedEvent, stream_kind
from ledger.store import envelope_rows
from ledger.store.engine import is_read_only
from projections.batch import Batch
from projections.errors import ProjectionError
from projections.folds.audits import AuditsProjection
from projections.folds.documents import DocumentsProjection
from projections.folds.fields import record_id
from projections.folds.findings import FindingsProjection
from projections.folds.indicators import IndicatorsProjection
from projections.folds.projection import Projection
from projections.folds.reviews import ReviewsProjection
from projections.folds.units import UnitsProjection
from projections.folds.users import UsersProjection
from projections.tables import (
    ALL_TABLES,
    create_all,
    create_indexes,
    create_tables,
    drop_all,
    projection_positions,
)

ALL_PROJECTIONS: tuple[Projection, ...] = (
    UnitsProjection(),
    UsersProjection(),
    DocumentsProjection(),
    AuditsProjection(),
    FindingsProjection(),
    IndicatorsProjection(),
    ReviewsProjection(),
)

BATCH_SIZE = 5000
Progress = Callable[[int, int], None]


class EventSource(Protocol):
    """What the runner needs of the store (structurally: `ledger.store.EventStore`)."""

    def size(self) -> int: ...

    def read(
        self, from_seq: int = 1, to_seq: int | None = None, *, batch: int = 2000
    ) -> Iterator[RecordedEvent]: ...

    def read_by_stream(
        self, to_seq: int | None = None, *, batch: int = 5000
    ) -> Iterator[RecordedEvent]: ...


def positions(
    connection: Connection,
    projections: Sequence[Projection] = ALL_PROJECTIONS,
    *,
    lock: bool = False,
) -> dict[str, int]:
    """Return each projection's position, creating missing rows at 0.

    With `lock`, the rows are read FOR UPDATE on PostgreSQL so two writers cannot
    apply the same events (on SQLite the write transaction already holds the lock).
    """
    stmt = select(projection_positions.c.name, projection_positions.c.position)
    if lock and connection.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    found = {str(name): int(pos) for name, pos in connection.execute(stmt)}
    missing = [p.name for p in projections if p.name not in found]
    if missing:
        connection.execute(
            projection_positions.insert(), [{"name": n, "position": 0} for n in missing]
        )
        found.update(dict.fromkeys(missing, 0))
    return {p.name: found[p.name] for p in projections}


def _upcast(event: RecordedEvent) -> RecordedEvent:
    """Lift the event's data to the current schema of its type (the stored bytes stay)."""
    try:
        current = catalog.schema_version(event.type)
    except EventRejectedError:
        return event  # a type the catalogue does not know: projections ignore it
    if event.schema == current:
        return event
    data = catalog.upcast(event.type, event.schema, event.data)
    return replace(event, schema=current, data=data)


def apply_events(
    connection: Connection,
    events: Sequence[RecordedEvent],
    projections: Sequence[Projection] = ALL_PROJECTIONS,
) -> None:
    """Fold `events` (consecutive, in seq order) into the tables; advance positions.

    Raises:
        ProjectionError: a projection's position is before the first event - 1.
    """
    if not events:
        return
    current = positions(connection, projections, lock=True)
    first, last = events[0].seq, events[-1].seq
    behind_first = sorted(name for name, pos in current.items() if pos < first - 1)
    if behind_first:
        # Applying these would skip events: the read models would silently diverge.
        raise ProjectionError(
            f"projections {', '.join(behind_first)} are behind seq {first - 1}; "
            "catch up first"
        )
    by_kind = _by_kind(events)
    for projection in projections:
        pos = current[projection.name]
        relevant = [_upcast(e) for e in by_kind.get(projection.kind, ()) if e.seq > pos]
        if not relevant:
            continue
        batch = Batch(connection, projection.tables)
        batch.prefetch({record_id(e) for e in relevant})
        for event in relevant:
            projection.apply(batch, event)
        batch.flush()
    behind = [{"n": name, "p": last} for name, pos in current.items() if pos < last]
    if behind:
        stmt = (
            update(projection_positions)
            .where(projection_positions.c.name == bindparam("n"))
            .values(position=bindparam("p"))
        )
        connection.execute(stmt, behind)


def _by_kind(events: Iterable[RecordedEvent]) -> dict[str, list[RecordedEvent]]:
    """Group events by stream kind, each group in seq order."""
    by_kind: dict[str, list[RecordedEvent]] = {}
    for event in events:
        by_kind.setdefault(stream_kind(event.stream), []).append(event)
    return by_kind


def _stored_events(
    connection: Connection, first: int, last: int
) -> Iterator[RecordedEvent]:
    """Read events first..last from the ledger through `connection`, paged."""
    for _, envelope in envelope_rows(connection, first, last, batch=BATCH_SIZE):
        yield RecordedEvent.from_dict(json.loads(envelope))


class InlineProjector:
    """The store's projector: updates the read models inside the append transaction.

    When a projection is behind the first appended event (tables created after
    events were recorded, or a failed catch-up), the missing events are read from
    the ledger through the same connection and applied first, so the read models
    never skip an event.
    """

    def __init__(self, projections: Sequence[Projection] = ALL_PROJECTIONS) -> None:
        self.projections = tuple(projections)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        """Apply `events` (just appended, not yet committed) to the read models."""
        if not events:
            return
        lowest = min(positions(connection, self.projections, lock=True).values())
        first = events[0].seq
        if lowest < first - 1:
            for chunk in _chunks(_stored_events(connection, lowest + 1, first - 1)):
                apply_events(connection, chunk, self.projections)
        apply_events(connection, events, self.projections)


def _chunks(
    events: Iterable[RecordedEvent], size: int = BATCH_SIZE
) -> Iterator[list[RecordedEvent]]:
    chunk: list[RecordedEvent] = []
    for event in events:
        chunk.append(event)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def catch_up(
    engine: Engine,
    store: EventSource,
    *,
    projections: Sequence[Projection] = ALL_PROJECTIONS,
    progress: Progress | None = None,
) -> int:
    """Apply the events after the lowest stored position; return the new position.

    One transaction per batch of `BATCH_SIZE` events, each advancing the positions
    it covers.
    """
    create_all(engine)
    with engine.begin() as conn:
        lowest = min(positions(conn, projections).values())
    size = store.size()
    for chunk in _chunks(store.read(lowest + 1, size, batch=BATCH_SIZE)):
        with engine.begin() as conn:
            apply_events(conn, chunk, projections)
        if progress is not None:
            progress(chunk[-1].seq, size)
    return max(size, lowest)


def rebuild(
    engine: Engine,
    store: EventSource,
    progress: Progress | None = None,
    *,
    upto: int | None = None,
    projections: Sequence[Projection] = ALL_PROJECTIONS,
) -> int:
    """Drop and recreate every read-model table and replay the ledger into them.

    Replays events 1..`upto` (default: the whole ledger) in ONE transaction: readers
    see the old read models or the new ones, never half of a rebuild, and a failed
    rebuild leaves the old ones. A projection writes only the rows of its events'
    record, so the events are read stream by stream (`read_by_stream`) and each
    record's history is folded on its own (`Batch(hold=True)`): its versions are
    written once, with their `valid_to`, when its stream ends, nothing is read back
    or updated, and memory holds one record plus a few thousand versions to write.
    The secondary indexes are built after the rows are in. Returns the position
    reached. Run it while no appends go through the inline projector of this database.

    Raises:
        ConfigError: the database is a read-only copy.
    """
    if is_read_only(engine):
        raise ConfigError(
            "rebuild writes the read models, and this database is read-only "
            "(an archived copy?): rebuild a writable copy"
        )
    last = store.size() if upto is None else upto
    by_kind: dict[str, list[tuple[Projection, Batch]]] = {}
    with engine.begin() as conn:
        drop_all(conn)
        create_tables(conn)
        batches = [(p, Batch(conn, p.tables, hold=True)) for p in projections]
        for projection, batch in batches:
            by_kind.setdefault(projection.kind, []).append((projection, batch))
        stream, rid = "", ""
        folding: list[tuple[Projection, Batch]] = []
        unwritten = 0
        events = store.read_by_stream(last, batch=BATCH_SIZE) if last else iter(())
        for done, event in enumerate(events):
            if event.stream != stream:  # the last stream's record is complete
                for _, batch in folding:
                    batch.retire(rid)
                if unwritten >= BATCH_SIZE:
                    for _, batch in batches:
                        batch.flush()
                    unwritten = 0
                    if progress is not None:
                        progress(done, last)
                stream, rid = event.stream, record_id(event)
                folding = by_kind.get(stream_kind(stream), [])
            for projection, batch in folding:
                projection.apply(batch, _upcast(event))
            unwritten += 1
        for _, batch in folding:
            batch.retire(rid)
        for _, batch in batches:
            batch.flush()
        create_indexes(conn)
        conn.execute(
            projection_positions.insert(),
            [{"name": p.name, "position": last} for p in projections],
        )
    if engine.dialect.name == "postgresql":
        # Statistics and the visibility map now, not when autovacuum comes by: the
        # planner picks the as-of indexes, and reads them without the table, from
        # the first report on. VACUUM runs outside a transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ALL_TABLES:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {table.name}")
    if progress is not None:
        progress(last, last)
    return last
