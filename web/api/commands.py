"""POST for every command the service handles: /api/v1/commands/<command-name>.

The body is the command's own fields (`web.api.schemas`, made from the command's
dataclass in `ledger.domain`) plus, optionally, `command_id`; the service checks
the roles, the record rules and the catalogue as for a form. A command id (the
`Idempotency-Key` header or the `command_id` field) makes a retry answer the first
result and record nothing more; `If-Match: "<version>"` makes a record that moved on
since answer 412 with nothing stored. A command that carries the caller's
e-signature needs their `password` in the body, every time.

The answer is 201 when the command made its record, 200 when it changed one:
`{"command_id", "stream", "version", "events": [{"seq", "stream", "version",
"type"}]}` with `ETag: "<version>"`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ledger.domain import Command, audits, documents, findings
from ledger.domain.permissions import COMMAND_ROLES
from ledger.errors import (
    ConcurrencyError,
    EventRejectedError,
    LedgerError,
    NotAuthorizedError,
    NotFoundError,
)
from ledger.integrity.envelope import RecordedEvent
from web.api.auth import api_person
from web.api.problems import ApiProblem, field_messages
from web.api.schemas import build, schema_for, storable
from web.wiring import current_wiring

# The commands that carry the caller's e-signature (ledger.domain's `signed`).
SIGNING_COMMANDS: frozenset[type[Command]] = frozenset(
    {documents.ApproveDocument, audits.ReportAudit, findings.VerifyEffectiveness}
)
KEY_PATTERN = r"[A-Za-z0-9._:-]{1,64}"
_KEY = re.compile(KEY_PATTERN)
_VERSION = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')


def command_path(cls: type[Command]) -> str:
    """The path segment of a command: DraftDocument -> draft-document."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()


def body_schema(cls: type[Command]) -> type[Schema]:
    """The body of `cls`: its fields, `command_id`, and `password` when it signs."""
    extra: dict[str, fields.Field[Any]] = {
        "command_id": fields.String(
            validate=validate.Regexp(KEY_PATTERN),
            metadata={"description": "the client's id of this command, for retries"},
        ),
    }
    if cls in SIGNING_COMMANDS:
        extra["password"] = fields.String(
            required=True,
            load_only=True,
            validate=[validate.Length(min=1, max=1024), storable],
            metadata={"description": "the signer's password (every time)"},
        )
    return schema_for(cls, suffix="Command", extra=extra)


class EventSchema(Schema):
    seq = fields.Integer(required=True)
    stream = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)


class ResultSchema(Schema):
    command_id = fields.String(required=True)
    stream = fields.String(required=True)
    version = fields.Integer(required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


def _key(body: Mapping[str, Any], user_id: str) -> str:
    header = request.headers.get("Idempotency-Key")
    given = header if header is not None else body.get("command_id")
    if given is None:
        return uuid.uuid4().hex
    if not _KEY.fullmatch(str(given)):
        message = "an idempotency key is 1 to 64 letters, digits or . _ : -"
        name = "Idempotency-Key" if header is not None else "command_id"
        raise ApiProblem(400 if header is not None else 422, message, {name: [message]})
    # A key is the caller's own: the same key from another person is another command.
    return f"api:{user_id}:{given}"


def _expected_version() -> int | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    found = _VERSION.fullmatch(header.strip())
    if found is None:
        message = 'If-Match is the record\'s ETag, e.g. "3"'
        raise ApiProblem(400, message, {"If-Match": [message]})
    return int(found[1])


def _result(
    command_id: str, stream: str, events: list[RecordedEvent]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    own = [e for e in events if e.stream == stream] or events
    version = max(e.version for e in own)
    created = min(e.version for e in own) == 1
    body = {
        "command_id": command_id.split(":", 2)[-1],
        "stream": stream,
        "version": version,
        "events": [
            {"seq": e.seq, "stream": e.stream, "version": e.version, "type": e.type}
            for e in events
        ],
    }
    return body, 201 if created else 200, {"ETag": f'"{version}"'}


def run(
    cls: type[Command], body: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Run the command `cls` with the loaded `body` for the token's owner."""
    person = api_person()
    command_id = _key(body, person.user_id)
    expected = _expected_version()
    try:
        command = build(cls, body)
    except (TypeError, ValueError) as exc:
        raise ApiProblem(422, str(exc)) from exc
    password = body.get("password") if cls in SIGNING_COMMANDS else None
    try:
        events = (
            current_wiring()
            .service()
            .handle(
                command,
                person.user_id,
                password=password,
                command_id=command_id,
                expected_version=expected,
            )
        )
    except NotAuthorizedError as exc:
        raise ApiProblem(403, str(exc)) from exc
    except NotFoundError as exc:
        raise ApiProblem(404, str(exc)) from exc
    except ConcurrencyError as exc:
        raise ApiProblem(412 if expected is not None else 409, str(exc)) from exc
    except EventRejectedError as exc:
        raise ApiProblem(422, str(exc), field_messages(exc.messages)) from exc
    except LedgerError as exc:
        raise ApiProblem(503) from exc
    return _result(command_id, command.stream, events)


_HEADERS = [
    {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
        "description": "retrying with the same key returns the first result",
    },
    {
        "in": "header",
        "name": "If-Match",
        "required": False,
        "schema": {"type": "string"},
        "description": 'the record\'s ETag, e.g. "3": refused with 412 if it moved on',
    },
]


def blueprints() -> list[Blueprint]:
    """The commands' blueprint: one POST per command the service handles."""
    blp = Blueprint(
        "api_commands",
        __name__,
        url_prefix="/api/v1/commands",
        description="Every command the service handles.",
    )
    for cls in COMMAND_ROLES:
        _route(blp, cls)
    return [blp]


def _route(blp: Blueprint, cls: type[Command]) -> None:
    schema = body_schema(cls)

    @blp.route(f"/{command_path(cls)}", endpoint=command_path(cls))
    class Run(MethodView):
        @blp.arguments(schema, location="json", as_kwargs=False)
        @blp.response(201, ResultSchema, description="the record was made")
        @blp.alt_response(
            200, schema=ResultSchema, description="the record was changed"
        )
        @blp.alt_response(400, response="BAD_REQUEST")
        @blp.alt_response(401, response="UNAUTHORIZED")
        @blp.alt_response(403, response="FORBIDDEN")
        @blp.alt_response(404, response="NOT_FOUND")
        @blp.alt_response(409, response="CONFLICT")
        @blp.alt_response(412, response="PRECONDITION_FAILED")
        @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
        @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
        @blp.doc(
            parameters=_HEADERS,
            summary=cls.__name__,
            description=(cls.__doc__ or "").strip(),
        )
        def post(self, body: Mapping[str, Any]) -> Any:
            return run(cls, body)

    Run.__name__ = cls.__name__
