"""GET for every register and record: the UI's filters, search, sort and pages, `as_of`.

A register answers `{"items": [...], "total", "page", "per_page", "pages"}` and the
same numbers in the `X-Pagination` header; a record answers the record with
`ETag: "<stream version>"` (the version as known at `as_of` when given). What the
pages hide from a person the API hides from their token: another unit's finding or
audit is 404, the people outside an administrator's units too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ledger.domain.findings import CLASSIFICATIONS
from ledger.errors import LedgerError
from projections import queries as q
from projections.errors import RecordNotFoundError
from web.api.auth import api_person
from web.api.problems import ApiProblem
from web.api.reads import (
    PER_PAGE,
    ReadArgs,
    Register,
    check_id,
    moment_of,
    page_args,
    page_request,
    page_schema,
    paged,
    record_answer,
    text_arg,
    unit_filter,
)
from web.api.schemas import schema_for
from web.auth import SignedIn
from web.reading import read_scope
from web.views.admin_actions import admin_scope
from web.wiring import current_wiring


def _store() -> Any:
    return current_wiring().store


# --- one page and one record function per register ---------------------------------


def _in_unit_read(person: SignedIn, found: Any, record_id: str) -> Any:
    """Return `found` when `person` reads its unit; another unit's record is not there."""
    if not read_scope(person).reads(found.unit):
        raise RecordNotFoundError(record_id)
    return found


def _documents(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree = unit_filter(person, args)
    reader = read_scope(person)
    return paged(
        q.document_page(
            s.engine,
            s,
            page_request(args),
            unit=unit,
            subtree=subtree,
            status=args.get("status") or None,
            as_of=moment_of(args),
            within=reader.within,
            effective_from=reader.above,
        )
    )


def _document(person: SignedIn, doc_id: str, moment: datetime | None) -> Any:
    s = _store()
    found = q.document(s.engine, s, doc_id, as_of=moment)
    if not read_scope(person).reads_document(found):
        raise RecordNotFoundError(doc_id)
    return found


def _audits(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree = unit_filter(person, args)
    page = q.audit_page(
        s.engine,
        s,
        page_request(args),
        unit=unit,
        subtree=subtree,
        within=read_scope(person).within,
        programme=args.get("programme") or None,
        status=args.get("status") or None,
        as_of=moment_of(args),
    )
    return paged(page)


def _audit(person: SignedIn, audit_id: str, moment: datetime | None) -> Any:
    s = _store()
    return _in_unit_read(person, q.audit(s.engine, s, audit_id, as_of=moment), audit_id)


def _findings(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree = unit_filter(person, args)
    page = q.finding_page(
        s.engine,
        s,
        page_request(args),
        unit=unit,
        subtree=subtree,
        within=read_scope(person).within,
        open_only=bool(args.get("open_only")),
        classification=args.get("classification") or None,
        as_of=moment_of(args),
    )
    return paged(page)


def _finding(person: SignedIn, finding_id: str, moment: datetime | None) -> Any:
    s = _store()
    return _in_unit_read(
        person, q.finding(s.engine, s, finding_id, as_of=moment), finding_id
    )


def _indicators(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree = unit_filter(person, args)
    return paged(
        q.indicator_page(
            s.engine,
            s,
            page_request(args),
            unit=unit,
            subtree=subtree,
            within=read_scope(person).within,
            status=args.get("status") or None,
            as_of=moment_of(args),
        )
    )


def _indicator(person: SignedIn, indicator_id: str, moment: datetime | None) -> Any:
    s = _store()
    return _in_unit_read(
        person, q.indicator(s.engine, s, indicator_id, as_of=moment), indicator_id
    )


def _reviews(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    unit, subtree = unit_filter(person, args)
    return paged(
        q.review_page(
            s.engine,
            s,
            page_request(args),
            unit=unit,
            subtree=subtree,
            within=read_scope(person).within,
            as_of=moment_of(args),
        )
    )


def _review(person: SignedIn, review_id: str, moment: datetime | None) -> Any:
    s = _store()
    return _in_unit_read(
        person, q.review(s.engine, s, review_id, as_of=moment), review_id
    )


def _in_memory(
    rows: Sequence[Any],
    args: Mapping[str, Any],
    key: Callable[[Any], str],
    text: Callable[[Any], str],
    sorts: Mapping[str, Callable[[Any], str]],
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A page of a small register (units, people) cut in memory, as the admin pages do."""
    wanted = page_request(args)
    words = [w.casefold() for w in wanted.words]
    found = [r for r in rows if all(w in text(r).casefold() for w in words)]
    order = sorts.get(wanted.sort, key)
    found.sort(key=lambda r: (order(r), key(r)), reverse=wanted.descending)
    size = wanted.per_page or PER_PAGE
    start = (wanted.page - 1) * size
    page = q.Page(
        items=tuple(found[start : start + size]), total=len(found), request=wanted
    )
    return paged(page)


def _units(
    person: SignedIn, args: Mapping[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    s = _store()
    rows = q.unit_tree(s.engine, s, as_of=moment_of(args))
    if args.get("unit"):
        covered = (
            set(q.unit_subtree(s.engine, s, args["unit"], as_of=moment_of(args)))
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
    scope = _admin_units(person, moment_of(args))
    rows = [
        u
        for u in q.user_list(
            s.engine,
            s,
            unit=args.get("unit") or None,
            subtree=bool(args.get("subtree", True)),
            as_of=moment_of(args),
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


_STATUS = {"status": text_arg(40)}
REGISTERS = (
    Register(
        "documents",
        "Document",
        "document",
        q.DocumentView,
        page_args("Document", q.DOCUMENT_SORTS, _STATUS),
        _documents,
        _document,
    ),
    Register(
        "audits",
        "Audit",
        "audit",
        q.AuditView,
        page_args("Audit", q.AUDIT_SORTS, {**_STATUS, "programme": text_arg()}),
        _audits,
        _audit,
    ),
    Register(
        "findings",
        "Finding",
        "finding",
        q.FindingView,
        page_args(
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
        page_args("Indicator", q.INDICATOR_SORTS, _STATUS),
        _indicators,
        _indicator,
    ),
    Register(
        "reviews",
        "Review",
        "review",
        q.ReviewView,
        page_args("Review", q.REVIEW_SORTS, {}),
        _reviews,
        _review,
    ),
    Register(
        "units",
        "Unit",
        "unit",
        q.UnitView,
        page_args("Unit", ("id", "name", "kind"), {}),
        _units,
        _unit,
    ),
    Register(
        "users",
        "User",
        "user",
        q.UserView,
        page_args("User", ("id", "name", "unit"), {}),
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
    listing_schema = page_schema(reg.title, reg.view)
    record_schema = schema_for(reg.view)

    @blp.route("")
    class Listing(MethodView):
        @blp.arguments(reg.args, location="query", as_kwargs=False)
        @blp.response(
            200,
            listing_schema,
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
            check_id(record_id)
            person = api_person()
            moment = moment_of(args)
            try:
                return record_answer(
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
