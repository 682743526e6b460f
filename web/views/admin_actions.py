"""What an administrator may do now, on which unit and which person.

The one place of the administration pages that decides which actions to offer:
an administrator acts in the units their admin roles cover (an admin role reaches
the whole subtree of its scope unit); a closed unit and a deactivated person take
no more changes; a role can be revoked only when the person holds one. The service
decides again when the command arrives (`ledger.service`): these only keep the page
from offering what would be refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ledger.domain.permissions import SUBTREE_ROLES
from projections import queries as q

ADMIN = "admin"
UNIT_ACTIONS = ("rename", "close")
USER_ACTIONS = ("grant", "revoke", "move", "deactivate", "reset")


def admin_scope(
    roles: Iterable[tuple[str, str]], tree: Sequence[q.UnitView]
) -> frozenset[str]:
    """The unit codes the person's admin roles cover (empty: not an administrator)."""
    by_code: Mapping[str, q.UnitView] = {u.code: u for u in tree}
    found: set[str] = set()
    todo = [scope for role, scope in roles if role == ADMIN]
    while todo:
        code = todo.pop()
        if code in found:
            continue
        found.add(code)
        if ADMIN in SUBTREE_ROLES and code in by_code:
            todo.extend(by_code[code].children)
    return frozenset(found)


def unit_actions(unit: q.UnitView, scope: frozenset[str]) -> tuple[str, ...]:
    """The actions on `unit` to offer: rename and close an open unit in scope (the
    headquarters is renamed, never closed: every unit hangs below it)."""
    if unit.closed or unit.code not in scope:
        return ()
    if unit.kind == "headquarters":
        return ("rename",)
    return UNIT_ACTIONS


def can_create_under(unit: q.UnitView, scope: frozenset[str]) -> bool:
    """Whether a new unit may be created under `unit`."""
    return not unit.closed and unit.code in scope


def user_actions(user: q.UserView, scope: frozenset[str]) -> tuple[str, ...]:
    """The actions on `user` to offer: none for a deactivated person or one out of scope."""
    if not user.active or user.unit not in scope:
        return ()
    return tuple(a for a in USER_ACTIONS if a != "revoke" or user.roles)
