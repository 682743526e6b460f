"""Reading the stored events: by seq, by stream, by command, the head and the stream versions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.engine import Connection, Engine, Row

from ledger.errors import EventRejectedError, VerificationError
from ledger.integrity.envelope import RecordedEvent, format_time
from ledger.store.engine import storage_errors
from ledger.store.tables import events, head, streams

HEAD: Final = select(head.c.size, head.c.hash, head.c.recorded_at).where(head.c.id == 1)

_ROW_COLUMNS: Final = (
    events.c.stream,
    events.c.version,
    events.c.type,
    events.c.schema,
    events.c.actor,
    events.c.command_id,
    events.c.occurred_at,
    events.c.recorded_at,
    events.c.key_id,
    events.c.hash,
)


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One row of ledger_events: the envelope text and its indexed columns."""

    seq: int
    envelope: str
    stream: str
    version: int
    type: str
    schema: int
    actor: str
    command_id: str
    occurred_at: str
    recorded_at: str
    key_id: str
    hash: bytes


def event_from_text(text: str | bytes, seq: int = 0) -> RecordedEvent:
    """Return the event a stored envelope text holds.

    Raises:
        VerificationError: the text is not an event envelope.
    """
    try:
        obj = json.loads(text)
        return RecordedEvent(**obj)
    except (ValueError, TypeError) as exc:
        raise VerificationError(
            seq, "stored envelope is not an event envelope"
        ) from exc


def _seq_page(columns: Sequence[Any] = ()) -> sa.Select[Any]:
    """Return the query of one page of rows lo..hi by seq, at most n of them."""
    return (
        select(events.c.seq, events.c.envelope, *columns)
        .where(events.c.seq >= bindparam("lo"), events.c.seq <= bindparam("hi"))
        .order_by(events.c.seq)
        .limit(bindparam("n"))
    )


def envelope_rows(
    connection: Connection, first: int, last: int, *, batch: int = 5000
) -> Iterator[tuple[int, str]]:
    """Yield (seq, envelope text) of events first..last through `connection`, paged.

    For work inside a transaction that is open already (an inline projector catching
    up inside the append transaction sees what that transaction sees).
    """
    page = _seq_page()
    lo = first
    while lo <= last:
        rows = connection.execute(page, {"lo": lo, "hi": last, "n": batch}).all()
        if not rows:
            return
        for seq, envelope in rows:
            yield int(seq), str(envelope)
        lo = int(rows[-1][0]) + 1


def check_range(from_seq: int, to_seq: int | None, batch: int) -> None:
    """Refuse a read range that starts before 1, ends below 0 or has no batch size."""
    if from_seq < 1 or batch < 1 or (to_seq is not None and to_seq < 0):
        raise EventRejectedError(
            "read range must have from_seq >= 1, to_seq >= 0 and batch >= 1",
            {"range": f"from_seq={from_seq}, to_seq={to_seq}, batch={batch}"},
        )


def pages(
    reader: Engine,
    from_seq: int,
    to_seq: int | None,
    batch: int,
    columns: Sequence[Any] = (),
) -> Iterator[Row[Any]]:
    """Yield rows from_seq..to_seq (default: the head when reading starts) by seq.

    Keyset pagination, each page in its own short transaction, so memory stays flat
    and no lock is held between pages. Check the range first (`check_range`).
    """
    last = size(reader) if to_seq is None else to_seq
    page = _seq_page(columns)
    lo = from_seq
    while lo <= last:
        with storage_errors("reading events"), reader.connect() as connection:
            rows = connection.execute(page, {"lo": lo, "hi": last, "n": batch}).all()
        if not rows:
            return
        yield from rows
        lo = rows[-1][0] + 1


def stored_rows(
    reader: Engine, from_seq: int, to_seq: int | None, batch: int
) -> Iterator[StoredRow]:
    """Yield each stored row with its indexed columns (see `pages`)."""
    for row in pages(reader, from_seq, to_seq, batch, _ROW_COLUMNS):
        yield StoredRow(**row._asdict())


_CHUNK_SQL: Final = (
    "SELECT envelope, seq, stream, version, type, schema, actor, command_id,"
    " occurred_at, recorded_at, key_id, hash FROM ledger_events"
    " WHERE seq >= {mark} AND seq <= {mark} ORDER BY seq"
)


def row_chunk(
    reader: Engine, first: int, last: int
) -> tuple[list[bytes], list[Sequence[object]]]:
    """Return the envelope lines with first <= seq <= last in seq order, and beside
    each the columns a verifier compares with it (`verify.chunks.COPIED` order).

    The rows come from the driver's cursor, not as SQLAlchemy rows: a verifier reads
    the whole ledger this way, and building a row object per event cost more than
    the rest of reading it.
    """
    mark = "?" if reader.dialect.paramstyle == "qmark" else "%s"
    with storage_errors("reading events"), reader.connect() as connection:
        result = connection.exec_driver_sql(_CHUNK_SQL.format(mark=mark), (first, last))
        rows = result.cursor.fetchall()
        result.close()
    return [row[0].encode() for row in rows], [row[1:] for row in rows]


