"""The key registry of ledger format v1: who may hold a key, registration, revocation, in force.

Pure, and the one definition of these rules: the offline verifier and the store both
call it. The rules are docs/ledger-format.md section 3 as read in section 8 (readings 6
and 8). A check returns its problems as an ordered list of (field, message): the
verifier reports the first as its reason, the store reports every field it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.integrity.canonical import b64decode_canonical
from ledger.integrity.envelope import ACTOR_RE
from ledger.integrity.signing import key_id

PURPOSES: Final = ("ledger", "esign")
SERVICE: Final = "service"
REGISTRATION_MEMBERS: Final = frozenset({"key_id", "public_key", "holder", "purpose"})
REVOCATION_MEMBERS: Final = frozenset({"key_id", "reason"})

Problem = tuple[str, str]
"""(field of the event's data, or "data" for its members; what is wrong with it)."""


class KeyState(Protocol):
    """What the rules read of a registered key."""

    @property
    def key_id(self) -> str: ...
    @property
    def public_key(self) -> bytes: ...
    @property
    def holder(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def registered_seq(self) -> int: ...
    @property
    def revoked_seq(self) -> int | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredKey:
    """A key as the chain registered it (and revoked it, once it has been)."""

    key_id: str
    public_key: bytes
    holder: str
    purpose: str
    registered_seq: int
    revoked_seq: int | None = None

    def in_force_for(self, seq: int) -> bool:
        """Return whether this key may sign event `seq`."""
        return in_force_for(self, seq)


def in_force_for(key: KeyState, seq: int) -> bool:
    """Return whether `key` may sign event `seq`.

    Registrations and revocations take effect from the next event on: a key registered
    at r signs events r+1 onwards; a key revoked at v signs events up to and including v.
    """
    return key.registered_seq < seq and (
        key.revoked_seq is None or key.revoked_seq >= seq
    )


def genesis_key(public: bytes) -> RegisteredKey:
    """Return the first ledger key, registered by event 1 (`ledger.initialized`)."""
    return RegisteredKey(
        key_id=key_id(public),
        public_key=public,
        holder=SERVICE,
        purpose="ledger",
        registered_seq=1,
    )


def is_user_id(holder: object) -> bool:
    """Return whether `holder` is a user id: what `actor` may hold, but not `system` or `service`."""
    return (
        isinstance(holder, str)
        and bool(ACTOR_RE.fullmatch(holder))
        and holder not in ("system", SERVICE)
    )


def holder_problem(holder: object, purpose: object) -> str | None:
    """Return what is wrong with `holder` for a key of `purpose`, or None.

    A `ledger` key is held by `service`, an `esign` key by a user id.
    """
    if purpose == "ledger":
        return None if holder == SERVICE else "a ledger key must be held by the service"
    if purpose == "esign":
        if is_user_id(holder):
            return None
        return "an esign key must be held by a person (a user id)"
    if holder == SERVICE or is_user_id(holder):
        return None
    return "key holder must be 'service' or a user id"


def check_registration(
    data: Mapping[str, object], seq: int, registry: Mapping[str, KeyState]
) -> tuple[RegisteredKey | None, list[Problem]]:
    """Check the data of a `ledger.key_registered` event at `seq` against the registry.

    Returns the registered key and no problems, or None and the problems in the order
    the verifier checks them.
    """
    problems: list[Problem] = []
    if set(data) != REGISTRATION_MEMBERS:
        problems.append(
            (
                "data",
                "key_registered data must be {key_id, public_key, holder, purpose}",
            )
        )
    try:
        public: bytes | None = b64decode_canonical(data.get("public_key"), 32)
    except ValueError:
        public = None
        problems.append(
            (
                "public_key",
                "public_key is not base64 of 32 bytes (standard, padded, canonical)",
            )
        )
    kid = data.get("key_id")
    if public is not None and kid != key_id(public):
        problems.append(("key_id", f"key_id {kid!r} is not the id of its public key"))
    elif isinstance(kid, str) and kid in registry:
        problems.append(("key_id", f"key {kid} is registered already"))
    purpose, holder = data.get("purpose"), data.get("holder")
    if purpose not in PURPOSES:
        problems.append(("purpose", f"key purpose {purpose!r} is not ledger or esign"))
    problem = holder_problem(holder, purpose)
    if problem is not None:
        problems.append(("holder", problem))
    if problems or public is None:
        return None, problems
    return (
        RegisteredKey(
            key_id=str(kid),
            public_key=public,
            holder=str(holder),
            purpose=str(purpose),
            registered_seq=seq,
        ),
        [],
    )


def check_revocation(
    data: Mapping[str, object], seq: int, registry: Mapping[str, KeyState]
) -> tuple[RegisteredKey | None, list[Problem]]:
    """Check the data of a `ledger.key_revoked` event at `seq` against the registry.

    Returns the key as revoked and no problems, or None and the problems in the order
    the verifier checks them.
    """
    problems: list[Problem] = []
    if set(data) != REVOCATION_MEMBERS:
        problems.append(("data", "key_revoked data must be {key_id, reason}"))
    kid = data.get("key_id")
    record = registry.get(kid) if isinstance(kid, str) else None
    if record is None:
        problems.append(("key_id", f"key {kid} is revoked but was never registered"))
    elif record.revoked_seq is not None:
        problems.append(
            ("key_id", f"key {kid} was revoked at seq {record.revoked_seq} already")
        )
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        problems.append(("reason", "a key revocation needs a reason"))
    if (
        record is not None
        and record.purpose == "ledger"
        and not any(
            k.purpose == "ledger" and k.revoked_seq is None and k.key_id != kid
            for k in registry.values()
        )
    ):
        problems.append(
            ("key_id", "revoking the last ledger key would leave none in force")
        )
    if problems or record is None:
        return None, problems
    revoked = RegisteredKey(
        key_id=record.key_id,
        public_key=record.public_key,
        holder=record.holder,
        purpose=record.purpose,
        registered_seq=record.registered_seq,
        revoked_seq=seq,
    )
    return revoked, []


__all__ = [
    "PURPOSES",
    "REGISTRATION_MEMBERS",
    "REVOCATION_MEMBERS",
    "SERVICE",
    "KeyState",
    "Problem",
    "RegisteredKey",
    "check_registration",
    "check_revocation",
    "genesis_key",
    "holder_problem",
    "in_force_for",
    "is_user_id",
]
