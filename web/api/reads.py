"""GET for every register and record: the UI's filters, search, sort and pages, `as_of`.

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
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates

from ledger.domain.findings import CLASSIFICATIONS
from ledger.errors import LedgerError
from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from projections.queries import PER_PAGE_MAX, SEARCH_MAX
from web.api.auth import api_person
from web.api.problems import ApiProblem
from web.api.schemas import printable, schema_for
from web.auth import SignedIn
from web.views.admin_actions import admin_scope
from web.views.findings_actions import readable_units, register_scope
from web.wiring import current_wiring

PER_PAGE = 50
ID_MAX = 200


def _text(maximum: int = ID_MAX) -> fields.String:
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
    unit = _text()
    subtree = fields.Boolean(load_default=True)


def _page_args(
    name: str, sorts: Sequence[str], extra: Mapping[str, fields.Field[Any]]
) -> type[Schema]:
    made: dict[str, fields.Field[Any]] = {
        "sort": fields.String(validate=validate.OneOf(sorts)),
        **extra,
    }
    return PageArgs.from_dict(made, name=f"{name}PageArgs")


def _page_schema(name: str, view: type) -> type[Schema]:
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


def _moment(args: Mapping[str, Any]) -> datetime | None:
    value = args.get("as_of")
    return value if isinstance(value, datetime) else None


def _request(args: Mapping[str, Any]) -> q.PageRequest:
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


def _paged(
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


def _unit_filter(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[str | None, bool, set[str]]:
    """The unit filter of a register whose rows are unit-scoped (findings, audits)."""
    readable = readable_units(person)
    unit = args.get("unit") or None
    if unit is not None and unit not in readable:
        message = "choose one of the units you may read"
        raise ApiProblem(422, message, {"unit": [message]})
    if unit is not None:
        return unit, bool(args.get("subtree", True)), readable
    scope, subtree = register_scope(person)
    return scope, subtree, readable


def _record(
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


def _id_ok(value: str) -> None:
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


def _store() -> Any:
    return current_wiring().store


# --- one page and one record function per register ---------------------------------


def _documents(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    return _paged(
        q.document_page(
            s.engine,
            s,
            _request(args),
            unit=args.get("unit") or None,
            subtree=bool(args.get("subtree", True)),
            status=args.get("status") or None,
            as_of=_moment(args),
        )
    )


def _document(person: SignedIn, doc_id: str, moment: datetime | None) -> Any:
    s = _store()
    return q.document(s.engine, s, doc_id, as_of=moment)


def _audits(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree, readable = _unit_filter(person, args)
    page = q.audit_page(
        s.engine,
        s,
        _request(args),
        unit=unit,
        subtree=subtree,
        programme=args.get("programme") or None,
        status=args.get("status") or None,
        as_of=_moment(args),
    )
    return _paged(page, [i for i in page.items if i.unit in readable])


def _audit(person: SignedIn, audit_id: str, moment: datetime | None) -> Any:
    s = _store()
    found = q.audit(s.engine, s, audit_id, as_of=moment)
    if found.unit not in readable_units(person):
        raise RecordNotFoundError(audit_id)
    return found


def _findings(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree, readable = _unit_filter(person, args)
    page = q.finding_page(
        s.engine,
        s,
        _request(args),
        unit=unit,
        subtree=subtree,
        open_only=bool(args.get("open_only")),
        classification=args.get("classification") or None,
        as_of=_moment(args),
    )
    return _paged(page, [i for i in page.items if i.unit in readable])


def _finding(person: SignedIn, finding_id: str, moment: datetime | None) -> Any:
    s = _store()
    found = q.finding(s.engine, s, finding_id, as_of=moment)
    if found.unit not in readable_units(person):
        raise RecordNotFoundError(finding_id)
    return found


def _indicators(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    return _paged(
        q.indicator_page(
            s.engine,
            s,
            _request(args),
            unit=args.get("unit") or None,
            subtree=bool(args.get("subtree", True)),
            status=args.get("status") or None,
            as_of=_moment(args),
        )
    )


def _indicator(person: SignedIn, indicator_id: str, moment: datetime | None) -> Any:
    s = _store()
    return q.indicator(s.engine, s, indicator_id, as_of=moment)


def _reviews(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    return _paged(
        q.review_page(
            s.engine,
            s,
            _request(args),
            unit=args.get("unit") or None,
            subtree=bool(args.get("subtree", True)),
            as_of=_moment(args),
        )
    )


def _review(person: SignedIn, review_id: str, moment: datetime | None) -> Any:
    s = _store()
    return q.review(s.engine, s, review_id, as_of=moment)


def _in_memory(
    rows: Sequence[Any],
    args: Mapping[str, Any],
    key: Callable[[Any], str],
    text: Callable[[Any], str],
    sorts: Mapping[str, Callable[[Any], str]],
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A page of a small register (units, people) cut in memory, as the admin pages do."""
    wanted = _request(args)
    words = [w.casefold() for w in wanted.words]
    found = [r for r in rows if all(w in text(r).casefold() for w in words)]
    order = sorts.get(wanted.sort, key)
    found.sort(key=lambda r: (order(r), key(r)), reverse=wanted.descending)
    size = wanted.per_page or PER_PAGE
    start = (wanted.page - 1) * size
    page = q.Page(
        items=tuple(found[start : start + size]), total=len(found), request=wanted
    )
    return _paged(page)


