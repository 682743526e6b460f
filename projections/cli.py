"""The read side's click commands: `rebuild` and `report`.

The composition root hands `make_group` a factory that opens the event store; the
read models live in the store's database. Nothing here imports web/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import click
from sqlalchemy import Engine

from ledger.envelope import parse_time
from projections.models import create_all
from projections.reports import ReportLedger, build_report
from projections.runner import EventSource, rebuild


class CliStore(ReportLedger, EventSource, Protocol):
    """What the commands need of the store (structurally: `ledger.store.EventStore`)."""

    engine: Engine


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-03-31T23:59:59Z")
    return moment.astimezone(UTC)


def make_group(open_store: Callable[[], CliStore]) -> click.Group:
    """Return the `rebuild` and `report` commands bound to `open_store`."""

    @click.group(name="projections")
    def group() -> None:
        """Read models: rebuild them, print the QMS status report."""

    @group.command("rebuild")
    def rebuild_command() -> None:
        """Drop and rebuild every projection from the ledger."""
        store = open_store()
        engine = store.engine
        total = store.size()
        with click.progressbar(length=max(total, 1), label="Rebuilding") as bar:
            done = [0]

            def progress(position: int, _total: int) -> None:
                bar.update(position - done[0])
                done[0] = position

            reached = rebuild(engine, store, progress)
        click.echo(f"rebuilt read models from {reached} events")

    @group.command("report")
    @click.option(
        "--as-of",
        "as_of",
        default=None,
        help="Time T (ISO 8601 with zone); default now.",
    )
    @click.option(
        "--unit", default=None, help="Unit code; its whole subtree is included."
    )
    @click.option(
        "--format",
        "formats",
        default="json",
        help="Comma-separated: json, csv, html.",
    )
    @click.option(
        "--out",
        type=click.Path(path_type=Path),
        default=None,
        help="File to write (its suffix names the format, e.g. report.html), or a "
        "folder to write report.<format> into; default: print to stdout.",
    )
    def report_command(
        as_of: str | None, unit: str | None, formats: str, out: Path | None
    ) -> None:
        """Print or write the QMS status report as it stood at T."""
        wanted = [f.strip() for f in formats.split(",") if f.strip()]
        bad = sorted(set(wanted) - {"json", "csv", "html"})
        if bad:
            raise click.BadParameter(f"unknown format(s): {', '.join(bad)}")
        store = open_store()
        engine = store.engine
        create_all(engine)
        report = build_report(engine, store, as_of=_moment(as_of), unit=unit)
        rendered = {
            "json": report.to_json(),
            "csv": report.to_csv().encode(),
            "html": report.to_html().encode(),
        }
        if out is not None and out.suffix.lstrip(".") in rendered:
            fmt = out.suffix.lstrip(".")
            if formats != "json" and wanted != [fmt]:
                raise click.BadParameter(
                    f"--out {out.name} names format {fmt}, --format asks for {formats}"
                )
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(rendered[fmt])
            wanted = []
        for fmt in wanted:
            if out is None:
                click.echo(rendered[fmt].decode())
            else:
                out.mkdir(parents=True, exist_ok=True)
                (out / f"report.{fmt}").write_bytes(rendered[fmt])
        click.echo(f"sha256 {report.sha256()}", err=True)

    return group
