"""Read-model tables, system-versioned by ledger position, and `create_all`.

Every row version carries `valid_from` (the seq of the event that produced it,
inclusive) and `valid_to` (the seq of the event that replaced or ended it,
exclusive; NULL while current). The state as known after the ledger prefix 1..n
is the versions with ``valid_from <= n AND (valid_to IS NULL OR valid_to > n)``.

That condition alone makes a database scan every version that ended after n, most
of a register's history for an early n. So each version also carries `span`: 0
while current, else the bit length of its lifetime ``valid_to - valid_from``. A
version of span k that holds at n began in ``(n - 2**k, n]``, so the versions
valid at n are found by one short index range per span on `(span, valid_from,
valid_to)` (`projections.as_of.visible`), about twice the rows of the answer
at most, whatever n is. Registers of a unit have the same index led by `unit`.

These tables are created by `create_all` and not by an Alembic migration on
purpose: read models are derived and disposable. Changing their shape means
dropping them and replaying the ledger (`projections.runner.rebuild`), never
migrating data; the ledger tables are the only schema that needs migrations.
Dates are stored as ``YYYY-MM-DD`` text, periods as their ledger spelling and
lists or objects as canonical JSON text, so both dialects store the same values.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.schema import CreateTable

from ledger.errors import ConfigError
from ledger.store.engine import is_read_only
from projections.errors import ProjectionError

metadata = MetaData()

_CREATE_LOCK = 0x716D_735F_7072_6F6A  # pg advisory lock id ("qms_proj")


VERSION_COLUMNS = ("valid_from", "valid_to", "span")


def span_of(valid_from: int, valid_to: int) -> int:
    """Return the span of a version that ended: the bit length of its lifetime."""
    return (valid_to - valid_from).bit_length()


def _versioned(
    name: str,
    keys: tuple[str, ...],
    *columns: Column[object],
    covering: tuple[str, ...] = (),
) -> Table:
    """Build a versioned table: key columns, `valid_from`, `valid_to`, `span`, data.

    `covering` names the columns the as-of index holds besides the version columns:
    what the status report reads of every version valid at n, so it never visits
    the table for them.
    """
    key_columns = [Column(k, Text, nullable=False) for k in keys]
    by_unit = any(c.name == "unit" for c in columns)
    return Table(
        name,
        metadata,
        *key_columns,
        Column("valid_from", BigInteger, nullable=False, autoincrement=False),
        Column("valid_to", BigInteger, nullable=True),
        Column("span", Integer, nullable=False),
        *columns,
        PrimaryKeyConstraint(*keys, "valid_from", name=f"pk_{name}"),
        Index(f"ix_{name}_asof", "span", "valid_from", "valid_to", *covering),
        *(
            [Index(f"ix_{name}_unit_asof", "unit", "span", "valid_from", "valid_to")]
            if by_unit
            else []
        ),
    )


def _text(name: str) -> Column[object]:
    return Column(name, Text, nullable=True)


def _int(name: str) -> Column[object]:
    return Column(name, Integer, nullable=True)


def _bool(name: str) -> Column[object]:
    return Column(name, Boolean, nullable=True)


units = _versioned(
    "proj_units",
    ("code",),
    _text("name_zh"),
    _text("name_en"),
    _text("kind"),
    _text("parent"),
    _bool("closed"),
    _text("closed_reason"),
)

users = _versioned(
    "proj_users",
    ("user_id",),
    _text("name"),
    _text("unit"),
    _text("email"),
    _bool("active"),
    _text("esign_key_id"),
    _text("deactivated_reason"),
)

user_roles = _versioned(
    "proj_user_roles",
    ("user_id", "role", "scope"),
    _text("granted_by"),
    _text("granted_at"),
)

documents = _versioned(
    "proj_documents",
    ("doc_id",),
    _text("unit"),
    _text("title"),
    _text("kind"),
    _text("status"),
    _text("latest_revision"),
    _text("effective_revision"),
    _text("next_review_due"),
    _int("review_interval_months"),
    _int("retention_years"),
    covering=(
        "status",
        "effective_revision",
        "next_review_due",
        "unit",
        "doc_id",
        "title",
    ),
)

document_revisions = _versioned(
    "proj_document_revisions",
    ("doc_id", "revision"),
    _text("unit"),
    _text("title"),
    _text("kind"),
    _text("status"),
    _text("content"),
    _text("author"),
    _text("drafted_at"),
    _text("review_outcome"),
    _text("review_comment"),
    _text("reviewed_by"),
    _text("approved_by"),
    _text("approved_at"),
    _text("content_sha256"),
    _text("esig"),
    _text("effective_on"),
    _text("next_review_due"),
    _text("supersedes"),
    _text("superseded_by"),
    _text("withdrawn_reason"),
    _text("distributed_to"),
    _int("review_interval_months"),
    _int("retention_years"),
)

audits = _versioned(
    "proj_audits",
    ("audit_id",),
    _text("programme"),
    _text("unit"),
    _text("scope"),
    _text("criteria"),
    _text("lead_auditor"),
    _text("team"),
    _text("planned_start"),
    _text("planned_end"),
    _text("status"),
    _text("started_on"),
    _text("summary"),
    _text("findings"),
    _text("reported_by"),
    _text("esig"),
    _text("closed_on"),
    _text("cancelled_reason"),
)

findings = _versioned(
    "proj_findings",
    ("finding_id",),
    _text("unit"),
    _text("source"),
    _text("classification"),
    _text("criterion"),
    _text("description"),
    _text("evidence"),
    _text("due_on"),
    _text("audit"),
    _text("status"),
    _text("raised_by"),
    _text("raised_on"),  # the UTC day, like every ledger day reports count
    _text("raised_at"),  # the ledger time: pages show its day in the agency zone
    _text("containment"),
    _text("cause"),
    _text("cause_method"),
    _bool("verified_effective"),
    _text("verification_comment"),
    _text("verified_by"),
    _text("closed_on"),
    _int("reopened_count"),
    _int("days_to_close"),  # closed_on - raised_on while closed: what reports count
    covering=(
        "status",
        "closed_on",
        "days_to_close",
        "due_on",
        "classification",
        "unit",
        "finding_id",
    ),
)

finding_actions = _versioned(
    "proj_finding_actions",
    ("finding_id", "action_id"),
    _text("description"),
    _text("owner"),
    _text("due_on"),
    _text("status"),
    _text("completed_on"),
    _text("completed_at"),
    _text("completed_by"),
    _text("evidence"),
    _text("note"),
)

indicators = _versioned(
    "proj_indicators",
    ("indicator_id",),
    _text("unit"),
    _text("owner"),
    _text("name"),
    _text("measure"),
    _text("direction"),
    _text("frequency"),
    _text("method"),
    _text("target"),
    _text("effective_from"),
    _text("status"),
    _text("retired_reason"),
)

indicator_targets = _versioned(
    "proj_indicator_targets",
    ("indicator_id", "effective_from"),
    _text("target"),
    _text("reason"),
    _text("set_by"),
)

indicator_measurements = _versioned(
    "proj_indicator_measurements",
    ("indicator_id", "period"),
    _text("value"),
    _text("first_value"),
    _text("note"),
    _int("corrections"),
    _text("recorded_by"),
    _text("correction_reason"),
    # Judged as the version was known: the target in force for the period (the
    # latest not effective after its start), whether the value met it in the
    # indicator's direction, and the period's first month as YYYYMM (its order).
    _text("target"),
    _bool("met"),
    _int("begins"),
)

# Each indicator's periods of one year as the status report lists them: a JSON
# list of {period, value, target, met} in period order, with the met and missed
# counts. Made from the measurement versions whenever one of that year changes, so
# a network report reads one row per indicator and year instead of one per period.
indicator_years = _versioned(
    "proj_indicator_years",
    ("indicator_id", "year"),
    _text("periods"),
    _int("met"),
    _int("missed"),
    covering=("indicator_id", "year"),
)

reviews = _versioned(
    "proj_reviews",
    ("review_id",),
    _text("unit"),
    _text("held_on"),
    _text("held_by"),
    _text("attendees"),
    _text("inputs"),
    _text("decisions"),
    _text("actions"),
)

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)

VERSIONED_TABLES: tuple[Table, ...] = (
    units,
    users,
    user_roles,
    documents,
    document_revisions,
    audits,
    findings,
    finding_actions,
    indicators,
    indicator_targets,
    indicator_measurements,
    indicator_years,
    reviews,
)
ALL_TABLES: tuple[Table, ...] = (*VERSIONED_TABLES, projection_positions)


def key_columns(table: Table) -> tuple[str, ...]:
    """Return the columns that identify a record (the PK without valid_from)."""
    return tuple(c.name for c in table.primary_key.columns if c.name != "valid_from")


def create_all(bind: Engine | Connection) -> None:
    """Create every read-model table that does not exist yet.

    On PostgreSQL an advisory lock makes processes starting at once (two `qms init`)
    create the tables one after the other: two concurrent CREATE TABLE of one name
    would fail the second on the catalog's unique index.

    Raises:
        ProjectionError: a table exists with other columns (made by an earlier
            version): the read models must be rebuilt from the ledger.
        ConfigError: tables are missing in a read-only copy of the ledger.
    """
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            create_all(connection)
        return
    if bind.dialect.name == "postgresql":
        bind.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATE_LOCK})
    missing = [t for t in ALL_TABLES if not inspect(bind).has_table(t.name)]
    if missing and is_read_only(bind.engine):
        raise ConfigError(
            "the read models are not built in this read-only copy: "
            "rebuild a writable copy"
        )
    metadata.create_all(bind, tables=missing)
    found = inspect(bind)
    stale = [
        table.name
        for table in ALL_TABLES
        if [c["name"] for c in found.get_columns(table.name)]
        != [c.name for c in table.columns]
    ]
    if stale:
        raise ProjectionError(
            f"the read models {', '.join(stale)} have an older shape: run `qms rebuild`"
        )


def create_tables(connection: Connection) -> None:
    """Create every read-model table without its secondary indexes (see `create_indexes`).

    Loading many rows and then building each index once is faster than keeping the
    indexes up to date row by row: what a rebuild does.
    """
    for table in ALL_TABLES:
        connection.execute(CreateTable(table))


def create_indexes(connection: Connection) -> None:
    """Create the secondary indexes of every read-model table."""
    for table in ALL_TABLES:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            index.create(connection)


def drop_all(bind: Engine | Connection) -> None:
    """Drop every read-model table (the ledger's own tables are untouched)."""
    metadata.drop_all(bind, tables=list(ALL_TABLES))
