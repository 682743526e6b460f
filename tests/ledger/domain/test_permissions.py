"""The command-to-roles map: every command of the record rules names known roles."""

from __future__ import annotations

import inspect

from ledger.domain import (
    Command,
    audits,
    documents,
    findings,
    indicators,
    reviews,
    units,
    users,
)
from ledger.domain.permissions import COMMAND_ROLES, SUBTREE_ROLES

_MODULES = (audits, documents, findings, indicators, reviews, units, users)
# Base classes of a record kind's commands, never given themselves.
_BASES = {units.UnitCommand, users.UserCommand}


def _commands() -> set[type[Command]]:
    found: set[type[Command]] = set()
    for module in _MODULES:
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(value, Command)
                and value.__module__ == module.__name__
                and value not in _BASES
                and not value.__name__.endswith("Command")
            ):
                found.add(value)
    return found


def test_every_command_of_the_record_rules_has_roles() -> None:
    assert _commands() == set(COMMAND_ROLES)


def test_only_known_roles_record_and_certifier_and_viewer_record_nothing() -> None:
    given = {role for roles in COMMAND_ROLES.values() for role in roles}
    assert given <= set(users.ROLES)
    assert not given & {"certifier", "viewer"}
    assert set(SUBTREE_ROLES) <= set(users.ROLES)


def test_admin_manages_units_and_people_only() -> None:
    admin = {c for c, roles in COMMAND_ROLES.items() if "admin" in roles}
    assert all(c.__module__ in (units.__name__, users.__name__) for c in admin)
