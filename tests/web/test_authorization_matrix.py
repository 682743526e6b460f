"""Every role against every page: the registers, reports and own page are open to every
signed-in person; a page that starts a record opens exactly for the roles that may issue
its command (ledger.domain.permissions); administration for administrators only."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ledger.domain import audits, documents, findings, indicators, reviews, units
from ledger.domain.permissions import COMMAND_ROLES
from tests.support.service import PEOPLE
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
