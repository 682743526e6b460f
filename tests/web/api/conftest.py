"""Fixtures of the API tests: the people's application and a token per person."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    web_app,
)
from web.api.auth import current_tokens

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]


@pytest.fixture
def token_for(web_app: Flask) -> Callable[[str], str]:
    """Make an API token for a person of the people's ledger."""

    def make(user_id: str, days: int = 30) -> str:
        with web_app.app_context():
            token, _info = current_tokens().create(user_id, "tests", days)
        return token

    return make


def bearer(token: str) -> dict[str, str]:
    """The header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}
