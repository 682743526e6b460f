"""SQLAlchemy Core tables of the event store, for SQLite and PostgreSQL.

These definitions are what the store's queries are written against. The schema is
created only by the Alembic migrations in `ledger/store/migrations` (which also install the
append-only triggers); a test checks that the migrated schema equals this metadata.
Nothing here opens a connection.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# On SQLite an INTEGER PRIMARY KEY is the rowid itself, so the table is clustered by
# seq and a range read is one b-tree walk; PostgreSQL gets a plain BIGINT.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "ledger_events",
    metadata,
    # seq is assigned by the store while it holds the append lock, never by the
    # database (see ledger.store.append.lock_and_read for why a sequence would be
    # wrong).
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("stream", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("schema", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("command_id", Text, nullable=False),
    Column("occurred_at", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    # The exact JCS text of the whole envelope, hash and sig included: the line an
    # export writes and what verification re-reads. The other columns are copies
    # of its members, kept for indexed queries.
    Column("envelope", Text, nullable=False),
    UniqueConstraint("stream", "version", name="uq_ledger_events_stream_version"),
    Index("ix_ledger_events_command_id", "command_id"),
    # (recorded_at, seq): n(T) is one probe, the last seq with recorded_at <= T.
    Index("ix_ledger_events_recorded_at", "recorded_at", "seq"),
    Index("ix_ledger_events_type", "type"),
)

head = Table(
    "ledger_head",
    metadata,
    # Exactly one row (id = 1). On PostgreSQL `SELECT ... FOR UPDATE` of this row is
    # the append lock.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("recorded_at", Text, nullable=True),
)

streams = Table(
    "ledger_streams",
    metadata,
    Column("stream", Text, primary_key=True),
    Column("version", Integer, nullable=False),
)

commands = Table(
    "ledger_commands",
    metadata,
    Column("command_id", Text, primary_key=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)

merkle_nodes = Table(
    "merkle_nodes",
    metadata,
    # Node (level, idx) is the perfect subtree over leaves
    # [idx * 2**level, (idx + 1) * 2**level); level 0 holds the leaf hashes
    # SHA-256(0x00 || event hash).
    Column("level", SmallInteger, nullable=False),
    Column("idx", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
    PrimaryKeyConstraint("level", "idx", name="pk_merkle_nodes"),
)

checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)

keys = Table(
    "ledger_keys",
    metadata,
    # A cache of the stream ledger/keys, written in the same transaction as the key
    # events themselves.
    Column("key_id", Text, primary_key=True),
    Column("public_key", Text, nullable=False),
    Column("holder", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("registered_seq", BigInteger, nullable=False),
    Column("revoked_seq", BigInteger, nullable=True),
)

blobs = Table(
    "ledger_blobs",
    metadata,
    Column("digest", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

blob_disposals = Table(
    "ledger_blob_disposals",
    metadata,
    Column("digest", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# Tables whose rows are never updated or deleted; the migration installs triggers
# that refuse it.
APPEND_ONLY = (
    "ledger_events",
    "merkle_nodes",
    "ledger_checkpoints",
    "ledger_blob_disposals",
)

# People's sealed e-signature keys and password credentials, read and written by the
# service's vault (ledger/service/vault.py); migration 0002 creates them and refuses
# deleting a sealed key.
esign_keys = Table(
    "esign_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("user_id", Text, nullable=False, index=True),
    Column("sealed", Text, nullable=False),
    Column("created", Text, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("salt", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("scrypt_n", Integer, nullable=False),
    Column("must_change", Boolean, nullable=False),
    Column("changed_at", Text, nullable=False),
)
