"""People's sealed e-signature keys and password credentials.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-05

Self-contained on purpose (it does not import ledger.esign). Sealed keys are never
deleted: a trigger refuses DELETE on esign_keys in both dialects. Their `sealed` text
changes only when the holder re-seals the same key under a new password.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_TRIGGER = (
    "CREATE TRIGGER esign_keys_no_delete BEFORE DELETE ON esign_keys "
    "BEGIN SELECT RAISE(ABORT, 'esign_keys are never deleted'); END"
)
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION esign_keys_refuse_delete() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'esign_keys are never deleted'; END $$"
)
_PG_TRIGGERS = (
    "CREATE TRIGGER esign_keys_no_delete BEFORE DELETE ON esign_keys "
    "FOR EACH ROW EXECUTE FUNCTION esign_keys_refuse_delete()",
    "CREATE TRIGGER esign_keys_no_truncate BEFORE TRUNCATE ON esign_keys "
    "FOR EACH STATEMENT EXECUTE FUNCTION esign_keys_refuse_delete()",
)


def upgrade() -> None:
    """Create esign_keys and credentials."""
    op.create_table(
        "esign_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
    )
    op.create_index("ix_esign_keys_user_id", "esign_keys", ["user_id"])
    op.create_table(
        "credentials",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("salt", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("scrypt_n", sa.Integer, nullable=False),
        sa.Column("must_change", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(_SQLITE_TRIGGER)


def downgrade() -> None:
    """Drop esign_keys and credentials."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS esign_keys_no_truncate ON esign_keys")
        op.execute("DROP TRIGGER IF EXISTS esign_keys_no_delete ON esign_keys")
        op.execute("DROP FUNCTION IF EXISTS esign_keys_refuse_delete()")
    op.drop_table("credentials")
    op.drop_index("ix_esign_keys_user_id", table_name="esign_keys")
    op.drop_table("esign_keys")
