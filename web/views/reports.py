"""The QMS status report of a unit subtree as known at a moment, with its SHA-256.

`/reports/status?subtree=&as_of=` (or `unit=`): the report the ledger tools build
(projections.reports) of a unit and the units below it, limited to the units the
reader may see (web.reading), shown as a page with its figures and stamp, and
offered as the printable HTML, CSV and canonical JSON downloads. The SHA-256 of the JSON is what a
management review pins; the moment shown links to the same report again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ledger.integrity.canonical import JSONValue
from projections import queries as q
from projections.errors import ProjectionError, RecordNotFoundError
from projections.reports import StatusReport, build_report
from web.as_of import read_as_of
from web.auth import login_required
from web.reading import read_scope, readable
from web.views.indicators import person
from web.wiring import current_wiring

bp = Blueprint("reports", __name__, url_prefix="/reports")


def report_at(
    unit: str | None, moment: datetime, within: Collection[str] | None = None
) -> StatusReport:
    """The status report of `unit`'s subtree as known at `moment`, limited to the
    units `within` when given.

    Raises:
        NotFound: no such unit, or nothing recorded by `moment` (404).
    """
    store = current_wiring().store
    try:
        return build_report(store.engine, store, as_of=moment, unit=unit, within=within)
    except (RecordNotFoundError, ProjectionError):
        abort(404)


def moment_of(text: str | None) -> datetime | None:
    """A moment in the ledger's format (2026-06-30T06:00:00.000000Z), else None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _section(data: Mapping[str, JSONValue], name: str) -> Mapping[str, JSONValue]:
    value = data.get(name)
    return value if isinstance(value, Mapping) else {}


def document_status(status: str) -> str:
    """A document revision's status in words."""
    words = {
        "drafted": _("Draft"),
        "submitted": _("In review"),
        "approved": _("Approved"),
        "effective": _("Effective"),
        "superseded": _("Superseded"),
        "withdrawn": _("Withdrawn"),
    }
    return str(words.get(status, status))


@bp.route("/status", methods=["GET"])
@login_required
def status() -> ResponseReturnValue:
    """The status report page, or one of its downloads (`format=html|csv|json`)."""
    as_of, as_of_error = read_as_of()
    moment = as_of.moment if as_of is not None else None
    pinned = moment_of(request.args.get("at"))
    subtree = request.args.get("subtree", "").strip().upper()
    unit = subtree or request.args.get("unit", "").strip() or person().unit
    store = current_wiring().store
    now = current_wiring().clock.now()
    if subtree and subtree not in {u.code for u in q.unit_tree(store.engine, store)}:
        return render_template(
            "errors/error.html",
            status=400,
            title=_("Bad request"),
            message=_(
                "No unit has the code %(code)s: choose a unit from the list of units",
                code=subtree,
            ),
        ), 400
    if pinned is not None and pinned > now:
        abort(400)  # a report of the future would change as events come
    reader = read_scope(person())
    below = q.unit_subtree(store.engine, store, unit)
    seen = readable(person(), below)
    if not seen:
        abort(404)  # none of these units is there for this reader
    whole = len(seen) == len(below)  # else the report holds only the units seen
    at = pinned or moment or now
    report = report_at(unit, at, reader.within)
    fmt = request.args.get("format", "")
    name = f"qms-status-{unit}-{report.size}"
    if fmt == "json":
        return Response(
            report.to_json(),
            mimetype="application/json",
            headers={"Content-Disposition": f"attachment; filename={name}.json"},
        )
    if fmt == "csv":
        return Response(
            report.to_csv(),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    if fmt == "html":  # self-contained, with its own styles: a download to print
        return Response(
            report.to_html(),
            mimetype="text/html",
            headers={"Content-Disposition": f"attachment; filename={name}.html"},
        )
    data = report.data
    return render_template(
        "reports/status.html",
        report=report,
        data=data,
        unit=unit,
        stamp=_section(data, "ledger"),
        documents=_section(data, "documents"),
        findings=_section(data, "findings"),
        audits=_section(data, "audits"),
        indicators=data.get("indicators") or [],
        moment=moment,
        as_of_error=as_of_error,
        as_of=as_of,
        at=str(data["as_of"]),
        document_status=document_status,
        # a review pins the whole subtree's report: offered only when this is it
        may_review=moment is None
        and whole
        and any(r == "manager" for r, _ in person().roles),
    )