def stream_pages(reader: Engine, last: int, batch: int) -> Iterator[RecordedEvent]:
    """Yield events 1..last stream by stream, each stream's in version order."""
    order = (events.c.stream, events.c.version)
    page = (
        select(events.c.seq, events.c.envelope, *order)
        .where(events.c.seq <= bindparam("hi"))
        .order_by(*order)
        .limit(bindparam("n"))
    )
    after = page.where(tuple_(*order) > tuple_(bindparam("s"), bindparam("v")))
    params: dict[str, object] = {"hi": last, "n": batch}
    stmt = page
    while True:
        with storage_errors("reading events"), reader.connect() as connection:
            rows = connection.execute(stmt, params).all()
        for row in rows:
            yield event_from_text(row.envelope, row.seq)
        if len(rows) < batch:
            return
        params.update(s=rows[-1].stream, v=rows[-1].version)
        stmt = after


def read_stream(reader: Engine, stream: str) -> list[RecordedEvent]:
    """Return the events of `stream` in version order."""
    query = (
        select(events.c.seq, events.c.envelope)
        .where(events.c.stream == stream)
        .order_by(events.c.version)
    )
    with storage_errors("reading a stream"), reader.connect() as connection:
        rows = connection.execute(query).all()
    return [event_from_text(text, seq) for seq, text in rows]


def stream_version(reader: Engine, stream: str) -> int:
    """Return the current version of `stream`, 0 when it has no events."""
    query = select(streams.c.version).where(streams.c.stream == stream)
    with storage_errors("reading a stream version"), reader.connect() as connection:
        version = connection.execute(query).scalar_one_or_none()
    return int(version or 0)


def events_for_command(connection: Connection, command_id: str) -> list[RecordedEvent]:
    """Return the events the command `command_id` appended, through `connection`."""
    query = (
        select(events.c.seq, events.c.envelope)
        .where(events.c.command_id == command_id)
        .order_by(events.c.seq)
    )
    return [event_from_text(text, seq) for seq, text in connection.execute(query)]


def command_events(reader: Engine, command_id: str) -> list[RecordedEvent]:
    """Return the events the command `command_id` appended, in a read of their own."""
    with storage_errors("reading a command's events"), reader.connect() as connection:
        return events_for_command(connection, command_id)


def genesis_text(connection: Connection) -> str | None:
    """Return the stored envelope text of event 1, or None."""
    query = select(events.c.envelope).where(events.c.seq == 1)
    text = connection.execute(query).scalar_one_or_none()
    return None if text is None else str(text)


def genesis_origin(reader: Engine) -> str | None:
    """Return the origin event 1 names, or None when the ledger has no event 1."""
    with storage_errors("reading event 1"), reader.connect() as connection:
        text = genesis_text(connection)
    if text is None:
        return None
    named = event_from_text(text, 1).data.get("origin")
    return named if isinstance(named, str) else None


def read_head(reader: Engine) -> tuple[int, bytes]:
    """Return (size, hash of the last event), or (0, 32 zero bytes) when empty."""
    with storage_errors("reading the head"), reader.connect() as connection:
        size_, hash_, _ = connection.execute(HEAD).one()
    return int(size_), bytes(hash_)


def size(reader: Engine) -> int:
    """Return the number of events in the ledger."""
    return read_head(reader)[0]


def extent(reader: Engine) -> tuple[int, int]:
    """Return (row count, highest seq) of the events table, whatever the head says."""
    query = select(sa.func.count(), sa.func.coalesce(sa.func.max(events.c.seq), 0))
    with storage_errors("counting events"), reader.connect() as connection:
        count, top = connection.execute(query).one()
    return int(count), int(top)


def stream_versions(reader: Engine) -> dict[str, int]:
    """Return the stored current version of every stream."""
    query = select(streams.c.stream, streams.c.version)
    with storage_errors("reading streams"), reader.connect() as connection:
        return {str(name): int(version) for name, version in connection.execute(query)}


def size_at(reader: Engine, moment: datetime) -> int:
    """Return n(T): how many events have recorded_at <= `moment`.

    recorded_at never decreases, so those events are the prefix 1..n(T), and n(T)
    is the seq of the last of them: one probe of the (recorded_at, seq) index.
    """
    try:
        bound = format_time(moment)
    except ValueError as exc:
        raise EventRejectedError(
            str(exc), {"moment": "must be timezone-aware"}
        ) from exc
    query = (
        select(events.c.seq)
        .where(events.c.recorded_at <= bound)
        .order_by(events.c.recorded_at.desc(), events.c.seq.desc())
        .limit(1)
    )
    with storage_errors("finding the size at a time"), reader.connect() as connection:
        seq = connection.execute(query).scalar_one_or_none()
    return int(seq or 0)
