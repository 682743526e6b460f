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
from projections.queries.audits import (
    AUDIT_SORTS,
    AuditView,
    audit,
    audit_list,
    audit_page,
)
from projections.queries.dashboard import (
    AuditProgress,
    Dashboard,
    DueAction,
    DueDocument,
    FindingCount,
    IndicatorTrend,
    dashboard,
)
from projections.queries.documents import (
    DOCUMENT_SORTS,
    DocumentView,
    RevisionView,
    document,
    document_page,
    document_register,
)
from projections.queries.findings import (
    FINDING_SORTS,
    ActionView,
    FindingView,
    finding,
    finding_page,
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
    INDICATOR_SORTS,
    IndicatorView,
    MeasurementView,
    TargetView,
    indicator,
    indicator_list,
    indicator_page,
    indicator_value,
)
from projections.queries.pages import PER_PAGE_MAX, SEARCH_MAX, Page, PageRequest
from projections.queries.reviews import (
    REVIEW_SORTS,
    ReviewView,
    review,
    review_list,
    review_page,
)
from projections.queries.rows import driver_rows
from projections.queries.signoffs import SignOffView, signoffs
from projections.queries.tasks import (
    ActionTask,
    DocumentTask,
    MeasurementTask,
    Tasks,
    last_ended_period,
    open_tasks,
)
from projections.queries.units import (
    UnitView,
    subtree_codes,
    unit_scope,
    unit_subtree,
    unit_tree,
    units_at,
)
from projections.queries.users import RoleView, UserView, user, user_list

__all__ = [
    "AUDIT_SORTS",
    "DOCUMENT_SORTS",
    "FINDING_SORTS",
    "INDICATOR_SORTS",
    "PER_PAGE_MAX",
    "REVIEW_SORTS",
    "SEARCH_MAX",
    "ActionTask",
    "ActionView",
    "AuditProgress",
    "AuditView",
    "Dashboard",
    "DocumentTask",
    "DocumentView",
    "DueAction",
    "DueDocument",
    "FieldChange",
    "FindingCount",
    "FindingView",
    "HistoryEntry",
    "IndicatorTrend",
    "IndicatorView",
    "LedgerClock",
    "MeasurementTask",
    "MeasurementView",
    "Page",
    "PageRequest",
    "RecordHistory",
    "ReviewView",
    "RevisionView",
    "RoleView",
    "SignOffView",
    "SignatureView",
    "TargetView",
    "Tasks",
    "UnitView",
    "UserView",
    "audit",
    "audit_list",
    "audit_page",
    "dashboard",
    "document",
    "document_page",
    "document_register",
    "driver_rows",
    "finding",
    "finding_page",
    "finding_register",
    "indicator",
    "indicator_list",
    "indicator_page",
    "indicator_value",
    "last_ended_period",
    "open_tasks",
    "position",
    "record_history",
    "review",
    "review_list",
    "review_page",
    "signoffs",
    "subtree_codes",
    "unit_scope",
    "unit_subtree",
    "unit_tree",
    "units_at",
    "user",
    "user_list",
    "versions_at",
    "visible",
]
