"""The CSV rendering of a status report: one (section, item, field, value) row per fact."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from ledger.integrity.canonical import JSONValue, canonical_bytes


def render_csv(data: Mapping[str, JSONValue]) -> str:
    """Return the report as CSV rows: section, item, field, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "item", "field", "value"])
    for section, item, name, value in csv_rows(data):
        writer.writerow([section, item, name, value])
    return out.getvalue()


def _scalar(value: JSONValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return canonical_bytes(value).decode()


def csv_rows(data: Mapping[str, JSONValue]) -> list[tuple[str, str, str, str]]:
    """Flatten the report into (section, item, field, value) rows in key order."""
    rows: list[tuple[str, str, str, str]] = []
    for section in sorted(data):
        value = data[section]
        if isinstance(value, Mapping):
            for name in sorted(value):
                inner = value[name]
                if isinstance(inner, Mapping):
                    for key in sorted(inner):
                        rows.append((section, name, key, _scalar(inner[key])))
                elif isinstance(inner, list):
                    for entry in inner:
                        rows.extend(_entry_rows(section, name, entry))
                else:
                    rows.append((section, "", name, _scalar(inner)))
        elif isinstance(value, list):
            for entry in value:
                rows.extend(_entry_rows(section, "", entry))
        else:
            rows.append((section, "", "", _scalar(value)))
    return rows


def _entry_rows(
    section: str, group: str, entry: JSONValue
) -> list[tuple[str, str, str, str]]:
    if not isinstance(entry, Mapping):
        return [(section, group, "", _scalar(entry))]
    ident = next(
        (str(entry[k]) for k in ("doc_id", "finding_id", "indicator_id") if k in entry),
        "",
    )
    item = f"{group}/{ident}" if group else ident
    rows = []
    for key in sorted(entry):
        inner = entry[key]
        if key == "periods" and isinstance(inner, list):
            for p in inner:
                if isinstance(p, Mapping):
                    period = str(p.get("period"))
                    for pk in sorted(p):
                        rows.append((section, f"{item}/{period}", pk, _scalar(p[pk])))
        else:
            rows.append((section, item, key, _scalar(inner)))
    return rows
