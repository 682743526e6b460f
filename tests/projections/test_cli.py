"""Read-side commands: `rebuild` restores the tables, `report` writes the files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from ledger.clock import FixedClock
from ledger.integrity.envelope import format_time
from ledger.store import EventStore
from projections.cli import make_group
from projections.tables import drop_all
from tests.support import scenario
from tests.support.projections import dump


def test_rebuild_command_restores_the_read_models(
    store: EventStore, clock: FixedClock
) -> None:
    scenario.build(store, clock)
    before = dump(store.engine)
    drop_all(store.engine)
    result = CliRunner().invoke(make_group(lambda: store), ["rebuild"])
    assert result.exit_code == 0, result.output
    assert f"from {store.size()} events" in result.output
    assert dump(store.engine) == before


def test_report_command_writes_every_format(
    store: EventStore, clock: FixedClock, tmp_path: Path
) -> None:
    moments = scenario.build(store, clock)
    args = ["report", "--as-of", format_time(moments["raised"]), "--unit", "B01",
            "--format", "json,csv,html", "--out", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(make_group(lambda: store), args)
    assert result.exit_code == 0, result.output
    body = (tmp_path / "report.json").read_bytes()
    assert json.loads(body)["unit"] == "B01"
    assert f"sha256 {hashlib.sha256(body).hexdigest()}" in result.output
    assert (tmp_path / "report.csv").read_text().startswith("section,item,field,value")
    assert "<svg" in (tmp_path / "report.html").read_text()


def test_report_command_refuses_an_unknown_format(store: EventStore) -> None:
    result = CliRunner().invoke(
        make_group(lambda: store), ["report", "--format", "pdf"]
    )
    assert result.exit_code != 0
    assert "unknown format" in result.output
