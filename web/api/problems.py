"""Errors of the API as RFC 9457 problem details (`application/problem+json`).

Every error under /api, whether raised by a view, by flask-smorest's validation of a
request (422) or by the routing itself (404, 405), is a problem object: `type`,
`title`, `status`, `detail`, and `errors` mapping each field to its messages. The
rest of the application keeps its HTML error pages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, json, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, InternalServerError

from web.errors import http_error, internal_error

logger = logging.getLogger(__name__)

PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
DETAILS = {
    400: "The request could not be understood. Nothing was stored.",
    401: "Send a valid API token: Authorization: Bearer <token>.",
    403: "The token's owner may not do this.",
    404: "There is no such resource, or it is not visible to the token's owner.",
    405: "This address does not accept this method.",
    409: "The record changed meanwhile. Nothing was stored.",
    412: "The record is not at the version in If-Match. Nothing was stored.",
    422: "The request has errors; see errors. Nothing was stored.",
    500: "Internal error. Nothing was stored.",
    503: "The ledger is not reachable. Nothing was stored.",
}


class ProblemSchema(Schema):
    """An RFC 9457 problem with the messages of each field."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), required=True
    )


class ApiProblem(HTTPException):
    """An HTTP error with a detail and per-field messages, shown as a problem."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail)
        self.code = status
        self.detail = detail
        self.errors = dict(errors or {})
        self.extra_headers = dict(headers or {})


def problem(
    status: int,
    detail: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return the problem response of `status`."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or DETAILS.get(status, TITLES.get(status, "Error")),
        "errors": dict(errors or {}),
    }
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="qms"')
    return response


def field_messages(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages into `{"a.0.b": [messages]}`."""
    found: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for k, v in field_messages(value, name).items():
                found.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        texts = [str(m) for m in messages if not isinstance(m, Mapping | list)]
        if texts:
            found[prefix or "_request"] = texts
        for m in messages:
            if isinstance(m, Mapping | list):
                for k, v in field_messages(m, prefix).items():
                    found.setdefault(k, []).extend(v)
    elif messages is not None:
        found[prefix or "_request"] = [str(messages)]
    return found


def _smorest_errors(error: HTTPException) -> dict[str, list[str]]:
    data = getattr(error, "data", None)
    if not isinstance(data, Mapping):
        return {}
    messages = data.get("messages")
    if not isinstance(messages, Mapping):
        return {}
    found: dict[str, list[str]] = {}
    for _location, per_field in messages.items():  # json, query, headers
        for k, v in field_messages(per_field).items():
            found.setdefault(k, []).extend(v)
    return found


def _is_api() -> bool:
    return request.path.startswith(PREFIX)


def api_http_error(error: HTTPException) -> ResponseReturnValue:
    """Under /api a problem; elsewhere the application's error page."""
    if not _is_api():
        return http_error(error)
    status = error.code or 500
    if isinstance(error, ApiProblem):
        return problem(status, error.detail, error.errors, error.extra_headers)
    errors = _smorest_errors(error)
    detail = DETAILS.get(status) if errors or status >= 500 else None
    if detail is None:
        detail = error.description if status != 404 else DETAILS[404]
    return problem(status, detail, errors)


def api_internal_error(error: InternalServerError) -> ResponseReturnValue:
    """Under /api a 500 problem without details (they go to the log)."""
    if not _is_api():
        return internal_error(error)
    logger.error("internal error", exc_info=error.original_exception)
    return problem(500)
