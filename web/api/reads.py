"""The parts of the API's reads: query arguments, pages, records with their ETag.

The registers themselves are in `web.api.registers`.

A register answers `{"items": [...], "total", "page", "per_page", "pages"}` and the
same numbers in the `X-Pagination` header; a record answers the record with
`ETag: "<stream version>"` (the version as known at `as_of` when given). What the
pages hide from a person the API hides from their token: another unit's finding or
audit is 404, the people outside an administrator's units too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import json
from marshmallow import Schema, ValidationError, fields, validate, validates

from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from projections.queries import PER_PAGE_MAX, SEARCH_MAX
from web.api.problems import ApiProblem
from web.api.schemas import printable, schema_for
from web.auth import SignedIn
from web.reading import read_scope
from web.wiring import current_wiring

PER_PAGE = 50
ID_MAX = 200


def text_arg(maximum: int = ID_MAX) -> fields.String:
    return fields.String(validate=[validate.Length(max=maximum), printable])


class ReadArgs(Schema):
    """`as_of`: an ISO 8601 instant with its offset; not in the future."""

    as_of = fields.AwareDateTime(
        metadata={"description": "ISO 8601 instant, e.g. 2026-03-31T14:30:00+08:00"}
    )

    @validates("as_of")
    def _not_future(self, value: datetime, **_kwargs: object) -> None:
        if value > current_wiring().clock.now():
            raise ValidationError("an as_of instant may not be in the future")


class PageArgs(ReadArgs):
    """The UI's register parameters: search words, sort key and order, page."""

    q = fields.String(validate=[validate.Length(max=SEARCH_MAX), printable])
    sort = fields.String()
    desc = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(
        load_default=PER_PAGE, validate=validate.Range(min=1, max=PER_PAGE_MAX)
    )
    unit = text_arg()
    subtree = fields.Boolean(load_default=True)


def page_args(
    name: str, sorts: Sequence[str], extra: Mapping[str, fields.Field[Any]]
) -> type[Schema]:
    made: dict[str, fields.Field[Any]] = {
        "sort": fields.String(validate=validate.OneOf(sorts)),
        **extra,
    }
    return PageArgs.from_dict(made, name=f"{name}PageArgs")


def page_schema(name: str, view: type) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(schema_for(view))),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "pages": fields.Integer(),
        },
        name=f"{name}Page",
    )


def moment_of(args: Mapping[str, Any]) -> datetime | None:
    value = args.get("as_of")
    return value if isinstance(value, datetime) else None


def page_request(args: Mapping[str, Any]) -> q.PageRequest:
    try:
        return q.PageRequest(
            search=str(args.get("q", "")).strip(),
            sort=str(args.get("sort", "")),
            descending=bool(args.get("desc")),
            page=int(args.get("page", 1)),
            per_page=int(args.get("per_page", PER_PAGE)),
        )
    except RegisterRequestError as exc:
        raise ApiProblem(422, exc.message, {exc.field: [exc.message]}) from exc


def paged(
    page: q.Page[Any], items: Sequence[Any] | None = None
) -> tuple[dict[str, Any], int, dict[str, str]]:
    body = {
        "items": list(page.items if items is None else items),
        "total": page.total,
        "page": page.request.page,
        "per_page": page.request.per_page,
        "pages": page.pages,
    }
    header = {k: body[k] for k in ("total", "page", "per_page", "pages")}
    return body, 200, {"X-Pagination": json.dumps(header)}


def unit_filter(person: SignedIn, args: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The unit filter of a register: a unit the person reads, or None (all they read)."""
    unit = args.get("unit") or None
    if unit is not None and not read_scope(person).reads(unit):
        message = "choose one of the units you may read"
        raise ApiProblem(422, message, {"unit": [message]})
    return unit, bool(args.get("subtree", True))


def record_answer(
    stream: str, load: Callable[[], Any], moment: datetime | None
) -> tuple[Any, int, dict[str, str]]:
    store = current_wiring().store
    try:
        found = load()
        if moment is None:
            version = store.stream_version(stream)
        else:
            history = q.record_history(store.engine, store, stream, as_of=moment)
            version = history.entries[-1].version
    except RecordNotFoundError as exc:
        raise ApiProblem(404) from exc
    return found, 200, {"ETag": f'"{version}"'}


def check_id(value: str) -> None:
    if len(value) > ID_MAX or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ApiProblem(404)


@dataclass(frozen=True, slots=True)
class Register:
    """One register of the API: its path, record view, query arguments, readers."""

    name: str  # the path segment: "documents"
    title: str  # "Document"
    stream: str  # the stream kind: "document"
    view: type
    args: type[Schema]
    page: Callable[
        [SignedIn, Mapping[str, Any]], tuple[dict[str, Any], int, dict[str, str]]
    ]
    record: Callable[[SignedIn, str, datetime | None], Any]
