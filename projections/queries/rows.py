"""Reading rows for the views: dict rows, driver tuples and the column value readers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, Select
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from ledger.integrity.canonical import JSONValue


def driver_rows(conn: Connection, stmt: ClauseElement) -> list[tuple[Any, ...]]:
    """Run `stmt` on the driver's own cursor, in `conn`'s transaction, and return
    the driver's plain tuples.

    For the few statements that return tens of thousands of rows to be turned into
    report entries at once: no result rows are built and no type converts a value,
    so values come as the driver gives them (SQLite gives booleans as 0 and 1).
    """
    compiled = cast(
        "SQLCompiler",
        stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True}),
    )
    params = compiled.construct_params()
    order = compiled.positiontup
    args = params if order is None else tuple(params[k] for k in order)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def dict_rows(
    conn: Connection, stmt: Select[tuple[object, ...]]
) -> list[dict[str, object]]:
    """Run `stmt` and return its rows as dicts of column name to value."""
    result = conn.execute(stmt)
    keys = tuple(result.keys())  # once, not per row: registers hold tens of thousands
    return [dict(zip(keys, r, strict=True)) for r in result]


def text_of(value: object) -> str:
    """Return a column value as text, NULL as the empty string."""
    return "" if value is None else str(value)


def text_or_none(value: object) -> str | None:
    """Return a column value as text, NULL as None."""
    return None if value is None else str(value)


def int_or_zero(value: object) -> int:
    """Return an integer column value, anything else as 0."""
    return value if isinstance(value, int) else 0


def json_of(value: object) -> JSONValue:
    """Return the value of a canonical JSON text column, NULL as None."""
    if not isinstance(value, str):
        return None
    loaded: JSONValue = json.loads(value)
    return loaded


def json_list(value: object) -> tuple[JSONValue, ...]:
    """Return a JSON list column as a tuple, anything else as ()."""
    loaded = json_of(value)
    return tuple(loaded) if isinstance(loaded, list) else ()


def str_list(value: object) -> tuple[str, ...]:
    """Return a JSON list column as a tuple of texts."""
    return tuple(str(v) for v in json_list(value))


def json_object(value: object) -> Mapping[str, JSONValue] | None:
    """Return a JSON object column as a mapping, anything else as None."""
    loaded = json_of(value)
    return loaded if isinstance(loaded, dict) else None
