"""Running the `qms` command in-process, as a user would, for the command-line tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from web.cli import main


class Qms:
    """Runs `qms` in-process with its own instance folder and database."""

    def __init__(
        self,
        instance: Path,
        url: str,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        self.instance = instance
        self.capsys = capsys
        monkeypatch.setenv("QMS_INSTANCE", str(instance))
        monkeypatch.setenv("QMS_DATABASE_URL", url)
        monkeypatch.setenv("QMS_ORIGIN", "qms.test.gov.cn/ledger")
        monkeypatch.delenv("QMS_SIGNING_KEY_FILE", raising=False)

    def size(self) -> int:
        code, out, _ = self("status", "--json")
        assert code == 0
        return int(json.loads(out)["size"])

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err
