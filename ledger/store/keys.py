"""The key registry of the store: KeyRecord, the check of key events and signers, the keys table."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine

from ledger.errors import EventRejectedError, KeyMaterialError
from ledger.integrity import keys as integrity_keys
from ledger.integrity.envelope import NewEvent
from ledger.integrity.keys import RegisteredKey
from ledger.integrity.signing import SigningKey, key_id
from ledger.store.engine import storage_errors
from ledger.store.tables import keys as keys_table

KEYS_STREAM: Final = "ledger/keys"

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


KeyRecord = RegisteredKey
"""A key of the ledger's key registry (stream ledger/keys), as the integrity core defines it."""


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
            return integrity_keys.genesis_key(signer.public_raw)
    elif event_.type in ("ledger.key_registered", "ledger.key_revoked"):
        check = (
            integrity_keys.check_registration
            if event_.type == "ledger.key_registered"
            else integrity_keys.check_revocation
        )
        record, found = check(data, seq, state)
        if record is not None:
            return record
        for name, text in found:
            problems.setdefault(name, text)
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
