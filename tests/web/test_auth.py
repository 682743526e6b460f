"""Signing in and out, sessions and their timeouts, the rate limit, the password change."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.webapp import client, people_store, sign_in, web_app

__all__ = ["client", "people_store", "web_app"]

pytestmark = pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)


def test_sign_in_with_the_right_password_shows_the_own_page(
    client: FlaskClient,
) -> None:
    response = sign_in(client, "alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    page = client.get("/me")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Alice" in text
