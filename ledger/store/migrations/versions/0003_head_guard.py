"""The head row only moves forward.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

`ledger_head` is the append lock and says how many events there are. A head moved
back would hide the events after it from every reader, so a trigger refuses an
UPDATE that lowers its size, and any DELETE (and TRUNCATE on PostgreSQL).
Verification still compares the head with the events table, for whoever works
behind the triggers' back.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE = (
    "CREATE TRIGGER ledger_head_only_grows BEFORE UPDATE ON ledger_head "
    "WHEN NEW.size < OLD.size "
    "BEGIN SELECT RAISE(ABORT, 'ledger_head only moves forward'); END",
    "CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head "
    "BEGIN SELECT RAISE(ABORT, 'ledger_head only moves forward'); END",
)
_PG = (
    "CREATE OR REPLACE FUNCTION ledger_head_guard() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND NEW.size >= OLD.size THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'ledger_head only moves forward'; END $$",
    "CREATE TRIGGER ledger_head_guard BEFORE UPDATE OR DELETE ON ledger_head "
    "FOR EACH ROW EXECUTE FUNCTION ledger_head_guard()",
    "CREATE TRIGGER ledger_head_no_truncate BEFORE TRUNCATE ON ledger_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_head_guard()",
)


def upgrade() -> None:
    """Guard the head row."""
    for statement in _PG if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    """Remove the guard."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_head_no_truncate ON ledger_head")
        op.execute("DROP TRIGGER IF EXISTS ledger_head_guard ON ledger_head")
        op.execute("DROP FUNCTION IF EXISTS ledger_head_guard()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_head_no_delete")
        op.execute("DROP TRIGGER IF EXISTS ledger_head_only_grows")
