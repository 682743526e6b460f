"""The key registry of the store: KeyRecord, the check of key events and signers, the keys table."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine

from ledger.errors import EventRejectedError, KeyMaterialError
from ledger.integrity.envelope import ACTOR_RE, NewEvent
from ledger.integrity.signing import SigningKey, decode_public_key, key_id
from ledger.store.engine import storage_errors
from ledger.store.tables import keys as keys_table

KEYS_STREAM: Final = "ledger/keys"
PURPOSES: Final = frozenset({"ledger", "esign"})

_KEY_COLUMNS: Final = (
    keys_table.c.key_id,
    keys_table.c.public_key,
    keys_table.c.holder,
    keys_table.c.purpose,
    keys_table.c.registered_seq,
    keys_table.c.revoked_seq,
)
_REVOKE_KEY: Final = (
    sa.update(keys_table)
    .where(keys_table.c.key_id == bindparam("revoked_key_id"))
    .values(revoked_seq=bindparam("at_seq"))
)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    """A key of the ledger's key registry (stream ledger/keys)."""

    key_id: str
    public_key: bytes
    holder: str
    purpose: str
    registered_seq: int
    revoked_seq: int | None

    def in_force_for(self, seq: int) -> bool:
        """Return whether this key may sign event `seq`.

        Registrations and revocations take effect from the next event on.
        """
        registered = self.registered_seq < seq
        return registered and (self.revoked_seq is None or self.revoked_seq >= seq)


def check_signer(state: Mapping[str, KeyRecord], signer: SigningKey, seq: int) -> None:
    """Refuse `signer` unless it is a ledger key of `state` in force for event `seq`.

    Raises:
        KeyMaterialError: it is unknown, not a ledger key, revoked, or not in force yet.
    """
    record = state.get(signer.key_id)
    kid = signer.key_id
    if record is None:
        raise KeyMaterialError(
            f"signing key {kid} is not a registered key of this ledger"
        )
    if record.purpose != "ledger":
        raise KeyMaterialError(
            f"signing key {kid} is registered for {record.purpose}, not for the ledger"
        )
    if record.revoked_seq is not None and record.revoked_seq < seq:
        raise KeyMaterialError(
            f"signing key {kid} was revoked at seq {record.revoked_seq}"
        )
    if record.registered_seq >= seq:
        raise KeyMaterialError(
            f"signing key {kid} takes effect after seq {record.registered_seq}"
        )


def key_change(
    state: Mapping[str, KeyRecord],
    event_: NewEvent,
    signer: SigningKey,
    seq: int,
    where: str,
) -> KeyRecord:
    """Validate a key event against the registry; return the key's new record.

    `state` holds the records of the keys the event names; `where` prefixes the
    message ("event 2 of 3: " in a batch).

    Raises:
        EventRejectedError: the event breaks a key-registry rule (its problems by
            member).
    """
    data = event_.data
    problems: dict[str, str] = {}
    if event_.type == "ledger.initialized":
        if seq != 1:
            problems["type"] = "ledger.initialized is event 1 only"
        elif data.get("public_key") != signer.public_b64:
            problems["public_key"] = "event 1 registers the key that signs it"
        else:
            return KeyRecord(
                key_id=signer.key_id,
                public_key=signer.public_raw,
                holder="service",
                purpose="ledger",
                registered_seq=1,
                revoked_seq=None,
            )
    elif event_.type == "ledger.key_registered":
        kid = data.get("key_id")
        public: bytes | None = None
        text = data.get("public_key")
        try:
            public = decode_public_key(text) if isinstance(text, str) else None
        except KeyMaterialError as exc:
            problems["public_key"] = str(exc)
        if public is None:
            problems.setdefault(
                "public_key", "must be base64 of a raw 32-byte Ed25519 key"
            )
        elif kid != key_id(public):
            problems["key_id"] = (
                f"{kid!r} is not the id of the public key ({key_id(public)})"
            )
        if isinstance(kid, str) and kid in state:
            problems["key_id"] = f"key {kid} is registered already"
        purpose = data.get("purpose")
        holder = data.get("holder")
        if purpose not in PURPOSES:
            problems["purpose"] = f"{purpose!r} is not 'ledger' or 'esign'"
        if not isinstance(holder, str) or not (
            holder == "service" or (ACTOR_RE.fullmatch(holder) and holder != "system")
        ):
            problems["holder"] = f"{holder!r} is not 'service' or a user id"
        elif purpose == "ledger" and holder != "service":
            problems["holder"] = "a ledger key is held by 'service'"
        elif purpose == "esign" and holder == "service":
            problems["holder"] = "an esign key is held by a person (a user id)"
        if set(data) != {"key_id", "public_key", "holder", "purpose"}:
            problems["data"] = "members must be key_id, public_key, holder, purpose"
        if not problems and public is not None:
            return KeyRecord(
                key_id=str(kid),
                public_key=public,
                holder=str(holder),
                purpose=str(purpose),
                registered_seq=seq,
                revoked_seq=None,
            )
    elif event_.type == "ledger.key_revoked":
        kid = data.get("key_id")
        reason = data.get("reason")
        record = state.get(kid) if isinstance(kid, str) else None
        if record is None:
            problems["key_id"] = f"{kid!r} is not a registered key"
        elif record.revoked_seq is not None:
            problems["key_id"] = f"key {kid} was revoked at seq {record.revoked_seq}"
        elif record.purpose == "ledger" and not any(
            k.purpose == "ledger" and k.revoked_seq is None and k.key_id != kid
            for k in state.values()
        ):
            problems["key_id"] = f"key {kid} is the last ledger key in force"
        if not isinstance(reason, str) or not reason.strip():
            problems["reason"] = "a reason is required"
        if set(data) != {"key_id", "reason"}:
            problems["data"] = "members must be key_id, reason"
        if not problems and record is not None:
            return KeyRecord(
                key_id=record.key_id,
                public_key=record.public_key,
                holder=record.holder,
                purpose=record.purpose,
                registered_seq=record.registered_seq,
                revoked_seq=seq,
            )
    else:
        problems["type"] = f"{event_.type!r} is not a key event"
    summary = "; ".join(f"{name}: {text}" for name, text in problems.items())
    raise EventRejectedError(f"{where}{event_.type} rejected: {summary}", problems)


