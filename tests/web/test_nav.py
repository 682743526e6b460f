"""The main navigation: every area a person may open, the current one marked, admin for admins."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]


def _nav(client: FlaskClient, path: str) -> str:
    text = client.get(path).get_data(as_text=True)
    start = text.find('<nav class="site-nav"')
    assert start >= 0, "no main navigation"
    return text[start : text.find("</nav>", start)]


def test_a_signed_in_person_sees_every_area_and_where_they_are(
    client: FlaskClient,
) -> None:
    sign_in(client, "alice")
    nav = _nav(client, "/documents")
    for path in (
        "/dashboard",
        "/documents",
        "/audits",
        "/findings",
        "/indicators",
        "/reviews",
    ):
        assert f'href="{path}"' in nav
    assert 'href="/documents" aria-current="page"' in nav
    assert 'href="/findings" aria-current' not in nav
    assert "/admin" not in nav


def test_nobody_signed_in_sees_no_navigation(client: FlaskClient) -> None:
    assert 'class="site-nav"' not in client.get("/login").get_data(as_text=True)


def test_an_administrator_also_sees_administration(client: FlaskClient) -> None:
    sign_in(client, "root")
    nav = _nav(client, "/admin/units")
    assert 'href="/admin"' in nav
    assert 'href="/admin" aria-current="page"' in nav
