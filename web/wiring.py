"""What the application is wired to: the store, the service, the clock, the secret key.

The store is opened without the service key, like a `qms` command: reading needs
none, and the key file is loaded (`ServiceKey.load`) the first time the service
appends. The service is opened on first use, so an application whose database is
not there yet starts, and says so on `/healthz`.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, current_app

from ledger.clock import Clock, SystemClock
from ledger.errors import ConfigError
from ledger.service import Service
from ledger.servicekey import ServiceKey
from ledger.servicekey.keyfile import KeyFile
from ledger.settings import LedgerSettings
from ledger.store import EventStore, create_engine_for
from ledger.store.engine import require_ledger
from projections.runner import InlineProjector
from projections.tables import create_all

WIRING_EXTENSION = "qms.wiring"  # the key of the wiring in `Flask.extensions`
STORE_EXTENSION = "qms.store"  # the key of the store in `Flask.extensions`
DEFAULT_TIMEZONE = "Asia/Shanghai"
SECRET_KEY_FILE = "web-secret-key"  # noqa: S105  # a file name, not a secret


@dataclass(slots=True)
class Wiring:
    """The store, the clock and, opened on first use, the service."""

    settings: LedgerSettings
    store: EventStore
    clock: Clock
    scrypt_n: int | None = None
    _service: Service | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def service(self) -> Service:
        """Return the service, with the read models updated in the same transaction.

        Raises:
            StorageError: the database is not reachable or not a ledger.
        """
        with self._lock:
            if self._service is None:
                require_ledger(self.store.engine)  # never creates a database
                create_all(self.store.engine)
                if self.scrypt_n is None:
                    self._service = Service(
                        self.store, projectors=[InlineProjector()], clock=self.clock
                    )
                else:
                    self._service = Service(
                        self.store,
                        projectors=[InlineProjector()],
                        clock=self.clock,
                        scrypt_n=self.scrypt_n,
                    )
            return self._service


def open_store(settings: LedgerSettings, clock: Clock) -> EventStore:
    """Open the store the settings name, loading the service key only to append."""
    engine = create_engine_for(settings.database_url)
    service_key: list[ServiceKey] = []
    store = EventStore(
        engine,
        None,
        settings.origin,
        clock=clock,
        key_source=lambda: service_key[0].load(),
    )
    service_key.append(ServiceKey(KeyFile(settings.signing_key_file), store))
    return store


def wire(
    app: Flask,
    settings: LedgerSettings,
    *,
    clock: Clock | None = None,
    scrypt_n: int | None = None,
) -> Wiring:
    """Open the store for `app` and keep the wiring in its extensions."""
    clock = clock or SystemClock()
    wiring = Wiring(settings, open_store(settings, clock), clock, scrypt_n)
    app.extensions[WIRING_EXTENSION] = wiring
    app.extensions[STORE_EXTENSION] = wiring.store
    return wiring


def current_wiring() -> Wiring:
    """Return the wiring of the application handling the current request."""
    wiring = current_app.extensions[WIRING_EXTENSION]
    if not isinstance(wiring, Wiring):  # pragma: no cover - set by create_app
        raise TypeError("the application is not wired")
    return wiring


def secret_key(settings: LedgerSettings, environ: dict[str, str]) -> str:
    """Return QMS_SECRET_KEY, or the key kept in the instance folder (made when absent).

    The file is written with mode 0600, so every worker of one server signs sessions
    with the same key and a restart keeps people signed in.
    """
    configured = environ.get("QMS_SECRET_KEY")
    if configured:
        return configured
    path = settings.instance / SECRET_KEY_FILE
    if not path.exists():
        settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _write_private(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it meanwhile
        return
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text + "\n")


def timezone_setting(environ: dict[str, str]) -> str:
    """Return QMS_TIMEZONE (default Asia/Shanghai).

    Raises:
        ConfigError: the name is not a known time zone.
    """
    name = environ.get("QMS_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"QMS_TIMEZONE {name!r} is not a known time zone") from exc
    return name


def https_setting(environ: dict[str, str]) -> bool:
    """Return whether QMS_HTTPS says the application is served over https."""
    return environ.get("QMS_HTTPS", "").strip().lower() in {"1", "true", "yes", "on"}


def proxy_hops(environ: dict[str, str]) -> int:
    """Return QMS_PROXY_HOPS: how many reverse proxies in front set X-Forwarded-*.

    With 0 (the default) those headers are ignored: anybody could send them.

    Raises:
        ConfigError: the value is not a whole number from 0 to 5.
    """
    raw = environ.get("QMS_PROXY_HOPS", "").strip() or "0"
    if not raw.isdigit() or int(raw) > 5:
        raise ConfigError("QMS_PROXY_HOPS must be a whole number from 0 to 5")
    return int(raw)
