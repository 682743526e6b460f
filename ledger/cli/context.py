"""How a `qms` command opens the ledger: settings, the store, the origin check, the service key.

The web entry point opens the ledger the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlalchemy import Engine

from ledger.errors import (
    KeyMaterialError,
    StorageError,
    VerificationError,
)
from ledger.integrity.signing import SigningKey
from ledger.servicekey import ServiceKey
from ledger.servicekey.keyfile import KeyFile, write_key_durably
from ledger.settings import LedgerSettings
from ledger.store import EventStore, create_engine_for, migrate
from ledger.store.engine import require_ledger


@dataclass(slots=True)
class LedgerContext:
    """What every command needs: the settings and, opened on first use, the store.

    The store is opened without the service key: reading needs none. The key is
    loaded (`ServiceKey.load`) the first time the store appends or signs.
    """

    settings: LedgerSettings
    _store: EventStore | None = field(default=None, repr=False)
    _service_key: ServiceKey | None = field(default=None, repr=False)

    def key_file(self) -> KeyFile:
        """The service key file the settings name."""
        return KeyFile(self.settings.signing_key_file)

    def service_key(self) -> ServiceKey:
        """The service key file coupled with the store's key registry."""
        self.store()
        assert self._service_key is not None  # noqa: S101  # set by store()
        return self._service_key

    def signer(self) -> SigningKey:
        """Load the service key, completing a half-done rotation first.

        Raises:
            KeyMaterialError: the key file is missing, open to others or unreadable.
        """
        return self.service_key().load()

    def store(self, *, migrate_schema: bool = False) -> EventStore:
        """Open the store (once per process), check its origin and complete a
        half-done key rotation.

        A half-done rotation that cannot be completed now is reported on stderr;
        the first append or signature reports it again, as an error.

        Raises:
            Refused: QMS_ORIGIN is not the origin event 1 names.
        """
        if self._store is None:
            engine = create_engine_for(self.settings.database_url)
            if migrate_schema:
                migrate(engine)
                restrict_sqlite_file(engine)
            else:
                require_ledger(engine)
            # The key source is looked up when the store first signs.
            store = self._store = EventStore(
                engine,
                None,
                self.settings.origin,
                key_source=lambda: service.load(),
            )
            service = self._service_key = ServiceKey(self.key_file(), store)
            check_origin(store, self.settings.origin)
            if service.key_file.half_done() and store.is_initialized():
                try:
                    done = service.complete_rotation()
                except KeyMaterialError as exc:
                    # Reading goes on; appending tries again and stops with this.
                    done = f"warning: a key rotation is half done: {exc}"
                if done:
                    click.echo(f"qms: {done}", err=True)
        return self._store

    def close(self) -> None:
        """Release the database connections."""
        if self._store is not None:
            self._store.engine.dispose()
            self._store = None
            self._service_key = None


pass_ctx = click.make_pass_decorator(LedgerContext)


class Refused(click.ClickException):
    """The configuration does not fit the ledger: one line, exit code 2, no usage hint."""

    exit_code = 2


def restrict_sqlite_file(engine: Engine) -> None:
    """Make an SQLite database and its `-wal` and `-shm` files readable by their owner only.

    They hold people's sealed keys and password hashes: nobody else may copy them for
    guessing passwords offline. SQLite creates a later `-wal` or `-shm` file with the
    database file's mode.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and Path(database).exists():
        for suffix in ("", "-wal", "-shm"):
            path = Path(database + suffix)
            if path.exists():
                path.chmod(0o600)


def check_origin(store: EventStore, origin: str) -> None:
    """Stop when the configured origin is not the one the ledger's event 1 names.

    A database that cannot be read yet (not migrated, damaged) is left to the
    command, which reports it in its own way.

    Raises:
        Refused: the origins differ.
    """
    try:
        named = store.genesis_origin()
    except (StorageError, VerificationError):
        return
    if named is not None and named != origin:
        raise Refused(f"QMS_ORIGIN is {origin} but this ledger's origin is {named}")


def refuse_missing_key(store: EventStore, settings: LedgerSettings) -> None:
    """Refuse to go on with an initialized ledger whose key file is missing.

    A fresh key would not be a key of this ledger: every append would fail.

    Raises:
        Refused: the ledger is initialized and the key file is missing.
    """
    path = settings.signing_key_file
    if store.is_initialized() and not path.exists():
        raise Refused(
            f"this ledger is initialized but its signing key file {path} is missing; "
            "no new key is written over it: restore the file from its offline backup "
            "(mode 0600, or point QMS_SIGNING_KEY_FILE at it). Only the key in force "
            "can register a new one (`qms key rotate`)"
        )


def make_instance_folder(settings: LedgerSettings) -> None:
    """Create the private instance folder (0700) when it holds the service key."""
    if not settings.key_file_configured:
        settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)


def ensure_service_key(settings: LedgerSettings) -> None:
    """Create the service key in the instance folder when none is configured.

    Raises:
        KeyMaterialError: QMS_SIGNING_KEY_FILE names a file that does not exist.
    """
    key_path = settings.signing_key_file
    if key_path.exists():
        return
    if settings.key_file_configured:
        raise KeyMaterialError(
            f"QMS_SIGNING_KEY_FILE names {key_path}, which does not exist"
        )
    settings.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_key_durably(key_path, SigningKey.generate())
    click.echo(f"wrote a new service key to {key_path} (mode 0600)")
