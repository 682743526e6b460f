"""Which administration actions a page offers: by the admin role's subtree and the record's state."""

from __future__ import annotations

from projections import queries as q
from web.views.admin_actions import (
    admin_scope,
    can_create_under,
    unit_actions,
    user_actions,
)


def _unit(
    code: str, parent: str | None, *children: str, closed: bool = False
) -> q.UnitView:
    return q.UnitView(
        code=code,
        name_zh=code,
        name_en=code,
        kind="headquarters" if parent is None else "bureau",
        parent=parent,
        closed=closed,
        children=children,
    )


TREE = [
    _unit("HQ", None, "B1", "B2"),
    _unit("B1", "HQ", "B1-QA"),
    _unit("B1-QA", "B1"),
    _unit("B2", "HQ", closed=True),
]


def _user(unit: str, *, active: bool = True, roles: int = 1) -> q.UserView:
    held = tuple(
        q.RoleView(role="author", scope=unit, granted_by="root", granted_at="")
        for _ in range(roles)
    )
    return q.UserView(
        user_id="x",
        name="X",
        unit=unit,
        email="x@example.org",
        active=active,
        esign_key_id=None,
        roles=held,
    )


def test_an_admin_role_covers_its_scope_unit_and_every_unit_below() -> None:
    assert admin_scope([("admin", "B1")], TREE) == {"B1", "B1-QA"}
    assert admin_scope([("admin", "HQ")], TREE) == {"HQ", "B1", "B1-QA", "B2"}
    assert admin_scope([("manager", "HQ"), ("author", "B1")], TREE) == frozenset()


def test_units_offer_rename_and_close_when_open_and_in_scope() -> None:
    scope = admin_scope([("admin", "B1")], TREE)
    by_code = {u.code: u for u in TREE}
    assert unit_actions(by_code["B1"], scope) == ("rename", "close")
    assert unit_actions(by_code["HQ"], scope) == ()
    everything = admin_scope([("admin", "HQ")], TREE)
    assert unit_actions(by_code["HQ"], everything) == ("rename",)
    assert unit_actions(by_code["B2"], everything) == ()
    assert can_create_under(by_code["B1"], scope)
    assert not can_create_under(by_code["B2"], everything)


def test_people_offer_changes_while_active_in_scope_and_revoke_when_holding_a_role() -> (
    None
):
    scope = admin_scope([("admin", "B1")], TREE)
    assert user_actions(_user("B1-QA"), scope) == (
        "grant",
        "revoke",
        "move",
        "deactivate",
        "reset",
    )
    assert "revoke" not in user_actions(_user("B1", roles=0), scope)
    assert user_actions(_user("B1", active=False), scope) == ()
    assert user_actions(_user("HQ"), scope) == ()
