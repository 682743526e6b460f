"""The users register: people with their roles per scope unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from projections.as_of import LedgerClock, position, visible
from projections.errors import RecordNotFoundError
from projections.queries.rows import dict_rows, text_of, text_or_none
from projections.queries.units import unit_scope
from projections.tables import user_roles, users


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleView:
    role: str
    scope: str
    granted_by: str
    granted_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    user_id: str
    name: str
    unit: str
    email: str
    active: bool
    esign_key_id: str | None
    roles: tuple[RoleView, ...] = ()


def _users(
    conn: Connection, n: int | None, user_id: str | None = None
) -> list[UserView]:
    stmt = select(users).where(visible(users, n)).order_by(users.c.user_id)
    rstmt = select(user_roles).where(visible(user_roles, n))
    if user_id is not None:
        stmt = stmt.where(users.c.user_id == user_id)
        rstmt = rstmt.where(user_roles.c.user_id == user_id)
    roles: dict[str, list[RoleView]] = {}
    for r in dict_rows(
        conn,
        rstmt.order_by(user_roles.c.user_id, user_roles.c.role, user_roles.c.scope),
    ):
        roles.setdefault(str(r["user_id"]), []).append(
            RoleView(
                role=str(r["role"]),
                scope=str(r["scope"]),
                granted_by=text_of(r["granted_by"]),
                granted_at=text_of(r["granted_at"]),
            )
        )
    return [
        UserView(
            user_id=str(r["user_id"]),
            name=text_of(r["name"]),
            unit=text_of(r["unit"]),
            email=text_of(r["email"]),
            active=bool(r["active"]),
            esign_key_id=text_or_none(r["esign_key_id"]),
            roles=tuple(roles.get(str(r["user_id"]), ())),
        )
        for r in dict_rows(conn, stmt)
    ]


def user_list(
    engine: Engine,
    ledger: LedgerClock,
    *,
    unit: str | None = None,
    subtree: bool = True,
    as_of: datetime | None = None,
) -> list[UserView]:
    """Return users with their roles, ordered by user id, optionally of a subtree."""
    with engine.connect() as conn:
        n = position(ledger, as_of)
        scope = unit_scope(conn, n, unit, subtree)
        return [u for u in _users(conn, n) if scope is None or u.unit in scope]


def user(
    engine: Engine, ledger: LedgerClock, user_id: str, *, as_of: datetime | None = None
) -> UserView:
    """Return one user with roles.

    Raises:
        RecordNotFoundError: no such user as known at `as_of`.
    """
    with engine.connect() as conn:
        found = _users(conn, position(ledger, as_of), user_id)
    if not found:
        raise RecordNotFoundError(f"user {user_id} not found")
    return found[0]
