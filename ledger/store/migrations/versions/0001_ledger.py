"""The event store: events, head, streams, commands, Merkle nodes, checkpoints, keys,
blobs, and the triggers that keep the record append-only.

Revision ID: 0001
Revises:
Create Date: 2026-01-05

This revision is self-contained on purpose (it does not import ledger.tables): a
migration must create the same schema forever, whatever the code says later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Tables whose rows are never updated or deleted.
_APPEND_ONLY = (
    "ledger_events",
    "merkle_nodes",
    "ledger_checkpoints",
    "ledger_blob_disposals",
)
_BLOB_DELETE_REFUSED = (
    "ledger_blobs: a blob may be deleted only after its disposal is recorded"
)

# SQLite: RAISE(ABORT, ...) fails the statement and rolls back its changes. The
# messages contain no colon-prefixed words, since op.execute parses text for binds.
_SQLITE_TRIGGERS = [
    *(
        f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        for table in _APPEND_ONLY
        for verb in ("update", "delete")
    ),
    "CREATE TRIGGER ledger_blobs_no_update BEFORE UPDATE ON ledger_blobs "
    "BEGIN SELECT RAISE(ABORT, 'ledger_blobs is append-only'); END",
    "CREATE TRIGGER ledger_blobs_delete_disposed BEFORE DELETE ON ledger_blobs "
    "WHEN NOT EXISTS "
    "(SELECT 1 FROM ledger_blob_disposals d WHERE d.digest = OLD.digest) "
    f"BEGIN SELECT RAISE(ABORT, '{_BLOB_DELETE_REFUSED}'); END",
]

# PostgreSQL: one function raises for every append-only table (row triggers for
# UPDATE and DELETE, a statement trigger for TRUNCATE, which row triggers do not
# see). The blob guard lets a DELETE through only when the disposal is recorded.
_PG_FUNCTIONS = [
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only';
    END
    $$
    """,
    f"""
    CREATE FUNCTION ledger_blob_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'DELETE' THEN
            RAISE EXCEPTION USING MESSAGE = 'ledger_blobs is append-only';
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM ledger_blob_disposals d WHERE d.digest = OLD.digest
        ) THEN
            RAISE EXCEPTION USING MESSAGE = '{_BLOB_DELETE_REFUSED}';
        END IF;
        RETURN OLD;
    END
    $$
    """,
]
_PG_TRIGGERS = [
    *(
        stmt
        for table in _APPEND_ONLY
        for stmt in (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        )
    ),
    "CREATE TRIGGER ledger_blobs_guard BEFORE UPDATE OR DELETE ON ledger_blobs "
    "FOR EACH ROW EXECUTE FUNCTION ledger_blob_delete_guard()",
    "CREATE TRIGGER ledger_blobs_no_truncate BEFORE TRUNCATE ON ledger_blobs "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
]


def upgrade() -> None:
    """Create the event store's tables, its head row and the append-only triggers."""
    seq_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "ledger_events",
        sa.Column("seq", seq_type, autoincrement=False, nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("schema", sa.Integer(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("command_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_events"),
        sa.UniqueConstraint(
            "stream", "version", name="uq_ledger_events_stream_version"
        ),
    )
    op.create_index("ix_ledger_events_command_id", "ledger_events", ["command_id"])
    op.create_index(
        "ix_ledger_events_recorded_at", "ledger_events", ["recorded_at", "seq"]
    )
    op.create_index("ix_ledger_events_type", "ledger_events", ["type"])

    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.Column("recorded_at", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_head"),
    )
    # The one head row: empty ledger, hash of "no event" = 32 zero bytes. Written
    # with SQL functions rather than a bound value so that `--sql` output works too.
    zeros = (
        "decode(repeat('00', 32), 'hex')"
        if op.get_context().dialect.name == "postgresql"
        else "zeroblob(32)"
    )
    op.execute(
        "INSERT INTO ledger_head (id, size, hash, recorded_at) "
        f"VALUES (1, 0, {zeros}, NULL)"
    )

    op.create_table(
        "ledger_streams",
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stream", name="pk_ledger_streams"),
    )
    op.create_table(
        "ledger_commands",
        sa.Column("command_id", sa.Text(), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("command_id", name="pk_ledger_commands"),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_merkle_nodes"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_ledger_checkpoints"),
    )
    op.create_table(
        "ledger_keys",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("registered_seq", sa.BigInteger(), nullable=False),
        sa.Column("revoked_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_ledger_keys"),
    )
    op.create_table(
        "ledger_blobs",
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_ledger_blobs"),
    )
    op.create_table(
        "ledger_blob_disposals",
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_ledger_blob_disposals"),
    )

    if op.get_context().dialect.name == "postgresql":
        for stmt in (*_PG_FUNCTIONS, *_PG_TRIGGERS):
            op.execute(stmt)
    else:
        for stmt in _SQLITE_TRIGGERS:
            op.execute(stmt)


def downgrade() -> None:
    """Drop everything `upgrade` created (the triggers go with their tables)."""
    for table in (
        "ledger_blob_disposals",
        "ledger_blobs",
        "ledger_keys",
        "ledger_checkpoints",
        "merkle_nodes",
        "ledger_commands",
        "ledger_streams",
        "ledger_head",
        "ledger_events",
    ):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_blob_delete_guard()")
        op.execute("DROP FUNCTION ledger_refuse_change()")
