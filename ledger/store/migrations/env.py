"""Alembic environment of the ledger schema.

`ledger.store.migrate(engine)` hands over an open connection (inside a transaction)
through `config.attributes["connection"]`; a developer's `alembic` command line gets
an engine for QMS_DATABASE_URL instead. Offline mode (`--sql`) writes the DDL for the
URL's dialect.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from ledger.settings import LedgerSettings
from ledger.store import create_engine_for
from ledger.store.tables import metadata

# A name of its own, so that other packages may keep their own Alembic history in
# the same database.
VERSION_TABLE = "ledger_alembic_version"


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the given connection, or on QMS_DATABASE_URL."""
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure(given)
        return
    url = context.config.get_main_option("sqlalchemy.url") or (
        LedgerSettings.from_env().database_url
    )
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            _configure(connection)
    finally:
        engine.dispose()


def run_offline() -> None:
    """Write the migrations as SQL for the configured URL's dialect."""
    url = context.config.get_main_option("sqlalchemy.url") or (
        LedgerSettings.from_env().database_url
    )
    context.configure(
        url=url,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
