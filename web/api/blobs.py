"""POST /api/v1/blobs: store a file's bytes before a command refers to them.

A document's content, a finding's evidence and an action's evidence are blob
references (`{"blob", "size", "name", "media_type"}`, docs/ledger-format.md). The
body of this request is the file itself; the answer is its digest and size, to put
into the reference with the file's name. The same bytes give the same digest, and
nothing is appended to the ledger until a command refers to them.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ledger.errors import LedgerError
from web.api.auth import api_person
from web.api.problems import ApiProblem
from web.views.documents import max_file_bytes, size_text
from web.wiring import current_wiring


class BlobSchema(Schema):
    blob = fields.String(required=True, metadata={"description": "hex SHA-256"})
    size = fields.Integer(required=True)
    media_type = fields.String(required=True)


def blueprints() -> list[Blueprint]:
    """The blob upload's blueprint."""
    blp = Blueprint(
        "api_blobs",
        __name__,
        url_prefix="/api/v1/blobs",
        description="Files that commands refer to.",
    )

    @blp.route("")
    class Upload(MethodView):
        @blp.response(201, BlobSchema, description="the bytes are stored")
        @blp.alt_response(401, response="UNAUTHORIZED")
        @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
        @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
        @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
        @blp.doc(
            requestBody={
                "required": True,
                "content": {
                    "application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
            }
        )
        def post(self) -> Any:
            """Store the request's body as a blob; answer its digest and size."""
            api_person()
            limit = max_file_bytes()
            data = request.get_data(cache=False)
            if len(data) > limit:
                message = f"a file is at most {size_text(limit)}"
                raise ApiProblem(413, message, {"body": [message]})
            if not data:
                message = "the file is empty"
                raise ApiProblem(422, message, {"body": [message]})
            try:
                digest = current_wiring().store.put_blob(data)
            except LedgerError as exc:
                raise ApiProblem(503) from exc
            media_type = request.mimetype or "application/octet-stream"
            return {"blob": digest, "size": len(data), "media_type": media_type}, 201

    return [blp]
