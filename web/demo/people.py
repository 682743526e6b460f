"""The demo's units and people: the first administrator, the bureaus, everyone's roles and passwords."""

from __future__ import annotations

from ledger.domain import units as un
from ledger.domain import users as us
from ledger.domain.units import HQ_CODE
from ledger.errors import EventRejectedError
from ledger.integrity.envelope import stream_kind
from ledger.store import EventStore
from web.demo.recorder import Bureau, Recorder
from web.demo.scale import demo_password
from web.demo.story import ADMIN_ID, ADMIN_NAME, BUREAUS


class People:
    """Enrols the demo's cast on its first day."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def enrol_all(self) -> None:
        """Units, people, roles and passwords on the first day."""
        self.adopt_or_create_admin()
        if len(self.rec.bureaus) == 0:
            for index in range(self.rec.scale.bureaus):
                if index < len(BUREAUS):
                    code, zh, en = BUREAUS[index]
                else:
                    n = index + 1
                    code, zh, en = f"B{n:03d}", f"第{n:03d}分局", f"Bureau {n:03d}"
                self.rec.record(
                    un.CreateUnit(
                        code=code,
                        name_zh=zh,
                        name_en=en,
                        kind="bureau",
                        parent=self.rec.hq,
                    ),
                    self.rec.admin,
                )
                low = code.lower()
                self.rec.bureaus.append(
                    Bureau(
                        code,
                        zh,
                        en,
                        f"{low}.author",
                        f"{low}.approver",
                        f"{low}.owner",
                        f"{low}.manager",
                    )
                )
        self.rec.auditors = ["hq.auditor1", "hq.auditor2", "hq.auditor3"]
        hq_people: list[tuple[str, list[str]]] = [
            (self.rec.hq_manager, ["manager"]),
            ("hq.author", ["author"]),
            ("hq.approver", ["approver"]),
            *[(a, ["auditor"]) for a in self.rec.auditors],
            ("hq.viewer", ["viewer"]),
            ("hq.certifier", ["certifier"]),
        ]
        for user_id, roles in hq_people:
            self.enrol(user_id, self.rec.hq, [(r, self.rec.hq) for r in roles])
        for b in self.rec.bureaus:
            self.enrol(b.author, b.code, [("author", b.code)])
            self.enrol(b.approver, b.code, [("approver", b.code)])
            self.enrol(b.owner, b.code, [("owner", b.code)])
            self.enrol(b.manager, b.code, [("manager", b.code), ("owner", b.code)])

    def adopt_or_create_admin(self) -> None:
        """Use the first administrator of an empty ledger, or create one."""
        if not self.rec.store.is_initialized():
            self.rec.store.initialize()
        refuse_non_empty(self.rec.store)
        directory = self.rec.service.directory()
        hqs = [c for c, u in directory.units.items() if u.kind == "headquarters"]
        if directory.users:
            (entry,) = directory.users.values()
            self.rec.admin, self.rec.hq = entry.user_id, entry.unit
            return
        self.rec.hq = hqs[0] if hqs else HQ_CODE
        if self.rec.clock is not None:
            self.rec.clock.current = self.rec.moment
        self.rec.events += len(
            self.rec.service.create_first_admin(
                ADMIN_ID,
                ADMIN_NAME,
                self.rec.hq,
                "总局",
                "Headquarters",
                demo_password(ADMIN_ID, self.rec.seed),
                email=f"{ADMIN_ID}@qms.example",
            )
        )
        self.rec.names.add(ADMIN_NAME)

    def enrol(self, user_id: str, unit: str, roles: list[tuple[str, str]]) -> None:
        """Register a person, grant roles and let them choose their demo password."""
        temporary = f"temporary-{user_id}-{self.rec.seed}"
        name = self.rec.name()
        self.rec.people[user_id] = name
        self.rec.record(
            us.RegisterUser(
                user_id=user_id,
                name=name,
                unit=unit,
                email=f"{user_id}@qms.example",
                temporary_password=temporary,
            ),
            self.rec.admin,
        )
        for role, scope in roles:
            self.rec.record(
                us.GrantRole(user_id=user_id, role=role, scope=scope), self.rec.admin
            )
        self.rec.events += len(
            self.rec.service.change_password(
                user_id, temporary, demo_password(user_id, self.rec.seed)
            )
        )


FIRST_ADMIN_TYPES = frozenset(
    {"user.registered", "user.role_granted", "user.esign_key_issued", "unit.created"}
)


def refuse_non_empty(store: EventStore) -> None:
    """Raise unless the ledger holds at most the genesis and the first administrator.

    Raises:
        EventRejectedError: a QMS record exists already.
    """
    users: set[str] = set()
    for event in store.read():
        kind = stream_kind(event.stream)
        if kind == "ledger":
            continue
        if kind == "user":
            users.add(event.stream)
        if (
            kind in ("unit", "user")
            and event.type in FIRST_ADMIN_TYPES
            and (
                event.type != "unit.created" or event.data.get("kind") == "headquarters"
            )
            and len(users) <= 1
        ):
            continue
        message = (
            "the demo fills an empty ledger only; "
            f"event {event.seq} ({event.type} on {event.stream}) exists: "
            "run the demo on a new ledger (a new QMS_INSTANCE or database; "
            "a demo that was stopped leaves its records behind)"
        )
        raise EventRejectedError(message, {"ledger": [message]})
