"""Every role against every page: the registers, reports and own page are open to every
signed-in person; a page that starts a record opens exactly for the roles that may issue
its command (ledger.domain.permissions); administration for administrators only.

And every person against every record: a record of a unit the person does not read
(their own unit, the units of their roles, the units below for managers, auditors and
certifiers, every unit for administrators) answers 404 on its page and is missing
from its register and the register's CSV export."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.domain import (
    audits,
    documents,
    findings,
    indicators,
    reviews,
    units,
    users,
)
from ledger.domain.permissions import COMMAND_ROLES
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.service import PEOPLE, blob, secret
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

READ_PAGES = (
    "/dashboard",
    "/documents",
    "/audits",
    "/findings",
    "/indicators",
    "/reviews",
    "/reports/status",
    "/me",
)
START_PAGES = {
    "/documents/new": documents.DraftDocument,
    "/audits/new": audits.PlanAudit,
    "/findings/new": findings.RaiseFinding,
    "/indicators/new": indicators.DefineIndicator,
    "/reviews/new": reviews.HoldManagementReview,
    "/admin/units/new": units.CreateUnit,
}
ADMIN_PAGES = ("/admin/units", "/admin/users")
ROLES = {user: {role for role, _ in roles} for user, _, roles in PEOPLE} | {
    "root": {"admin"}
}


@pytest.mark.parametrize("user", sorted(ROLES))
def test_each_role_opens_what_it_may_and_nothing_else(
    client: FlaskClient, user: str
) -> None:
    sign_in(client, user)
    roles = ROLES[user]
    seen = {}
    for page in READ_PAGES:
        seen[page] = client.get(page).status_code
    for page in START_PAGES:
        seen[page] = client.get(page).status_code
    for page in ADMIN_PAGES:
        seen[page] = client.get(page).status_code
    expected = dict.fromkeys(READ_PAGES, 200)
    expected |= {
        page: 200 if roles & set(COMMAND_ROLES[command]) else 403
        for page, command in START_PAGES.items()
    }
    expected |= dict.fromkeys(ADMIN_PAGES, 200 if "admin" in roles else 403)
    assert seen == expected


def test_every_role_is_in_the_matrix() -> None:
    held = set().union(*ROLES.values())
    assert held >= {
        "admin",
        "author",
        "approver",
        "owner",
        "manager",
        "auditor",
        "viewer",
        "certifier",
    }


def test_nobody_signed_in_is_sent_to_sign_in(client: FlaskClient) -> None:
    for page in (*READ_PAGES, *START_PAGES, *ADMIN_PAGES):
        response = client.get(page)
        assert response.status_code == 302, page
        assert "/login" in response.headers["Location"], page


# --- reading records of another unit -------------------------------------------------

# Who reads the records of B1 and of B2 (tests.support.service.PEOPLE): the people
# of the unit and those whose roles reach it; headquarters' auditors and manager
# reach both bureaus, the certifier only B1.
READERS = {
    "B1": {"alice", "bob", "carol", "dave", "erin", "lars", "mia", "hank", "vic"}
    | {"cert", "root"},
    "B2": {"carol", "erin", "lars", "hank", "zoe", "root"},
}


def _records(store: EventStore, clock: FixedClock, unit: str, author: str) -> None:
    """One record of each kind in `unit`, numbered after it."""
    svc = Service(store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10)
    svc.handle(
        documents.DraftDocument(
            doc_id=f"QP-{unit}",
            unit=unit,
            title="Control of records",
            kind="procedure",
            content=blob(store, f"text of {unit}"),
        ),
        author,
    )
    svc.handle(
        audits.PlanAudit(
            audit_id=f"IA-{unit}",
            programme="2026",
            unit=unit,
            scope="Records",
            criteria=["7.5"],
            lead_auditor="carol",
            team=[],
            planned_start=date(2026, 2, 1),
            planned_end=date(2026, 2, 3),
        ),
        "carol",
    )
    svc.handle(
        findings.RaiseFinding(
            finding_id=f"F-{unit}",
            unit=unit,
            source="supervision",
            classification="minor",
            criterion={"clause": "7.5.3"},
            description="Records unsigned",
            evidence=[
                {
                    "blob": store.put_blob(b"photo"),
                    "size": 5,
                    "name": "photo.jpg",
                    "media_type": "image/jpeg",
                }
            ],
            due_on=date(2026, 3, 31),
        ),
        "carol",
    )
    svc.handle(
        indicators.DefineIndicator(
            indicator_id=f"KPI-{unit}",
            unit=unit,
            owner="dave" if unit == "B1" else "zoe",
            name="On-time calibration",
            measure="%",
            direction="higher_is_better",
            target="95",
            frequency="monthly",
            method="done on time / due",
            effective_from="2025-10",
        ),
        "hank",
    )
    svc.handle(
        reviews.HoldManagementReview(
            review_id=f"MR-{unit}",
            unit=unit,
            held_on=clock.now().date(),
            attendees=["hank"],
        ),
        "hank",
    )


@pytest.fixture
def records(people_store: EventStore, clock: FixedClock) -> None:
    _records(people_store, clock, "B1", "alice")
    _records(people_store, clock, "B2", "zoe")


RECORD_PAGES = {
    "/documents": "QP-",
    "/audits": "IA-",
    "/findings": "F-",
    "/indicators": "KPI-",
    "/reviews": "MR-",
}


@pytest.mark.parametrize("user", sorted(ROLES))
def test_each_person_reads_the_records_of_the_units_they_read_and_no_others(
    client: FlaskClient, records: None, user: str
) -> None:
    sign_in(client, user)
    for unit, readers in READERS.items():
        expected = 200 if user in readers else 404
        for register, prefix in RECORD_PAGES.items():
            record = f"{prefix}{unit}"
            assert client.get(f"{register}/{record}").status_code == expected, record
            listed = client.get(register).get_data(as_text=True)
            exported = client.get(f"{register}?format=csv").get_data(as_text=True)
            assert (f"/{record}" in listed) == (user in readers), (register, record)
            assert (record in exported) == (user in readers), (register, record)
        for action in ("/documents/QP-B1/submit", "/indicators/KPI-B1/target"):
            if user not in READERS["B1"]:
                assert client.get(action).status_code == 404, action


def test_effective_documents_of_the_unit_above_are_read_below(
    client: FlaskClient, people_store: EventStore, clock: FixedClock
) -> None:
    svc = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    svc.handle(users.GrantRole(user_id="alice", role="author", scope="HQ"), "root")
    svc.handle(users.GrantRole(user_id="bob", role="approver", scope="HQ"), "root")
    svc.handle(
        documents.DraftDocument(
            doc_id="QM-1",
            unit="HQ",
            title="Quality manual",
            kind="manual",
            content=blob(people_store, "the manual"),
        ),
        "alice",
    )
    sign_in(client, "zoe")
    assert client.get("/documents/QM-1").status_code == 404  # a draft: HQ's own
    assert "/documents/QM-1" not in client.get("/documents").get_data(as_text=True)
    svc.handle(documents.SubmitDocument(doc_id="QM-1"), "alice")
    svc.handle(documents.ReviewDocument(doc_id="QM-1", outcome="endorsed"), "bob")
    svc.handle(documents.ApproveDocument(doc_id="QM-1"), "bob", password=secret("bob"))
    svc.handle(
        documents.MakeDocumentEffective(doc_id="QM-1", effective_on=clock.now().date()),
        "bob",
    )
    assert client.get("/documents/QM-1").status_code == 200
    assert "/documents/QM-1" in client.get("/documents").get_data(as_text=True)
    assert client.get("/documents/QM-1/withdraw").status_code == 403
