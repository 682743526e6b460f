"""The service key: the key file (`ledger.keyfile`) held in step with the ledger's
key registry.

A rotation holds the rotation lock from reading the key in force to the key file's
swap, so rotations on one machine run one after another: a second rotation waits,
then rotates from the key the first one installed. Its steps, each survivable:

1. `staged`: the new key is written durably to `<key file>.new`;
2. `registered`: the ledger registered the new key and revoked the old one (one
   transaction, committed);
3. `linked`: the old key file is linked to `<key file>.old`;
4. `installed`: the new key replaced the key file (atomic rename);
5. then `<key file>.old` is overwritten and removed.

Whoever finds a rotation half done (a staged or a replaced key beside the key file)
completes it under the same lock: a staged key the ledger never registered (a crash
before step 2) is destroyed; a staged key the ledger holds in force is installed,
never deleted; a replaced key is destroyed once the new one is in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.errors import KeyMaterialError, LedgerError
from ledger.integrity.signing import SigningKey
from ledger.servicekey.keyfile import KeyFile
from ledger.store import EventStore, KeyRecord

ROTATION_STEPS = ("staged", "registered", "linked", "installed")

StepHook = Callable[[str], None]
"""Called with each step's name as the rotation passes it (tests stop there)."""


def _missing_key_message(key_file: KeyFile) -> str:
    return (
        f"no signing key file at {key_file.path}: reading works without it, but "
        "appending and signing checkpoints need the service key; restore the file "
        "from its offline backup (mode 0600) or set QMS_SIGNING_KEY_FILE"
    )


def ledger_keys_in_force(records: list[KeyRecord]) -> list[KeyRecord]:
    """Return the ledger keys that are not revoked, oldest registration first."""
    return [r for r in records if r.purpose == "ledger" and r.revoked_seq is None]


@dataclass(frozen=True, slots=True)
class Rotation:
    """What `rotate` did."""

    old: SigningKey
    new: SigningKey
    size: int


class ServiceKey:
    """The service key file of one ledger (`store`)."""

    def __init__(self, key_file: KeyFile, store: EventStore) -> None:
        """Couple `key_file` with the key registry of `store`."""
        self.key_file = key_file
        self.store = store

    def load(self) -> SigningKey:
        """Return the key to sign with, completing a half-done rotation first.

        This is the store's key source.

        Raises:
            KeyMaterialError: the key file is missing, open to others or unreadable,
                or a half-done rotation cannot be completed (the message says why).
        """
        if self.key_file.half_done():
            self.complete_rotation()
        if not self.key_file.exists():
            raise KeyMaterialError(_missing_key_message(self.key_file))
        return self.key_file.load()

    def complete_rotation(self) -> str | None:
        """Complete (or undo) a rotation that stopped half way; say what was done.

        Returns None when nothing was left to do.

        Raises:
            KeyMaterialError: the files cannot be changed, or the staged key is one
                the ledger registered but revoked since (it is kept; the message says
                what to do).
            StorageError: the key registry cannot be read.
        """
        with self.key_file.locked():
            return self._complete_locked()

    def _complete_locked(self) -> str | None:
        key_file = self.key_file
        done: str | None = None
        staged = key_file.load_staged()
        if staged is not None:
            records = {r.key_id: r for r in self.store.key_records()}
            record = records.get(staged.key_id)
            if record is None:
                key_file.discard_staged()
                done = (
                    f"removed the staged key {staged.key_id} of a rotation that "
                    "stopped before the ledger registered it"
                )
            elif record.purpose == "ledger" and record.revoked_seq is None:
                key_file.install_staged()
                done = (
                    f"completed a rotation: installed the staged key "
                    f"{staged.key_id}, the ledger key in force, as {key_file.path}"
                )
            else:
                raise KeyMaterialError(
                    f"{key_file.staged} holds key {staged.key_id}, which this ledger "
                    f"registered and revoked at seq {record.revoked_seq}: it is kept; "
                    "move it out of the key folder (keep it offline as evidence)"
                )
        if key_file.replaced.exists():
            key_file.destroy_replaced()
            done = done or f"destroyed the replaced key {key_file.replaced}"
        return done

    def rotate(self, reason: str, *, hook: StepHook | None = None) -> Rotation:
        """Register a new ledger key, revoke the old one and replace the key file.

        Holds the rotation lock throughout; a concurrent rotation waits for it and
        then rotates from this rotation's new key.

        Raises:
            KeyMaterialError: the key file is missing or unreadable, or does not hold
                the ledger key in force.
            EventRejectedError: the reason is empty.
            StorageError: the database failed.
        """
        step = hook or (lambda _name: None)
        key_file = self.key_file
        store = self.store
        with key_file.locked():
            self._complete_locked()
            if not key_file.exists():
                raise KeyMaterialError(_missing_key_message(key_file))
            old = key_file.load()
            in_force = {r.key_id for r in ledger_keys_in_force(store.key_records())}
            if old.key_id not in in_force:
                raise KeyMaterialError(
                    f"{key_file.path} holds key {old.key_id}, which is not a ledger "
                    f"key in force (in force: {', '.join(sorted(in_force)) or 'none'}); "
                    "restore the key file from its offline backup"
                )
            store.signer = old
            new = SigningKey.generate()
            # The new key reaches the disk before the ledger names it, so a crash
            # between the two can never leave the ledger signed by a key nobody holds.
            key_file.stage(new)
            step("staged")
            try:
                store.rotate_ledger_key(new, reason)
            except LedgerError:
                # Did the rotation commit before the error reached us? The ledger decides.
                if new.key_id not in {r.key_id for r in store.key_records()}:
                    key_file.discard_staged()
                    raise
                store.signer = new
            step("registered")
            size = store.size()
            # The revoked key may sign nothing more, but whoever held it could still
            # sign an alternative history from event 1 on: it is destroyed, after the
            # new one is in place.
            key_file.install_staged(hook=step)
        return Rotation(old=old, new=new, size=size)
