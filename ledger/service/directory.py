"""The directory of units, users, roles and e-signature keys the service authorizes with.

It is the service's own fold of unit/*, user/* and ledger key events; it never reads
the read side.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.domain.permissions import SUBTREE_ROLES
from ledger.integrity.envelope import RecordedEvent, stream_kind
from ledger.store import EventStore


@dataclass(slots=True)
class UnitEntry:
    """A unit as the directory knows it."""

    code: str
    kind: str
    parent: str | None
    closed: bool = False


@dataclass(slots=True)
class UserEntry:
    """A user as the directory knows them."""

    user_id: str
    name: str
    unit: str
    roles: set[tuple[str, str]] = field(default_factory=set)
    active: bool = True
    key_id: str | None = None


@dataclass(slots=True)
class Directory:
    """Units, users, roles and esign keys, folded from the ledger for authorization."""

    position: int = 0
    units: dict[str, UnitEntry] = field(default_factory=dict)
    users: dict[str, UserEntry] = field(default_factory=dict)
    revoked_keys: set[str] = field(default_factory=set)

    def apply(self, event: RecordedEvent) -> None:  # one branch per type
        """Fold one event into the directory."""
        self.position = event.seq
        data, name = event.data, event.type
        kind = stream_kind(event.stream)
        if kind == "ledger":
            if name == "ledger.key_revoked":
                self.revoked_keys.add(str(data["key_id"]))
            return
        user = self.users.get(event.stream.split("/", 1)[1]) if kind == "user" else None
        if name == "unit.created":
            parent = data.get("parent")
            code = str(data["code"])
            self.units[code] = UnitEntry(
                code, str(data["kind"]), str(parent) if parent else None
            )
        elif name == "unit.closed":
            self.units[event.stream.split("/", 1)[1]].closed = True
        elif name == "user.registered":
            uid = str(data["user_id"])
            self.users[uid] = UserEntry(uid, str(data["name"]), str(data["unit"]))
        elif user is None:
            return
        elif name == "user.role_granted":
            user.roles.add((str(data["role"]), str(data["scope"])))
        elif name == "user.role_revoked":
            user.roles.discard((str(data["role"]), str(data["scope"])))
        elif name == "user.moved":
            new = data["new"]
            if isinstance(new, Mapping):
                user.unit = str(new["unit"])
        elif name == "user.deactivated":
            user.active = False
        elif name == "user.esign_key_issued":
            user.key_id = str(data["key_id"])

    def ancestors(self, code: str) -> list[str]:
        """Return `code` and the codes above it up to the headquarters."""
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in chain:
            chain.append(current)
            entry = self.units.get(current)
            current = entry.parent if entry else None
        return chain

    def subtree(self, code: str) -> set[str]:
        """Return `code` and every unit below it."""
        return {c for c in self.units if code in self.ancestors(c)}

    def covers(self, role: str, scope: str, unit: str) -> bool:
        """Return whether a role granted for `scope` applies to records of `unit`."""
        if role in SUBTREE_ROLES:
            return scope in self.ancestors(unit)
        return scope == unit

    def may(self, user_id: str, roles: Iterable[str], unit: str | None) -> bool:
        """Return whether the user holds one of `roles` covering `unit` (None: any)."""
        entry = self.users.get(user_id)
        if entry is None or not entry.active:
            return False
        wanted = set(roles)
        return any(
            role in wanted and (unit is None or self.covers(role, scope, unit))
            for role, scope in entry.roles
        )

    def open_units(self) -> dict[str, str]:
        """Return the open units' kinds by code."""
        return {c: u.kind for c, u in self.units.items() if not u.closed}


class DirectoryKeeper:
    """One directory kept caught up with the ledger, shared by a service's threads."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._directory = Directory()
        self._lock = threading.Lock()

    def current(self) -> Directory:
        """Return the directory, caught up with the ledger (reads only new events).

        Raises:
            StorageError: the database failed.
        """
        with self._lock:
            for event in self.store.read(from_seq=self._directory.position + 1):
                self._directory.apply(event)
            return self._directory

    def advance(self, recorded: Sequence[RecordedEvent]) -> None:
        """Fold events just appended, when they follow the directory."""
        with self._lock:
            if recorded and recorded[0].seq == self._directory.position + 1:
                for event in recorded:
                    self._directory.apply(event)
