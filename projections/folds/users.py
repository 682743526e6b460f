"""Users projection: people, their unit and their roles per scope unit, versioned."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table

from ledger.integrity.envelope import RecordedEvent
from projections.batch import Batch
from projections.folds.fields import obj, record_id, text
from projections.tables import user_roles, users


class UsersProjection:
    """Folds `user/*` events into `proj_users` and `proj_user_roles`."""

    name = "users"
    kind = "user"

    @property
    def tables(self) -> Sequence[Table]:
        return (users, user_roles)

    def apply(self, batch: Batch, event: RecordedEvent) -> None:
        uid, data, seq = record_id(event), event.data, event.seq
        etype = event.type
        if etype == "user.registered":
            batch.put(
                users,
                (uid,),
                seq,
                {
                    "name": text(data, "name"),
                    "unit": text(data, "unit"),
                    "email": text(data, "email"),
                    "active": True,
                },
            )
        elif etype == "user.role_granted":
            role, scope = text(data, "role") or "", text(data, "scope") or ""
            batch.put(
                user_roles,
                (uid, role, scope),
                seq,
                {"granted_by": event.actor, "granted_at": event.recorded_at},
            )
        elif etype == "user.role_revoked":
            role, scope = text(data, "role") or "", text(data, "scope") or ""
            batch.end(user_roles, (uid, role, scope), seq)
        elif etype == "user.moved":
            batch.update(users, (uid,), seq, unit=text(obj(data, "new"), "unit"))
        elif etype == "user.deactivated":
            batch.update(
                users,
                (uid,),
                seq,
                active=False,
                deactivated_reason=text(data, "reason"),
            )
        elif etype == "user.esign_key_issued":
            batch.update(users, (uid,), seq, esign_key_id=text(data, "key_id"))
