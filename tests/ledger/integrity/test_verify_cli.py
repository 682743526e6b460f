"""`python -m ledger.verify` and `python -m ledger.integrity.verify`: one command line, two names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.integrity.signing import SigningKey
from tests.support.chainbuilder import ChainBuilder, esign_chain, trusted_key

REPO = Path(__file__).resolve().parents[3]


def _run(module: str, folder: Path, key: str, *extra: str) -> tuple[int, bytes]:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--export",
            str(folder),
            "--trusted-key",
            key,
            *extra,
        ],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=folder.parent,
        check=False,
    )
    return run.returncode, run.stdout


def _holder_with_a_newline(b: ChainBuilder) -> None:
    b.register(SigningKey.generate(), holder="u-al\nice", purpose="esign")


@pytest.mark.parametrize("tamper", [None, _holder_with_a_newline])
@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_both_module_names_print_the_same_bytes_and_exit_codes(
    tmp_path: Path, tamper: object, extra: tuple[str, ...]
) -> None:
    b = esign_chain()
    if callable(tamper):
        tamper(b)
    folder = b.write(tmp_path / "export")
    short = _run("ledger.verify", folder, trusted_key(b), *extra)
    long = _run("ledger.integrity.verify", folder, trusted_key(b), *extra)
    assert short == long
    assert short[0] == (1 if tamper else 0)
