"""What a person may do now on indicators and management reviews, and the agency's day.

The one place the indicator and review pages decide which forms to offer: from the
record's status and the person's roles (a manager's scope covers the units below
it). The service decides again when the form is sent; this only keeps the pages
from offering what would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.domain.permissions import SUBTREE_ROLES
from projections import queries as q
from web.i18n import local_date
from web.units import unit_subtree
from web.wiring import current_wiring


def agency_today(moment: datetime | None = None) -> date:
    """The agency-time date of `moment` (default: now by the ledger's clock)."""
    return local_date(moment or current_wiring().clock.now())


def role_units(roles: tuple[tuple[str, str], ...], role: str) -> set[str]:
    """The units where the person holds `role` (a subtree role: and every unit below)."""
    found: set[str] = set()
    for name, scope in roles:
        if name != role:
            continue
        if role in SUBTREE_ROLES:
            found |= set(unit_subtree(scope))
        else:
            found.add(scope)
    return found


@dataclass(frozen=True, slots=True)
class IndicatorActions:
    """The forms an indicator page offers the person."""

    change_target: bool = False
    record_measurement: bool = False
    correct_measurement: bool = False
    retire: bool = False

    @property
    def any(self) -> bool:
        """Whether the person may do anything on the indicator now."""
        return (
            self.change_target
            or self.record_measurement
            or self.correct_measurement
            or self.retire
        )


def indicator_actions(
    view: q.IndicatorView, user_id: str, roles: tuple[tuple[str, str], ...]
) -> IndicatorActions:
    """What `user_id` with `roles` may do on the indicator `view` now."""
    if view.status == "retired":
        return IndicatorActions()
    manager = view.unit in role_units(roles, "manager")
    owner = view.unit in role_units(roles, "owner") and view.owner == user_id
    measured = bool(view.measurements)
    return IndicatorActions(
        change_target=manager,
        record_measurement=owner,
        correct_measurement=measured and (owner or manager),
        retire=manager,
    )


def may_define_indicator(roles: tuple[tuple[str, str], ...]) -> bool:
    """Whether the person may define indicators (a manager somewhere)."""
    return any(role == "manager" for role, _ in roles)


def may_hold_review(roles: tuple[tuple[str, str], ...]) -> bool:
    """Whether the person may record management reviews (a manager somewhere)."""
    return any(role == "manager" for role, _ in roles)
