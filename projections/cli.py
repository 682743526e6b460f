"""The read side's click commands: `rebuild`, `report` and `partial-export`.

The composition root hands `make_group` a factory that opens the event store; the
read models live in the store's database. Nothing here imports web/.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, cast

import click
from sqlalchemy import Engine

from ledger.errors import EventRejectedError, StorageError
from ledger.integrity.envelope import parse_time
from projections.errors import RecordNotFoundError
from projections.queries.streams import unit_streams
from projections.reports import ReportLedger, build_report
from projections.runner import EventSource, rebuild
from projections.tables import create_all


class CliStore(ReportLedger, EventSource, Protocol):
    """What the commands need of the store (structurally: `ledger.store.EventStore`)."""

    engine: Engine


def _shown(text: str, limit: int = 40) -> str:
    """Return what the user typed, quoted, cut to `limit` characters for a message."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}..."


def _moment(text: str | None) -> datetime:
    """Return the instant `--as-of` names (default now), in UTC.

    Raises:
        click.BadParameter: not an ISO 8601 time with a zone, or outside years
            1..9999 in UTC.
    """
    if text is None:
        return datetime.now(UTC)
    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{_shown(text)} is not an ISO 8601 time in the years 0001 to 9999, "
            "e.g. 2026-03-31T23:59:59Z",
            param_hint="--as-of",
        ) from exc
    if moment.tzinfo is None:
        raise click.BadParameter(
            "give a time zone, e.g. 2026-03-31T23:59:59Z", param_hint="--as-of"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise click.BadParameter(
            f"{_shown(text)} is outside the years 0001 to 9999 in UTC",
            param_hint="--as-of",
        ) from exc


FORMATS = ("json", "csv", "html")


def _targets(
    formats: str | None, out: str | None
) -> tuple[list[str], Path | None, bool]:
    """Return (formats, path, whether the path is a folder) for `--format`, `--out`.

    An explicit `--format` wins over the suffix of `--out FILE`; without it the
    suffix names the format. `--out` naming an existing folder, or ending with a
    slash, is a folder that gets report.<format> for every format.

    Raises:
        click.BadParameter: an unknown format, several formats for one file, or a
            file whose suffix names no format while `--format` is not given.
    """
    wanted = [f.strip() for f in (formats or "json").split(",") if f.strip()]
    bad = sorted(set(wanted) - set(FORMATS))
    if bad:
        raise click.BadParameter(
            f"unknown format(s): {_shown(', '.join(bad))}", param_hint="--format"
        )
    if not wanted:
        raise click.BadParameter(
            "name a format: json, csv or html", param_hint="--format"
        )
    if out is None:
        return wanted, None, False
    path = Path(out)
    if path.is_dir() or out.endswith(("/", os.sep)):
        return wanted, path, True
    if formats is None:
        suffix = path.suffix.lstrip(".").lower()
        if suffix not in FORMATS:
            raise click.BadParameter(
                f"{_shown(path.name)} names no format: give --format json, csv or "
                "html, or a file name ending in .json, .csv or .html",
                param_hint="--out",
            )
        return [suffix], path, False
    if len(wanted) > 1:
        raise click.BadParameter(
            f"one file takes one format, not {', '.join(wanted)}: "
            "give a folder to write report.<format> for each",
            param_hint="--out",
        )
    return wanted, path, False


def _default_mode() -> int:
    """Return the mode a new file gets under the process's umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _write(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all.

    A regular file (or a new one) is written beside its target and renamed into
    place (through a symbolic link: beside the file it names); anything else that
    exists (a device, a pipe) is written in place.

    Raises:
        StorageError: the file cannot be written (the reason in one line).
    """
    work: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not path.is_file():
            with path.open("wb") as handle:
                handle.write(data)
            return
        target = path.resolve() if path.is_symlink() else path
        mode = target.stat().st_mode & 0o777 if target.exists() else _default_mode()
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        work = Path(name)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(work, target)
        work = None
    except OSError as exc:
        reason = (
            "part of the path is a file, not a folder"
            if isinstance(exc, FileExistsError)
            else exc.strerror or type(exc).__name__
        )
        raise StorageError(f"cannot write {path}: {reason}") from exc
    finally:
        if work is not None:
            work.unlink(missing_ok=True)


def make_group(open_store: Callable[[], CliStore]) -> click.Group:
    """Return the `rebuild`, `report` and `partial-export` commands bound to `open_store`."""

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
        default=None,
        help="Comma-separated: json, csv, html; default json, or the suffix of "
        "--out FILE. An explicit --format wins over the suffix.",
    )
    @click.option(
        "--out",
        default=None,
        help="File to write (without --format its suffix .json, .csv or .html names "
        "the format), or an existing folder (or a path ending in /) to write "
        "report.<format> into; default: print to stdout.",
    )
    def report_command(
        as_of: str | None, unit: str | None, formats: str | None, out: str | None
    ) -> None:
        """Print or write the QMS status report as it stood at T."""
        wanted, path, folder = _targets(formats, out)
        moment = _moment(as_of)
        store = open_store()
        engine = store.engine
        create_all(engine)
        try:
            report = build_report(engine, store, as_of=moment, unit=unit)
        except RecordNotFoundError as exc:
            raise click.UsageError(str(exc)) from exc
        rendered = {
            "json": report.to_json(),
            "csv": report.to_csv().encode(),
            "html": report.to_html().encode(),
        }
        for fmt in wanted:
            if path is None:
                click.echo(rendered[fmt].decode())
            elif folder:
                _write(path / f"report.{fmt}", rendered[fmt])
            else:
                _write(path, rendered[fmt])
        click.echo(f"sha256 {report.sha256()}", err=True)

    @group.command("partial-export")
    @click.option("--unit", required=True, help="Unit code.")
    @click.option(
        "--subtree/--no-subtree",
        default=True,
        show_default=True,
        help="Include every unit below it.",
    )
    @click.option(
        "--from",
        "start",
        required=True,
        type=click.DateTime(["%Y-%m-%d"]),
        help="First day of the period (UTC), YYYY-MM-DD.",
    )
    @click.option(
        "--to",
        "end",
        required=True,
        type=click.DateTime(["%Y-%m-%d"]),
        help="Last day of the period (UTC, included), YYYY-MM-DD.",
    )
    @click.option(
        "--out",
        required=True,
        type=click.Path(path_type=Path),
        help="Folder (or zip file) to create.",
    )
    @click.option(
        "--zip", "as_zip", is_flag=True, help="Write a zip file instead of a folder."
    )
    def partial_export_command(
        unit: str,
        subtree: bool,
        start: datetime,
        end: datetime,
        out: Path,
        as_zip: bool,
    ) -> None:
        """Write a partial export: one unit's records in a period, with proofs."""
        from ledger.store import EventStore
        from ledger.store.partial_export import PartialScope, write_partial_export

        if end < start:
            raise click.BadParameter(
                f"{end.date()} is before --from {start.date()}", param_hint="--to"
            )
        if out.exists():
            raise click.BadParameter(f"{out} exists already", param_hint="--out")
        store = open_store()
        create_all(store.engine)
        try:
            found = unit_streams(store.engine, unit, subtree=subtree)
        except RecordNotFoundError as exc:
            raise click.BadParameter(str(exc), param_hint="--unit") from exc
        scope = PartialScope(
            unit=unit,
            subtree=subtree,
            units=found.units,
            streams=found.streams,
            start=start.date(),
            end=end.date(),
        )
        try:
            summary = write_partial_export(
                cast(EventStore, store), scope, out, as_zip=as_zip
            )
        except EventRejectedError as exc:
            raise click.UsageError(str(exc)) from exc
        click.echo(
            f"exported {summary.events} events of {summary.streams} streams "
            f"({', '.join(found.units)}, {scope.start} to {scope.end}) with proofs "
            f"against the checkpoint n={summary.checkpoint_size} to {summary.path}"
        )

    return group
