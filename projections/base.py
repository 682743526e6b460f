"""The Projection protocol and `Batch`, the versioned-row writer every projection uses.

A projection folds the events of one stream kind into row versions. It never
writes SQL itself: it reads and replaces *current* rows through a `Batch`, which
keeps a per-batch cache of the current rows of the records the batch touches,
closes replaced versions (`valid_to = seq`) and inserts new ones with one
executemany per table at `flush`. Because every version is keyed by the seq of the
event that made it, applying the same events in batches of any size gives the same
rows: this is what makes a rebuild equal to incremental updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, Table, and_, bindparam, select, update

from ledger.canonical import JSONValue, canonical_bytes
from ledger.envelope import RecordedEvent
from projections.models import key_columns

Row = dict[str, object]
_IN_CHUNK = 500


class Projection(Protocol):
    """One read model: the stream kind it folds and the tables it owns."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str:
        """The stream kind (`document`, `finding`, ...) whose events it folds."""
        ...

    @property
    def tables(self) -> Sequence[Table]:
        """Its tables; the first key column of each is the record id of the stream."""
        ...

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        """Fold one event into row versions through `batch`."""
        ...


def record_id(event: RecordedEvent) -> str:
    """Return the `<id>` part of the event's stream `<kind>/<id>`."""
    return event.stream.split("/", 1)[1]


def to_json(value: JSONValue) -> str:
    """Return the canonical JSON text stored in list and object columns."""
    return canonical_bytes(value).decode("utf-8")


def day_of(ledger_time: str) -> str:
    """Return the `YYYY-MM-DD` date of a ledger time."""
    return ledger_time[:10]


@dataclass(slots=True)
class _Current:
    row: Row
    new: bool  # inserted in this batch (still only in memory)


class Batch:
    """Per-batch cache of current rows and the pending writes of one transaction."""

    def __init__(self, connection: Connection, tables: Sequence[Table]) -> None:
        self._conn = connection
        self._tables = {t.name: t for t in tables}
        self._keys = {t.name: key_columns(t) for t in tables}
        self._columns = {t.name: tuple(c.name for c in t.columns) for t in tables}
        # table -> record id -> key tuple -> current version
        self._current: dict[str, dict[str, dict[tuple[str, ...], _Current]]] = {
            t.name: {} for t in tables
        }
        self._inserts: dict[str, list[Row]] = {t.name: [] for t in tables}
        self._closes: dict[str, list[Row]] = {t.name: [] for t in tables}

    # -- loading -----------------------------------------------------------------
    def prefetch(self, ids: Iterable[str]) -> None:
        """Load the current rows of the given record ids in every table (chunked IN)."""
        for name, table in self._tables.items():
            cache = self._current[name]
            wanted = sorted({i for i in ids if i not in cache})
            if not wanted:
                continue
            id_col = table.c[self._keys[name][0]]
            for i in wanted:
                cache[i] = {}
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
        """Load the current rows of one record in one table."""
        cache = self._current[table.name]
        cache[rid] = {}
        id_col = table.c[self._keys[table.name][0]]
        stmt = select(table).where(id_col == rid, table.c.valid_to.is_(None))
        for db_row in self._conn.execute(stmt):
            row = dict(db_row._mapping)
            key = tuple(str(row[k]) for k in self._keys[table.name])
            cache[rid][key] = _Current(row=row, new=False)

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
        names = self._keys[table.name]
        row: Row = dict.fromkeys(self._columns[table.name])
        row.update(values)
        row.update(zip(names, key, strict=True))
        row["valid_from"] = seq
        row["valid_to"] = None
        record = self._record(table, key[0])
        tkey = tuple(key)
        current = record.get(tkey)
        if current is not None:
            if all(
                current.row[c] == row[c]
                for c in row
                if c not in ("valid_from", "valid_to")
            ):
                return  # nothing changed: no new version
            if current.new and current.row["valid_from"] == seq:
                current.row.update(row)  # a second change by the same event
                return
            self._end(table, current, seq)
        record[tkey] = _Current(row=row, new=True)
        self._inserts[table.name].append(row)

    def update(
        self, table: Table, key: Sequence[str], seq: int, **changes: object
    ) -> None:
        """Replace the current version of `key` with one carrying `changes`.

        Raises:
            KeyError: the record has no current row (an event out of its lifecycle).
        """
        current = self.get(table, *key)
        if current is None:
            raise KeyError(f"{table.name} {'/'.join(key)} has no current row")
        self.put(table, key, seq, {**current, **changes})

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
                self._inserts[table.name].remove(current.row)
            else:
                current.row["valid_to"] = seq
            return
        close = {f"k_{k}": current.row[k] for k in self._keys[table.name]}
        close["k_valid_from"] = current.row["valid_from"]
        close["new_valid_to"] = seq
        self._closes[table.name].append(close)

    def flush(self) -> None:
        """Write the pending closes and inserts: one executemany per table."""
        for name, table in self._tables.items():
            closes = self._closes[name]
            if closes:
                cond = [table.c[k] == bindparam(f"k_{k}") for k in self._keys[name]]
                cond.append(table.c.valid_from == bindparam("k_valid_from"))
                stmt = (
                    update(table)
                    .where(and_(*cond))
                    .values(valid_to=bindparam("new_valid_to"))
                )
                self._conn.execute(stmt, closes)
            inserts = self._inserts[name]
            if inserts:
                self._conn.execute(table.insert(), inserts)
            self._closes[name] = []
            self._inserts[name] = []
        # Written rows are stored rows now: later changes close them by UPDATE.
        for records in self._current.values():
            for record in records.values():
                for current in record.values():
                    current.new = False


def text(data: Mapping[str, JSONValue], key: str) -> str | None:
    """Return `data[key]` as text: strings as is, other values as canonical JSON."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return to_json(value)


def integer(data: Mapping[str, JSONValue], key: str) -> int | None:
    """Return `data[key]` when it is an integer, else None."""
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def obj(data: Mapping[str, JSONValue], key: str) -> Mapping[str, JSONValue]:
    """Return `data[key]` when it is an object, else an empty mapping."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def items(data: Mapping[str, JSONValue], key: str) -> list[JSONValue]:
    """Return `data[key]` when it is a list, else an empty list."""
    value = data.get(key)
    return list(value) if isinstance(value, (list, tuple)) else []
