"""`qms serve`: gunicorn with two workers on a real ledger; signing in over HTTP."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

QMS = [sys.executable, "-c", "from web.cli import main; main()"]
PASSWORD = "served-admin-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")}
    env["QMS_INSTANCE"] = str(instance)
    env["QMS_ADMIN_PASSWORD"] = PASSWORD
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The base URL of `qms serve` on a new ledger with its first administrator."""
    instance = tmp_path / "instance"
    init = subprocess.run(
        [*QMS, "init"], env=_env(instance), capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stderr
    port = _free_port()
    server = subprocess.Popen(
        [*QMS, "serve", "--port", str(port), "--workers", "2"],
        env=_env(instance),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as reply:  # noqa: S310  # our own http server
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("qms serve did not answer")
        yield base
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
        assert "Booting worker" in output  # gunicorn, not the development server


def test_qms_serve_signs_in_across_its_workers(served: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{served}/login") as page:
        assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
        token = re.search(
            r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode()
        )
    assert token
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "user_id": "admin", "password": PASSWORD}
    ).encode()
    with opener.open(f"{served}/login", data=form) as signed:
        assert signed.url.endswith("/me")
    # Several requests land on both workers: the session is the same everywhere.
    for _ in range(6):
        with opener.open(f"{served}/me") as page:
            text = page.read().decode()
            assert "<h1>我的账户</h1>" in text
            assert "系统管理员" in text
