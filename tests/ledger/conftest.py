"""Fixtures for the integrity-core tests: the shared format vectors of the spec.

The vectors live beside the repository (`<repo>/../shared/spec/vectors`) and are
read in place, never copied. Without them the tests that need them skip with the
reason, except in CI (env `CI` set), where a missing vector folder fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_VECTORS = _REPO_ROOT.parent / "shared" / "spec" / "vectors"


def _missing(what: str) -> None:
    reason = f"format vectors not found: {what} (expected beside the repository)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _valid_lines() -> list[bytes]:
    path = SPEC_VECTORS / "valid" / "events.jsonl"
    if not path.is_file():
        return []
    return path.read_bytes().splitlines()


@pytest.fixture(scope="session")
def spec_vectors() -> Path:
    """The folder of the spec's format vectors (skips, or fails in CI, when absent)."""
    if not (SPEC_VECTORS / "valid" / "events.jsonl").is_file():
        _missing(str(SPEC_VECTORS))
    return SPEC_VECTORS


@pytest.fixture(scope="session")
def spec_lines(spec_vectors: Path) -> list[bytes]:
    """Every line of the valid vector's events.jsonl, without its newline."""
    return (spec_vectors / "valid" / "events.jsonl").read_bytes().splitlines()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test that takes `spec_line` once per line of the valid vector."""
    if "spec_line" not in metafunc.fixturenames:
        return
    lines = _valid_lines()
    params = [pytest.param(line, id=f"seq{i}") for i, line in enumerate(lines, 1)]
    if not params:
        params = [pytest.param(None, id="vectors-absent")]
    metafunc.parametrize("spec_line", params, indirect=True)


@pytest.fixture
def spec_line(request: pytest.FixtureRequest) -> bytes:
    """One line of the valid vector's events.jsonl (bytes, no newline)."""
    line: bytes | None = request.param
    if line is None:
        _missing(str(SPEC_VECTORS / "valid" / "events.jsonl"))
    assert line is not None
    return line
