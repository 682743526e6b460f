"""Users, their units, roles and e-signature key custody events. Pure.

The e-signature key itself is generated and sealed by the service; the record rules
only state that a key was issued to the user (`user.esign_key_issued`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ledger.domain import (
    Command,
    Context,
    Data,
    Decision,
    reject,
    require_reason,
    require_text,
    unknown_command,
)
from ledger.integrity.envelope import RecordedEvent

USER_ID_RE = re.compile(r"[a-z0-9._-]{2,40}")
ROLES = (
    "admin",
    "author",
    "approver",
    "auditor",
    "owner",
    "manager",
    "viewer",
    "certifier",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserCommand(Command):
    """A command on one user."""

    user_id: str

    @property
    def stream(self) -> str:
        """The user's stream."""
        return f"user/{self.user_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterUser(UserCommand):
    """Register a user; the service issues an esign key under a temporary password."""

    name: str
    unit: str
    email: str
    temporary_password: str = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantRole(UserCommand):
    """Grant a role for a scope unit."""

    role: str
    scope: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeRole(UserCommand):
    """Revoke a role, with a reason."""

    role: str
    scope: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveUser(UserCommand):
    """Move a user to another unit, with a reason."""

    unit: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeactivateUser(UserCommand):
    """Deactivate a user, with a reason."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetPassword(UserCommand):
    """An administrator's reset: a new esign key under a temporary password."""

    temporary_password: str = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserState:
    """A user folded from their stream."""

    version: int = 0
    name: str = ""
    unit: str | None = None
    roles: frozenset[tuple[str, str]] = frozenset()
    active: bool = True
    key_id: str | None = None


def fold(state: UserState, event: RecordedEvent) -> UserState:
    """Return the state after `event`."""
    data = event.data
    state = replace(state, version=event.version)
    kind = event.type.split(".", 1)[1]
    if kind == "registered":
        return replace(state, name=str(data["name"]), unit=str(data["unit"]))
    if kind == "role_granted":
        return replace(
            state, roles=state.roles | {(str(data["role"]), str(data["scope"]))}
        )
    if kind == "role_revoked":
        return replace(
            state, roles=state.roles - {(str(data["role"]), str(data["scope"]))}
        )
    if kind == "moved":
        new = data["new"]
        return replace(
            state, unit=str(new["unit"]) if isinstance(new, dict) else state.unit
        )
    if kind == "deactivated":
        return replace(state, active=False)
    if kind == "esign_key_issued":
        return replace(state, key_id=str(data["key_id"]))
    return state


def _key_issued(context: Context, reason: str) -> tuple[str, Data]:
    if context.new_key_id is None:
        reject("key_id", "an e-signature key must be generated for this command")
    return ("user.esign_key_issued", {"key_id": context.new_key_id, "reason": reason})


def decide(state: UserState, command: UserCommand, context: Context) -> Decision:
    """Return the events `command` produces on `state`.

    Raises:
        EventRejectedError: the user id, unit or role is wrong, or a reason is missing.
    """
    if isinstance(command, RegisterUser):
        if state.version:
            reject(
                "user_id", f"user id {command.user_id} is taken and is never reassigned"
            )
        if not USER_ID_RE.fullmatch(command.user_id) or command.user_id == "system":
            reject("user_id", "a user id is 2-40 of a-z, 0-9, '.', '_' and '-'")
        if context.units and command.unit not in context.units:
            reject("unit", f"unit {command.unit} does not exist or is closed")
        email = require_text("email", command.email)
        if "@" not in email:
            reject("email", "email address is not valid")
        data: Data = {
            "user_id": command.user_id,
            "name": require_text("name", command.name),
            "unit": command.unit,
            "email": email,
        }
        return [("user.registered", data), _key_issued(context, "enrolment")]
    if not state.version:
        reject("user_id", f"user {command.user_id} does not exist")
    if not state.active:
        reject("status", f"user {command.user_id} is deactivated")
    if isinstance(command, GrantRole):
        if command.role not in ROLES:
            reject("role", f"role must be one of {', '.join(ROLES)}")
        if context.units and command.scope not in context.units:
            reject("scope", f"unit {command.scope} does not exist or is closed")
        if (command.role, command.scope) in state.roles:
            reject(
                "role",
                f"{command.user_id} holds {command.role} for {command.scope} already",
            )
        return [("user.role_granted", {"role": command.role, "scope": command.scope})]
    if isinstance(command, RevokeRole):
        reason = require_reason(command.reason)
        if (command.role, command.scope) not in state.roles:
            reject(
                "role",
                f"{command.user_id} does not hold {command.role} for {command.scope}",
            )
        data = {"role": command.role, "scope": command.scope, "reason": reason}
        return [("user.role_revoked", data)]
    if isinstance(command, MoveUser):
        reason = require_reason(command.reason)
        if context.units and command.unit not in context.units:
            reject("unit", f"unit {command.unit} does not exist or is closed")
        if command.unit == state.unit:
            reject("unit", f"{command.user_id} is in {command.unit} already")
        data = {
            "old": {"unit": state.unit},
            "new": {"unit": command.unit},
            "reason": reason,
        }
        return [("user.moved", data)]
    if isinstance(command, DeactivateUser):
        return [("user.deactivated", {"reason": require_reason(command.reason)})]
    if isinstance(command, ResetPassword):
        return [_key_issued(context, f"password reset by {context.actor}")]
    raise unknown_command(command)
