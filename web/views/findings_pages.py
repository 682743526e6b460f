"""The findings blueprint and what the findings and audits pages share.

`bp` is the findings blueprint; `web.views.findings` (the register and raising a
finding) is its front door and imports the other findings modules so that their
routes are on it. Here: the person signed in and the agency's today, a register's
page request and CSV, unit choices, a record's history, a finding read under the
read rule, an evidence upload, and the corrective actions section of open tasks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import Forbidden

from ledger.integrity.canonical import JSONValue
from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from web import history_words as hw
from web.as_of import AsOf
from web.auth import SignedIn
from web.i18n import local_date
from web.reading import require_unit
from web.units import unit_tree
from web.wiring import current_wiring

bp = Blueprint("findings", __name__, url_prefix="/findings")

PER_PAGE = 25

STATUS_NAMES = hw.FINDING_STATUS

MEANING_NAMES: Mapping[str, Any] = {
    "approved": _l("approved"),
    "reviewed": _l("reviewed"),
    "responsibility": _l("responsibility"),
    "authorship": _l("authorship"),
}

SORT_NAMES: Mapping[str, Any] = {
    "": _l("Number"),
    "id": _l("Number"),
    "classification": _l("Classification"),
    "unit": _l("Unit"),
    "status": _l("Status"),
    "due_on": _l("Due date"),
    "raised_on": _l("Raised on"),
    "programme": _l("Programme year"),
    "planned_start": _l("Planned start"),
}


# --- shared by the findings and audits pages ---------------------------------------


def person() -> SignedIn:
    """The signed-in person."""
    if not isinstance(current_user, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    return current_user


def today() -> date:
    """Today in the agency's time zone, by the ledger's clock."""
    return local_date(current_wiring().clock.now())


def page_request(sorts: Sequence[str]) -> tuple[q.PageRequest, dict[str, str]]:
    """Return the page asked for in the query string and the messages of its bad values."""
    errors: dict[str, str] = {}
    search = request.args.get("q", "").strip()
    sort = request.args.get("sort", "")
    if sort and sort not in sorts:
        errors["sort"] = _("Choose one of the sort orders offered")
        sort = ""
    page_text = request.args.get("page", "1")
    page = int(page_text) if page_text.isdigit() and len(page_text) < 7 else 0
    if page < 1:
        errors["page"] = _("A page number is a whole number from 1")
        page = 1
    if len(search) > q.SEARCH_MAX:
        errors["q"] = _("Search for at most %(n)d characters", n=q.SEARCH_MAX)
        search = search[: q.SEARCH_MAX]
    per_page = None if request.args.get("format") == "csv" else PER_PAGE
    try:
        wanted = q.PageRequest(
            search=search,
            sort=sort,
            descending=request.args.get("desc") == "1",
            page=page,
            per_page=per_page,
        )
    except RegisterRequestError as exc:  # pragma: no cover - checked above
        errors[exc.field] = exc.message
        wanted = q.PageRequest(per_page=per_page)
    return wanted, errors


def csv_response(
    name: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """Return the rows as a CSV download (UTF-8 with a byte order mark, for spreadsheets)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        # a cell that starts like a spreadsheet formula is kept as text
        writer.writerow(
            ["'" + s if (s := str(v)) and s[0] in "=+-@\t\r" else s for v in row]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def link_args(**changes: object) -> dict[str, object]:
    """The query string with `changes` (None drops a key), for links of a register."""
    args: dict[str, object] = dict(request.args.items())
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args


def unit_choices(units: Iterable[str]) -> list[tuple[str, str]]:
    """The units offered in a form or filter, with their names in the reader's language."""
    names = {u.code: (u.name_zh if _zh() else u.name_en) for u in unit_tree()}
    return [(code, f"{code} {names.get(code, '')}".strip()) for code in sorted(units)]


def _zh() -> bool:
    from web.i18n import locale_code

    return locale_code() == "zh_CN"


def history_of(stream: str, as_of: AsOf | None) -> q.RecordHistory:
    """The full history of a record, as known at `as_of`."""
    store = current_wiring().store
    return q.record_history(
        store.engine, store, stream, as_of=as_of.moment if as_of else None
    )


def actions_section(who: SignedIn) -> str | None:
    """The corrective actions `who` owns that are not done yet, for their own page."""
    store = current_wiring().store
    tasks = q.open_tasks(store.engine, store, who.user_id, today=today())
    if not tasks.actions:
        return None
    # the template escapes what it shows: its output is HTML to insert as it is
    html = render_template("findings/tasks.html", actions=tasks.actions)
    return Markup(html)  # noqa: S704


def load_finding(finding_id: str, as_of: AsOf | None = None) -> q.FindingView:
    store = current_wiring().store
    try:
        found = q.finding(
            store.engine, store, finding_id, as_of=as_of.moment if as_of else None
        )
    except RecordNotFoundError:
        abort(404)
    require_unit(person(), found.unit)  # another unit's finding is not there
    return found


def store_evidence(upload: object) -> list[Mapping[str, JSONValue]]:
    """Store an uploaded file as a blob; return its reference ([] when none came)."""
    if not isinstance(upload, FileStorage) or not upload.filename:
        return []
    data = upload.read()
    if not data:
        return []
    digest = current_wiring().store.put_blob(data)
    return [
        {
            "blob": digest,
            "size": len(data),
            "name": upload.filename[:200],
            "media_type": upload.mimetype or "application/octet-stream",
        }
    ]
