"""Settings of the ledger, read once from the environment (prefix QMS_).

Every setting has a default that works for the embedded SQLite setup.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ConfigError
from ledger.integrity.checkpoint import valid_origin

DEFAULT_ORIGIN = "qms.localhost/ledger"


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerSettings:
    """Where the ledger lives and how it signs."""

    instance: Path
    database_url: str
    signing_key_file: Path
    origin: str
    key_file_configured: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LedgerSettings:
        """Read the settings from `environ` (default: os.environ).

        Raises:
            ConfigError: a value is malformed; the message names the variable.
        """
        env = os.environ if environ is None else environ
        instance = Path(env.get("QMS_INSTANCE") or "instance").resolve()
        url = env.get("QMS_DATABASE_URL") or f"sqlite:///{instance / 'qms.sqlite3'}"
        if not url.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ConfigError(
                "QMS_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL"
            )
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        key_file = env.get("QMS_SIGNING_KEY_FILE")
        origin = env.get("QMS_ORIGIN") or DEFAULT_ORIGIN
        if not valid_origin(origin):
            raise ConfigError(
                "QMS_ORIGIN must be printable ASCII without spaces or '+'"
            )
        return cls(
            instance=instance,
            database_url=url,
            signing_key_file=Path(key_file)
            if key_file
            else instance / "signing-key.pem",
            origin=origin,
            key_file_configured=bool(key_file),
        )
