"""The JSON API under /api/v1: every register and record as a GET, every command as a POST.

It is a thin layer like the pages: reads go through `projections.queries`, writes
through `ledger.service.Service.handle`. The OpenAPI document is at
/api/v1/openapi.json (no documentation page: it would need an inline script).
Errors are RFC 9457 problems (`web.api.problems`); callers authenticate with a
bearer token (`web.api.auth`), never a cookie, so the API is exempt from CSRF.
"""

from __future__ import annotations

import http
from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError

from web.api import blobs, commands, registers
from web.api.auth import authenticate, init_tokens
from web.api.problems import (
    MEDIA_TYPE,
    ProblemSchema,
    api_http_error,
    api_internal_error,
)

API_VERSION = "1"


class _Api(Api):  # type: ignore[misc]  # flask_smorest has no type hints
    """flask-smorest without its own error handler (the application registers one),
    whose documented errors are problems (`application/problem+json`)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["content"] = {MEDIA_TYPE: {"schema": ProblemSchema}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR",
            {
                "description": "An error, as a problem",
                "content": {MEDIA_TYPE: {"schema": ProblemSchema}},
            },
            lazy=True,
        )


def init_api(app: Flask, csrf: CSRFProtect) -> None:
    """Register the API on `app`: its blueprints, OpenAPI, token auth, problems."""
    app.config.update(
        API_TITLE="qms-ledger",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH=None,
        OPENAPI_REDOC_PATH=None,
        OPENAPI_RAPIDOC_PATH=None,
    )
    spec: dict[str, Any] = {
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
            }
        },
        "security": [{"bearer": []}],
    }
    api = _Api(app, spec_kwargs=spec)
    init_tokens(app)
    for blueprint in (
        *registers.blueprints(),
        *commands.blueprints(),
        *blobs.blueprints(),
    ):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint)
    app.before_request(authenticate)
    app.register_error_handler(HTTPException, api_http_error)
    app.register_error_handler(InternalServerError, api_internal_error)
