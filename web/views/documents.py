"""Controlled documents [ISO 9001 7.5]: the register, the document page, its actions.

The register filters by unit (with the units below it), status and search words,
sorts by its columns, pages, and exports what is shown as CSV. The document page
shows the document as it stands (or stood, `?as_of=`), its revisions and its full
history, and only the actions the person may take now (web.views.documents_actions),
each a form of its own; approving is a signing page. A document's file is stored
as a blob and referenced by its digest.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask import (
    Flask,
    Response,
    render_template,
    request,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from web.as_of import read_as_of
from web.auth import SignedIn, login_required
from web.forms_documents import (
    KIND_LABELS,
)
from web.i18n import local_date
from web.reading import read_scope
from web.units import unit_tree
from web.views import documents_record as rec
from web.views import documents_steps, documents_upload  # noqa: F401  # their routes join bp
from web.views.me import add_task_section
from web.wiring import current_wiring

bp = rec.bp

PER_PAGE = 25
STATUS_LABELS = rec.STATUS_LABELS
SORT_LABELS = {
    "id": _l("Number"),
    "title": _l("Title"),
    "kind": _l("Kind"),
    "unit": _l("Unit"),
    "status": _l("Status"),
    "next_review_due": _l("Next periodic review"),
}
TASK_STEPS = {
    "review": _l("Review"),
    "approve": _l("Approve and sign"),
    "make_effective": _l("Make effective"),
}


# --- the register ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Filters:
    unit: str
    subtree: bool
    status: str
    search: str
    sort: str
    descending: bool
    page: int

    def args(self, **changes: object) -> dict[str, object]:
        values: dict[str, object] = {
            "unit": self.unit,
            "subtree": "1" if self.subtree else "0",
            "status": self.status,
            "q": self.search,
            "sort": self.sort,
            "desc": "1" if self.descending else "",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


def _filters() -> tuple[_Filters, dict[str, str]]:
    args = request.args
    errors: dict[str, str] = {}
    page_text = args.get("page", "1").strip() or "1"
    page = int(page_text) if page_text.isdigit() and len(page_text) < 9 else 0
    if page < 1:
        errors["page"] = _("Enter a page number from 1")
        page = 1
    status = args.get("status", "")
    if status and status not in STATUS_LABELS:
        errors["status"] = _("Choose a status from the list")
        status = ""
    sort = args.get("sort", "")
    if sort and sort not in q.DOCUMENT_SORTS:
        errors["sort"] = _("Sort by one of the columns of the table")
        sort = ""
    return (
        _Filters(
            unit=args.get("unit", "").strip().upper(),
            subtree=args.get("subtree", "1") != "0",
            status=status,
            search=args.get("q", "").strip(),
            sort=sort,
            descending=args.get("desc", "") == "1",
            page=page,
        ),
        errors,
    )


def _csv(items: tuple[q.DocumentView, ...]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Number"),
            _("Title"),
            _("Kind"),
            _("Unit"),
            _("Status"),
            _("Latest revision"),
            _("Effective revision"),
            _("Next periodic review"),
        ]
    )
    for doc in items:
        writer.writerow(
            [
                _cell(doc.doc_id),
                _cell(doc.title),
                str(KIND_LABELS.get(doc.kind, doc.kind)),
                _cell(doc.unit),
                str(STATUS_LABELS.get(doc.status, doc.status)),
                doc.latest_revision,
                doc.effective_revision or "",
                doc.next_review_due or "",
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=documents.csv"},
    )


def _cell(text: str) -> str:
    """A CSV cell that a spreadsheet does not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@rec.bp.route("", methods=["GET"])
@login_required
def register() -> ResponseReturnValue:
    """The documents register: filters, search, sort, pages, CSV of what is shown."""
    as_of, as_of_error = read_as_of()
    filters, errors = _filters()
    store = current_wiring().store
    csv_export = request.args.get("format") == "csv"
    reader = read_scope(rec.signed_in())
    page: q.Page[q.DocumentView] | None = None
    if not errors and not as_of_error:
        try:
            page = q.document_page(
                store.engine,
                store,
                q.PageRequest(
                    search=filters.search,
                    sort=filters.sort,
                    descending=filters.descending,
                    page=1 if csv_export else filters.page,
                    per_page=None if csv_export else PER_PAGE,
                ),
                unit=filters.unit or None,
                subtree=filters.subtree,
                status=filters.status or None,
                as_of=as_of.moment if as_of else None,
                within=reader.within,
                effective_from=reader.above,
            )
        except RegisterRequestError as exc:
            errors[exc.field] = exc.message
    if page is not None and csv_export:
        return _csv(page.items)
    status = 400 if errors or as_of_error else 200
    return (
        render_template(
            "documents/register.html",
            page=page,
            filters=filters,
            errors=errors,
            as_of=as_of,
            as_of_error=as_of_error,
            sort_labels=SORT_LABELS,
            units=unit_tree(as_of.moment if as_of else None),
            may_draft=_may_draft(rec.signed_in()) and as_of is None,
            today=local_date(
                as_of.moment if as_of else current_wiring().clock.now()
            ).isoformat(),
            **rec.page_globals(),
        ),
        status,
    )


def _may_draft(person: SignedIn) -> bool:
    return any(role == "author" for role, _scope in person.roles)


# --- the person's open tasks --------------------------------------------------------


def task_section(person: SignedIn) -> str | None:
    """The revisions waiting for the person: to review, approve or make effective."""
    wiring = current_wiring()
    store = wiring.store
    try:
        tasks = q.open_tasks(
            store.engine, store, person.user_id, today=local_date(wiring.clock.now())
        )
    except RecordNotFoundError:
        return None
    if not tasks.documents:
        return None
    html = render_template(
        "documents/tasks.html", tasks=tasks.documents, steps=TASK_STEPS
    )
    return Markup(html)  # noqa: S704  # a rendered template: its values are escaped


@rec.bp.record_once
def _add_tasks(state: BlueprintSetupState) -> None:
    app = state.app
    if isinstance(app, Flask):
        add_task_section(app, task_section)