def _units(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    rows = q.unit_tree(s.engine, s, as_of=_moment(args))
    if args.get("unit"):
        covered = (
            set(q.unit_subtree(s.engine, s, args["unit"], as_of=_moment(args)))
            if args.get("subtree", True)
            else {args["unit"]}
        )
        rows = [u for u in rows if u.code in covered]
    return _in_memory(
        rows,
        args,
        key=lambda u: u.code,
        text=lambda u: f"{u.code} {u.name_zh} {u.name_en}",
        sorts={
            "id": lambda u: u.code,
            "name": lambda u: u.name_en,
            "kind": lambda u: u.kind,
        },
    )


def _unit(person: SignedIn, code: str, moment: datetime | None) -> Any:
    s = _store()
    for found in q.unit_tree(s.engine, s, as_of=moment):
        if found.code == code:
            return found
    raise RecordNotFoundError(code)


def _admin_units(person: SignedIn, moment: datetime | None) -> frozenset[str]:
    s = _store()
    scope = admin_scope(person.roles, q.unit_tree(s.engine, s))
    if not scope:
        raise ApiProblem(403, "only an administrator reads the people register")
    return scope


def _users(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    scope = _admin_units(person, _moment(args))
    rows = [
        u
        for u in q.user_list(
            s.engine,
            s,
            unit=args.get("unit") or None,
            subtree=bool(args.get("subtree", True)),
            as_of=_moment(args),
        )
        if u.unit in scope
    ]
    return _in_memory(
        rows,
        args,
        key=lambda u: u.user_id,
        text=lambda u: f"{u.user_id} {u.name} {u.email} {u.unit}",
        sorts={
            "id": lambda u: u.user_id,
            "name": lambda u: u.name,
            "unit": lambda u: u.unit,
        },
    )


def _user(person: SignedIn, user_id: str, moment: datetime | None) -> Any:
    s = _store()
    scope = _admin_units(person, moment)
    found = q.user(s.engine, s, user_id, as_of=moment)
    if found.unit not in scope:
        raise RecordNotFoundError(user_id)
    return found


_STATUS = {"status": _text(40)}
REGISTERS = (
    Register(
        "documents",
        "Document",
        "document",
        q.DocumentView,
        _page_args("Document", q.DOCUMENT_SORTS, _STATUS),
        _documents,
        _document,
    ),
    Register(
        "audits",
        "Audit",
        "audit",
        q.AuditView,
        _page_args("Audit", q.AUDIT_SORTS, {**_STATUS, "programme": _text()}),
        _audits,
        _audit,
    ),
    Register(
        "findings",
        "Finding",
        "finding",
        q.FindingView,
        _page_args(
            "Finding",
            q.FINDING_SORTS,
            {
                "open_only": fields.Boolean(load_default=False),
                "classification": fields.String(
                    validate=validate.OneOf(CLASSIFICATIONS)
                ),
            },
        ),
        _findings,
        _finding,
    ),
    Register(
        "indicators",
        "Indicator",
        "indicator",
        q.IndicatorView,
        _page_args("Indicator", q.INDICATOR_SORTS, _STATUS),
        _indicators,
        _indicator,
    ),
    Register(
        "reviews",
        "Review",
        "review",
        q.ReviewView,
        _page_args("Review", q.REVIEW_SORTS, {}),
        _reviews,
        _review,
    ),
    Register(
        "units",
        "Unit",
        "unit",
        q.UnitView,
        _page_args("Unit", ("id", "name", "kind"), {}),
        _units,
        _unit,
    ),
    Register(
        "users",
        "User",
        "user",
        q.UserView,
        _page_args("User", ("id", "name", "unit"), {}),
        _users,
        _user,
    ),
)


def _blueprint(reg: Register) -> Blueprint:
    blp = Blueprint(
        f"api_{reg.name}",
        __name__,
        url_prefix=f"/api/v1/{reg.name}",
        description=f"The {reg.name} register and its records.",
    )
    page_schema = _page_schema(reg.title, reg.view)
    record_schema = schema_for(reg.view)

    @blp.route("")
    class Listing(MethodView):
        @blp.arguments(reg.args, location="query", as_kwargs=False)
        @blp.response(
            200,
            page_schema,
            headers={
                "X-Pagination": {
                    "description": "total, page, per_page, pages (JSON)",
                    "schema": {"type": "string"},
                }
            },
        )
        @blp.alt_response(401, response="UNAUTHORIZED")
        @blp.alt_response(403, response="FORBIDDEN")
        @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
        @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
        def get(self, args: Mapping[str, Any]) -> Any:
            """One page of the register, as the UI filters, searches and sorts it."""
            try:
                return reg.page(api_person(), args)
            except LedgerError as exc:
                raise ApiProblem(503) from exc

    Listing.__name__ = f"{reg.title}List"

    @blp.route("/<record_id>")
    class One(MethodView):
        @blp.arguments(ReadArgs, location="query", as_kwargs=False)
        @blp.response(
            200,
            record_schema,
            headers={
                "ETag": {
                    "description": "the record's stream version",
                    "schema": {"type": "string"},
                }
            },
        )
        @blp.alt_response(401, response="UNAUTHORIZED")
        @blp.alt_response(403, response="FORBIDDEN")
        @blp.alt_response(404, response="NOT_FOUND")
        @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
        @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
        def get(self, args: Mapping[str, Any], record_id: str) -> Any:
            """The record as it stands (or stood at `as_of`); ETag: its stream version."""
            _id_ok(record_id)
            person = api_person()
            moment = _moment(args)
            try:
                return _record(
                    f"{reg.stream}/{record_id}",
                    lambda: reg.record(person, record_id, moment),
                    moment,
                )
            except LedgerError as exc:
                raise ApiProblem(503) from exc

    One.__name__ = f"{reg.title}Record"
    return blp


def blueprints() -> list[Blueprint]:
    """The blueprints of every register."""
    return [_blueprint(reg) for reg in REGISTERS]
