"""Read functions returning frozen views of the read models; the only read API web/ uses.

Every function takes `as_of: datetime | None`: None reads the current rows; a
moment T reads the rows valid at n = ledger.size_at(T), i.e. the state built from
the ledger prefix 1..n ("as known at T"). Unit filters take a unit code and, unless
`subtree=False`, include every unit below it in the tree as known at the same moment.
One module per register; this face re-exports every public name, so
`from projections.queries import X` is the way in.
"""

from __future__ import annotations

from projections.as_of import LedgerClock, position, versions_at, visible
from projections.queries.audits import AuditView, audit, audit_list
from projections.queries.documents import (
    DocumentView,
    RevisionView,
    document,
    document_register,
)
from projections.queries.findings import (
    ActionView,
    FindingView,
    finding,
    finding_register,
)
from projections.queries.history import (
    FieldChange,
    HistoryEntry,
    RecordHistory,
    SignatureView,
    record_history,
)
from projections.queries.indicators import (
    IndicatorView,
    MeasurementView,
    TargetView,
    indicator,
    indicator_list,
    indicator_value,
)
from projections.queries.reviews import ReviewView, review, review_list
from projections.queries.rows import driver_rows
from projections.queries.units import (
    UnitView,
    unit_scope,
    unit_subtree,
    unit_tree,
    units_at,
)
from projections.queries.users import RoleView, UserView, user, user_list

__all__ = [
    "ActionView",
    "AuditView",
    "DocumentView",
    "FieldChange",
    "FindingView",
    "HistoryEntry",
    "IndicatorView",
    "LedgerClock",
    "MeasurementView",
    "RecordHistory",
    "ReviewView",
    "RevisionView",
    "RoleView",
    "SignatureView",
    "TargetView",
    "UnitView",
    "UserView",
    "audit",
    "audit_list",
    "document",
    "document_register",
    "driver_rows",
    "finding",
    "finding_register",
    "indicator",
    "indicator_list",
    "indicator_value",
    "position",
    "record_history",
    "review",
    "review_list",
    "unit_scope",
    "unit_subtree",
    "unit_tree",
    "units_at",
    "user",
    "user_list",
    "versions_at",
    "visible",
]
