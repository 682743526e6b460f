"""A service with headquarters, two bureaus and one person per role, and its helpers.

Shared by the service tests and the tests that rebuild read models from a service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ledger.clock import FixedClock
from ledger.domain import documents as d
from ledger.domain import units as un
from ledger.domain import users as us
from ledger.service import Service
from ledger.store import EventStore, Projector

TEMP = "temporary-1"
PEOPLE = [
    # user id, unit, roles (role, scope)
    ("alice", "B1", [("author", "B1")]),
    ("bob", "B1", [("approver", "B1")]),
    ("carol", "HQ", [("auditor", "HQ")]),
    ("dave", "B1", [("owner", "B1")]),
    ("erin", "B2", [("auditor", "HQ")]),
    ("lars", "B1", [("auditor", "HQ")]),
    ("mia", "B1", [("manager", "B1")]),
    ("hank", "HQ", [("manager", "HQ")]),
    ("vic", "B1", [("viewer", "B1")]),
    ("cert", "HQ", [("certifier", "B1")]),
    ("zoe", "B2", [("author", "B2")]),
]


def secret(user_id: str) -> str:
    return f"{user_id}-own-secret"


def build_service(
    store: EventStore, clock: FixedClock, *, projectors: Sequence[Projector] = ()
) -> Service:
    """HQ, bureaus B1 and B2, and one user per role who set their own password."""
    svc = Service(store, projectors=projectors, clock=clock, scrypt_n=2**10)
    svc.create_first_admin(
        "root", "Root Admin", "HQ", "总局", "Headquarters", secret("root")
    )
    for code in ("B1", "B2"):
        svc.handle(
            un.CreateUnit(
                code=code,
                name_zh=code,
                name_en=f"Bureau {code}",
                kind="bureau",
                parent="HQ",
            ),
            "root",
        )
    for user_id, unit, roles in PEOPLE:
        svc.handle(
            us.RegisterUser(
                user_id=user_id,
                name=user_id.title(),
                unit=unit,
                email=f"{user_id}@example.org",
                temporary_password=TEMP,
            ),
            "root",
        )
        for role, scope in roles:
            svc.handle(us.GrantRole(user_id=user_id, role=role, scope=scope), "root")
        svc.change_password(user_id, TEMP, secret(user_id))
    return svc


def blob(store: EventStore, text: str) -> dict[str, Any]:
    data = text.encode()
    digest = store.put_blob(data)
    return {
        "blob": digest,
        "size": len(data),
        "name": "doc.pdf",
        "media_type": "application/pdf",
    }


def draft(
    store: EventStore, doc_id: str = "QP-07", text: str = "rev A"
) -> d.DraftDocument:
    return d.DraftDocument(
        doc_id=doc_id,
        unit="B1",
        title="Control of records",
        kind="procedure",
        content=blob(store, text),
    )


def endorsed(service: Service, doc_id: str = "QP-07") -> None:
    service.handle(draft(service.store, doc_id), "alice")
    service.handle(d.SubmitDocument(doc_id=doc_id), "alice")
    service.handle(d.ReviewDocument(doc_id=doc_id, outcome="endorsed"), "bob")


def refused(
    service: Service, error: type[Exception], command: Any, actor: str, **kw: Any
) -> Exception:
    """Run a command that must fail and check the ledger did not grow."""
    before = service.store.size()
    with pytest.raises(error) as caught:
        service.handle(command, actor, **kw)
    assert service.store.size() == before
    return caught.value
