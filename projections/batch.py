"""`Batch`, the versioned-row writer every projection uses.

A projection folds the events of one stream kind into row versions. It never
writes SQL itself: it reads and replaces *current* rows through a `Batch`, which
keeps a per-batch cache of the current rows of the records the batch touches,
closes replaced versions (`valid_to = seq`, and their `span`) and inserts new
ones with one statement per table at `flush`. Because every version is keyed by the
seq of the event that made it, applying the same events in batches of any size gives the same
rows: this is what makes a rebuild equal to incremental updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Protocol

from sqlalchemy import Connection, Table, select

from projections.errors import ProjectionError
from projections.tables import VERSION_COLUMNS, key_columns, span_of

Row = dict[str, object]
_IN_CHUNK = 500


@dataclass(slots=True)
class _Current:
    row: Row
    new: bool  # not written yet: the version is only in memory


class Batch:
    """Cache of current rows and the pending writes of one transaction.

    A batch of the incremental path loads the current rows of the records it
    touches and writes every new version at `flush`. A batch made with `hold=True`
    serves a rebuild, which folds one record's whole stream at a time into empty
    tables: a record is new when first touched (no query), its versions stay in
    memory while current, and `retire(rid)` hands them over to be written once its
    stream is done, so every version is inserted once, with its `valid_to`, and
    never updated. Touching a retired record again is refused: a projection writes
    only the rows of its own events' record.
    """

    def __init__(
        self, connection: Connection, tables: Sequence[Table], *, hold: bool = False
    ) -> None:
        self._conn = connection
        self._hold = hold
        self._tables = {t.name: t for t in tables}
        self._keys = {t.name: key_columns(t) for t in tables}
        self._columns = {t.name: tuple(c.name for c in t.columns) for t in tables}
        # The data columns of a version: what a new version must change to exist.
        self._data = {
            t.name: itemgetter(
                *(
                    c.name
                    for c in t.columns
                    if c.name not in (*self._keys[t.name], *VERSION_COLUMNS)
                )
            )
            for t in tables
        }
        # table -> record id -> key tuple -> current version
        self._current: dict[str, dict[str, dict[tuple[str, ...], _Current]]] = {
            t.name: {} for t in tables
        }
        # The current versions not written yet, by identity (a version may be
        # dropped again), and the versions ready to be written.
        self._inserts: dict[str, dict[int, Row]] = {t.name: {} for t in tables}
        self._ready: dict[str, list[Row]] = {t.name: [] for t in tables}
        # The stored current versions to end, with the seq that ends them.
        self._closes: dict[str, list[tuple[Row, int]]] = {t.name: [] for t in tables}
        self._retired: set[str] = set()  # hold: the records whose stream is done

    # -- loading -----------------------------------------------------------------
    def prefetch(self, ids: Iterable[str]) -> None:
        """Load the current rows of the given record ids in every table (chunked IN)."""
        for name, table in self._tables.items():
            cache = self._current[name]
            wanted = sorted({i for i in ids if i not in cache})
            if not wanted:
                continue
            for i in wanted:
                cache[i] = {}
            id_col = table.c[self._keys[name][0]]
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                stmt = select(table).where(
                    id_col.in_(chunk), table.c.valid_to.is_(None)
                )
                for db_row in self._conn.execute(stmt):
                    row = dict(db_row._mapping)
                    key = tuple(str(row[k]) for k in self._keys[name])
                    cache[key[0]][key] = _Current(row=row, new=False)

    def _record(self, table: Table, rid: str) -> dict[tuple[str, ...], _Current]:
        cache = self._current[table.name]
        if rid not in cache:
            self.prefetch_one(table, rid)
        return cache[rid]

    def prefetch_one(self, table: Table, rid: str) -> None:
        """Load the current rows of one record in one table.

        Raises:
            ProjectionError: (hold) the record was retired already.
        """
        cache = self._current[table.name]
        cache[rid] = {}
        if self._hold:  # a record of a rebuild starts empty, once
            if rid in self._retired:
                raise ProjectionError(
                    f"{table.name}: record {rid!r} was touched after its stream ended"
                )
            return
        id_col = table.c[self._keys[table.name][0]]
        stmt = select(table).where(id_col == rid, table.c.valid_to.is_(None))
        for db_row in self._conn.execute(stmt):
            row = dict(db_row._mapping)
            key = tuple(str(row[k]) for k in self._keys[table.name])
            cache[rid][key] = _Current(row=row, new=False)

    def retire(self, rid: str) -> None:
        """(hold) The stream of record `rid` is done: queue its versions for writing.

        Raises:
            ProjectionError: its events touched another record too.
        """
        self._retired.add(rid)
        for name, records in self._current.items():
            record = records.pop(rid, None)
            if record:
                pending = self._inserts[name]
                self._ready[name].extend(
                    pending.pop(id(c.row)) for c in record.values() if c.new
                )
            if records:
                raise ProjectionError(
                    f"{name}: the events of record {rid!r} touched record "
                    f"{next(iter(records))!r}"
                )

    # -- reading -----------------------------------------------------------------
    def get(self, table: Table, *key: str) -> Row | None:
        """Return the current row of `key` (do not mutate it), or None."""
        current = self._record(table, key[0]).get(key)
        return None if current is None else current.row

    def children(self, table: Table, rid: str) -> list[Row]:
        """Return the current rows of record `rid`, ordered by key."""
        record = self._record(table, rid)
        return [record[k].row for k in sorted(record)]

    # -- writing -----------------------------------------------------------------
    def put(
        self, table: Table, key: Sequence[str], seq: int, values: Mapping[str, object]
    ) -> None:
        """Make `values` the current version of `key` from `seq` on (missing: NULL)."""
        name = table.name
        row: Row = dict.fromkeys(self._columns[name])
        row.update(values)
        row.update(zip(self._keys[name], key, strict=True))
        row["valid_from"] = seq
        row["valid_to"] = None
        row["span"] = 0
        record = self._record(table, key[0])
        tkey = tuple(key)
        current = record.get(tkey)
        if current is not None:
            data = self._data[name]
            if data(current.row) == data(row):
                return  # nothing changed: no new version
            if self._replaced_in_place(current, row, seq):
                return
            self._end(table, current, seq)
        record[tkey] = _Current(row=row, new=True)
        self._inserts[name][id(row)] = row

    def update(
        self, table: Table, key: Sequence[str], seq: int, **changes: object
    ) -> None:
        """Replace the current version of `key` with one carrying `changes`.

        Raises:
            KeyError: the record has no current row (an event out of its lifecycle).
        """
        record = self._record(table, key[0])
        tkey = tuple(key)
        current = record.get(tkey)
        if current is None:
            raise KeyError(f"{table.name} {'/'.join(key)} has no current row")
        old = current.row
        if all(old[column] == value for column, value in changes.items()):
            return  # nothing changed: no new version
        row = {**old, **changes, "valid_from": seq, "valid_to": None, "span": 0}
        if self._replaced_in_place(current, row, seq):
            return
        self._end(table, current, seq)
        record[tkey] = _Current(row=row, new=True)
        self._inserts[table.name][id(row)] = row

    @staticmethod
    def _replaced_in_place(current: _Current, row: Row, seq: int) -> bool:
        """A second change by the event that made `current`: change that version."""
        if current.new and current.row["valid_from"] == seq:
            current.row.update(row)
            return True
        return False

    def end(self, table: Table, key: Sequence[str], seq: int) -> None:
        """End the current version of `key` at `seq` (the record stops existing)."""
        record = self._record(table, key[0])
        current = record.pop(tuple(key), None)
        if current is not None:
            self._end(table, current, seq)

    def _end(self, table: Table, current: _Current, seq: int) -> None:
        if current.new:
            if current.row["valid_from"] == seq:
                # Born and ended by the same event: it never existed at any position.
                del self._inserts[table.name][id(current.row)]
            else:
                row = self._inserts[table.name].pop(id(current.row))
                row["valid_to"] = seq
                row["span"] = span_of(_int(row["valid_from"]), seq)
                self._ready[table.name].append(row)
            return
        self._closes[table.name].append((current.row, seq))

    def flush(self) -> None:
        """Write the pending closes and inserts: one statement per table and kind.

        With `hold`, only the versions that ended and those of retired records.
        """
        writer = _writer(self._conn.dialect.name)
        for name, table in self._tables.items():
            closes = self._closes[name]
            if closes:
                writer.close(self._conn, table, closes)
                self._closes[name] = []
            rows = self._ready[name]
            self._ready[name] = []
            if not self._hold:
                pending = self._inserts[name]
                rows.extend(pending.values())
                pending.clear()
                for record in self._current[name].values():
                    for current in record.values():
                        current.new = False  # stored now: later changes UPDATE it
            if rows:
                writer.insert(self._conn, table, rows)


class _Writer(Protocol):
    def insert(self, conn: Connection, table: Table, rows: Sequence[Row]) -> None: ...

    def close(
        self, conn: Connection, table: Table, closes: Sequence[tuple[Row, int]]
    ) -> None: ...


class _SQLiteWriter:
    """executemany of plain SQL on the driver: SQLite runs it without a round trip."""

    def insert(self, conn: Connection, table: Table, rows: Sequence[Row]) -> None:
        sql, get = _sqlite_insert(table)
        conn.exec_driver_sql(sql, [get(row) for row in rows])

    def close(
        self, conn: Connection, table: Table, closes: Sequence[tuple[Row, int]]
    ) -> None:
        sql, get = _sqlite_close(table)
        conn.exec_driver_sql(
            sql,
            [
                (seq, span_of(_int(row["valid_from"]), seq), *get(row))
                for row, seq in closes
            ],
        )


class _PostgresWriter:
    """One statement per table and kind: the rows travel as one array per column."""

    def insert(self, conn: Connection, table: Table, rows: Sequence[Row]) -> None:
        sql, columns = _pg_insert(table)
        conn.exec_driver_sql(sql, tuple([row[c] for row in rows] for c in columns))

    def close(
        self, conn: Connection, table: Table, closes: Sequence[tuple[Row, int]]
    ) -> None:
        sql, columns = _pg_close(table)
        params = [[row[c] for row, _ in closes] for c in columns]
        params.append([seq for _, seq in closes])
        params.append([span_of(_int(row["valid_from"]), seq) for row, seq in closes])
        conn.exec_driver_sql(sql, tuple(params))


def _int(value: object) -> int:
    if not isinstance(value, int):  # pragma: no cover - valid_from is NOT NULL
        raise TypeError(f"valid_from must be an integer, not {value!r}")
    return value


def _version_key(table: Table) -> tuple[str, ...]:
    """The columns that name one row version: the record's key and `valid_from`."""
    return (*key_columns(table), "valid_from")


