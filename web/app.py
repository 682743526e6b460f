"""The Flask application factory: the ledger's settings, its store, and `GET /healthz`.

The settings are the ledger's own (`LedgerSettings`, read from the QMS_* environment).
The store is opened without the service key: the application only reads so far.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from ledger.errors import LedgerError
from ledger.settings import LedgerSettings
from ledger.store import EventStore, create_engine_for
from ledger.store.engine import require_ledger

STORE_EXTENSION = "qms.store"  # the key of the store in `Flask.extensions`


def create_app(settings: LedgerSettings | None = None) -> Flask:
    """Return the application for the ledger `settings` name (default: from the environment).

    Nothing is read from the database here: a ledger that is not reachable yet
    shows as such on `/healthz`.

    Raises:
        ConfigError: a setting is malformed, or the database URL names another database.
    """
    settings = settings or LedgerSettings.from_env()
    app = Flask(__name__)
    app.config["QMS_ORIGIN"] = settings.origin
    engine = create_engine_for(settings.database_url)
    app.extensions[STORE_EXTENSION] = EventStore(engine, None, settings.origin)
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    return app


def current_store() -> EventStore:
    """Return the store of the application handling the current request."""
    store = current_app.extensions[STORE_EXTENSION]
    if not isinstance(store, EventStore):  # pragma: no cover - set by create_app
        raise TypeError("the application has no ledger store")
    return store


def healthz() -> ResponseReturnValue:
    """Say whether the ledger is reachable: 200 with its origin and size, else 503."""
    store = current_store()
    try:
        require_ledger(store.engine)  # never creates a database that is not there
        size = store.size()
    except LedgerError:
        # No details: the reason can name the database's host or file.
        return jsonify(ledger="unreachable"), 503
    return jsonify(ledger="reachable", origin=store.origin, size=size), 200
