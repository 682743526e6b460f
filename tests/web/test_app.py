"""The application factory and its health check, on a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from ledger.settings import LedgerSettings
from ledger.store import EventStore
from web.app import STORE_EXTENSION, create_app

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app() -> Iterator[AppFactory]:
    """Make applications; their database connections are closed after the test."""
    apps: list[Flask] = []

    def make(settings: LedgerSettings | None = None) -> Flask:
        app = create_app(settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[STORE_EXTENSION].engine.dispose()


def _settings(url: str, instance: Path, origin: str) -> LedgerSettings:
    return LedgerSettings.from_env(
        {
            "QMS_INSTANCE": str(instance),
            "QMS_DATABASE_URL": url,
            "QMS_ORIGIN": origin,
        }
    )


def test_healthz_says_the_ledger_is_reachable_and_its_size(
    make_app: AppFactory, engine_url: str, store: EventStore, tmp_path: Path
) -> None:
    app = make_app(_settings(engine_url, tmp_path / "instance", store.origin))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "ledger": "reachable",
        "origin": store.origin,
        "size": store.size(),
    }


def test_healthz_is_503_without_a_ledger_and_creates_no_database(
    make_app: AppFactory, tmp_path: Path
) -> None:
    database = tmp_path / "absent.sqlite3"
    app = make_app(
        _settings(f"sqlite:///{database}", tmp_path / "instance", "qms.test/ledger")
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"ledger": "unreachable"}
    assert not database.exists()


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_the_settings_come_from_the_environment(
    make_app: AppFactory,
    engine_url: str,
    store: EventStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QMS_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("QMS_DATABASE_URL", engine_url)
    monkeypatch.setenv("QMS_ORIGIN", store.origin)
    app = make_app()
    assert app.config["QMS_ORIGIN"] == store.origin
    assert app.test_client().get("/healthz").get_json()["size"] == store.size()


def test_healthz_answers_get_only(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(
        _settings(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, "qms.test/ledger")
    )
    assert app.test_client().post("/healthz").status_code == 405
