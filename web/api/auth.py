"""Who calls the API: a bearer token, never a cookie.

Every request under /api/v1 (but the OpenAPI document) must carry
`Authorization: Bearer <token>`; the person is the token's owner with their roles
and units as the read models know them now. A session cookie is ignored here, so
no page of another site can make a signed-in browser call the API: that is why the
API needs no CSRF token.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request

from ledger.errors import LedgerError
from web.api.problems import ApiProblem
from web.api.tokens import ApiTokens
from web.auth import SignedIn, signed_in

TOKENS_EXTENSION = "qms.api_tokens"
API_ROOT = "/api/v1/"
OPEN_PATHS = frozenset({"/api/v1/openapi.json"})


def init_tokens(app: Flask) -> ApiTokens:
    """Keep the API tokens of `app` in its extensions."""
    wiring = app.extensions["qms.wiring"]
    tokens = ApiTokens(wiring.store.engine, wiring.clock)
    app.extensions[TOKENS_EXTENSION] = tokens
    return tokens


def current_tokens() -> ApiTokens:
    """Return the API tokens of the application handling the current request."""
    tokens = current_app.extensions[TOKENS_EXTENSION]
    if not isinstance(tokens, ApiTokens):  # pragma: no cover - set by init_api
        raise TypeError("the application has no API tokens")
    return tokens


def _unauthenticated(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        detail,
        {"Authorization": [detail]},
        {"WWW-Authenticate": 'Bearer realm="qms"'},
    )


def authenticate() -> None:
    """Find the caller of an API request from its bearer token (401 without one)."""
    if not request.path.startswith(API_ROOT) or request.path in OPEN_PATHS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("send Authorization: Bearer <token>")
    try:
        info = current_tokens().lookup(token.strip())
        person = None if info is None else signed_in("", info.user_id)
    except LedgerError as exc:
        raise ApiProblem(503) from exc
    if info is None or person is None:
        raise _unauthenticated("the token is unknown, revoked or expired")
    g.api_person = person
    g.api_token_id = info.token_id


def api_person() -> SignedIn:
    """Return the person the current API request acts for."""
    person = g.get("api_person")
    if not isinstance(person, SignedIn):  # pragma: no cover - authenticate ran
        raise _unauthenticated("send Authorization: Bearer <token>")
    return person