@cache
def _sqlite_insert(table: Table) -> tuple[str, itemgetter[tuple[object, ...]]]:
    columns = [c.name for c in table.columns]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    return sql, itemgetter(*columns)


@cache
def _sqlite_close(table: Table) -> tuple[str, itemgetter[tuple[object, ...]]]:
    names = _version_key(table)
    where = " AND ".join(f"{c} = ?" for c in names)
    sql = f"UPDATE {table.name} SET valid_to = ?, span = ? WHERE {where}"
    return sql, itemgetter(*names)


_PG_TYPES = {
    "TEXT": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
}


def _pg_arrays(table: Table, columns: Sequence[str]) -> str:
    return ", ".join(
        f"%b::{_PG_TYPES[str(table.c[c].type.compile())]}[]" for c in columns
    )


@cache
def _pg_insert(table: Table) -> tuple[str, tuple[str, ...]]:
    columns = tuple(c.name for c in table.columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT * FROM unnest({_pg_arrays(table, columns)})"
    )
    return sql, columns


@cache
def _pg_close(table: Table) -> tuple[str, tuple[str, ...]]:
    names = _version_key(table)
    match = " AND ".join(f"t.{c} = v.{c}" for c in names)
    sql = (
        f"UPDATE {table.name} AS t SET valid_to = v.new_valid_to, span = v.new_span "
        f"FROM unnest({_pg_arrays(table, names)}, %b::bigint[], %b::integer[]) "
        f"AS v({', '.join(names)}, new_valid_to, new_span) WHERE {match}"
    )
    return sql, names


def _writer(dialect: str) -> _Writer:
    return _PostgresWriter() if dialect == "postgresql" else _SQLiteWriter()
