"""An application on a real ledger with the people of tests.support.service, and a client
that signs in through the login form (CSRF token included).

The people's ledger (SQLite) is built once per test session and copied for every
test: building it derives a dozen password hashes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.clock import FixedClock
from ledger.integrity.signing import SigningKey
from ledger.servicekey.keyfile import write_key_durably
from ledger.settings import LedgerSettings
from ledger.store import EventStore, create_engine_for, migrate
from projections.runner import InlineProjector
from projections.tables import create_all
from tests.support.origin import ORIGIN
from tests.support.service import build_service, secret
from web.app import create_app

_TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(page: TestResponse) -> str:
    """Return the CSRF token of the first form on `page`."""
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1) or found.group(2)


def sign_in(
    client: FlaskClient, user_id: str, password: str | None = None
) -> TestResponse:
    """Sign in through the form; return the response to the POST."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page),
            "user_id": user_id,
            "password": secret(user_id) if password is None else password,
        },
    )


def make_web_app(
    store: EventStore,
    signer: SigningKey,
    clock: FixedClock,
    instance: Path,
    environ: dict[str, str] | None = None,
) -> Flask:
    """The application on `store`, whose service key file holds `signer`."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = instance / "signing-key.pem"
    if not key_file.exists():
        write_key_durably(key_file, signer)
    settings = LedgerSettings.from_env(
        {
            "QMS_INSTANCE": str(instance),
            "QMS_DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
            "QMS_ORIGIN": store.origin,
        }
    )
    return create_app(settings, environ=environ or {}, clock=clock, scrypt_n=2**10)


START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # the `clock` fixture's start
_SQLITE_FILES = ("", "-wal", "-shm")


@pytest.fixture(scope="session")
def people_template(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, SigningKey]:
    """A ledger with HQ, B1, B2 and the people of tests.support.service, and its key."""
    path = tmp_path_factory.mktemp("people") / "ledger.sqlite3"
    engine = create_engine_for(f"sqlite:///{path}")
    signer = SigningKey.generate()
    try:
        migrate(engine)
        clock = FixedClock(START)
        store = EventStore(engine, signer, ORIGIN, clock=clock)
        store.initialize()
        create_all(engine)
        build_service(store, clock, projectors=[InlineProjector()])
    finally:
        engine.dispose()
    return path, signer


@pytest.fixture
def people_signer(people_template: tuple[Path, SigningKey]) -> SigningKey:
    """The service key of the people's ledger."""
    return people_template[1]


@pytest.fixture
def people_store(
    people_template: tuple[Path, SigningKey], clock: FixedClock, tmp_path: Path
) -> Iterator[EventStore]:
    """A copy of the people's ledger for one test, on the test's clock."""
    template, signer = people_template
    copy = tmp_path / "people.sqlite3"
    for suffix in _SQLITE_FILES:
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{copy}{suffix}")
    engine = create_engine_for(f"sqlite:///{copy}")
    try:
        yield EventStore(engine, signer, ORIGIN, clock=clock)
    finally:
        engine.dispose()


@pytest.fixture
def web_app(
    people_store: EventStore,
    people_signer: SigningKey,
    clock: FixedClock,
    tmp_path: Path,
) -> Iterator[Flask]:
    """The application on the people's ledger; its connections closed afterwards."""
    app = make_web_app(people_store, people_signer, clock, tmp_path / "instance")
    yield app
    app.extensions["qms.store"].engine.dispose()


@pytest.fixture
def client(web_app: Flask) -> FlaskClient:
    """A browser on the application, signed in as nobody."""
    return web_app.test_client()