def _key_record(row: Sequence[Any]) -> KeyRecord:
    return KeyRecord(
        key_id=row[0],
        public_key=base64.b64decode(row[1]),
        holder=row[2],
        purpose=row[3],
        registered_seq=row[4],
        revoked_seq=row[5],
    )


def load_keys(connection: Connection, wanted: Iterable[str]) -> dict[str, KeyRecord]:
    """Return the stored records of the keys `wanted` (by key id; unknown ones left out)."""
    wanted = sorted(wanted)
    if not wanted:
        return {}
    rows = connection.execute(
        select(*_KEY_COLUMNS).where(
            keys_table.c.key_id.in_(bindparam("ids", expanding=True))
        ),
        {"ids": wanted},
    )
    return {row[0]: _key_record(row) for row in rows}


def key_records(reader: Engine) -> list[KeyRecord]:
    """Return every registered key, in registration order."""
    query = select(*_KEY_COLUMNS).order_by(
        keys_table.c.registered_seq, keys_table.c.key_id
    )
    with storage_errors("reading keys"), reader.connect() as connection:
        return [_key_record(row) for row in connection.execute(query)]


def write_key_changes(connection: Connection, changes: Sequence[KeyRecord]) -> None:
    """Store the records `key_change` returned, in event order (the key registry
    follows the key events in the same transaction)."""
    inserts = [
        {
            "key_id": change.key_id,
            "public_key": base64.b64encode(change.public_key).decode(),
            "holder": change.holder,
            "purpose": change.purpose,
            "registered_seq": change.registered_seq,
            "revoked_seq": None,
        }
        for change in changes
        if change.revoked_seq is None
    ]
    revocations = [
        {"revoked_key_id": change.key_id, "at_seq": change.revoked_seq}
        for change in changes
        if change.revoked_seq is not None
    ]
    if inserts:
        connection.execute(keys_table.insert(), inserts)
    if revocations:
        connection.execute(_REVOKE_KEY, revocations)


def registration(
    public_raw: bytes, *, holder: str, purpose: str, actor: str
) -> NewEvent:
    """Return `ledger.key_registered` of a raw Ed25519 public key."""
    return NewEvent(
        stream=KEYS_STREAM,
        type="ledger.key_registered",
        data={
            "key_id": key_id(public_raw),
            "public_key": base64.b64encode(public_raw).decode(),
            "holder": holder,
            "purpose": purpose,
        },
        actor=actor,
    )


def revocation(kid: str, reason: str, *, actor: str) -> NewEvent:
    """Return `ledger.key_revoked` of the key `kid`."""
    return NewEvent(
        stream=KEYS_STREAM,
        type="ledger.key_revoked",
        data={"key_id": kid, "reason": reason},
        actor=actor,
    )
