"""The management reviews register, a review's page, and recording a review held.

A review names its attendees, its decisions and its actions, and may pin the status
report it looked at: the report of the review's unit as known at the moment given,
rebuilt here, with its ledger size and SHA-256 (ISO 9001 9.3 inputs).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from ledger.domain import reviews as rv
from ledger.integrity.canonical import JSONValue
from ledger.integrity.envelope import format_time
from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from web.as_of import read_as_of
from web.auth import login_required
from web.commands import conflict_page, record
from web.picks import unit_picks
from web.reading import read_scope, require_unit
from web.views import area_actions as acts
from web.views.area_forms import ReviewForm
from web.views.indicators import person, printed_name
from web.views.reports import moment_of, report_at
from web.wiring import current_wiring

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

PER_PAGE = 25
# Between the user IDs of the attendees: new lines, spaces, commas (, ，), 、 and ;.
SEPARATORS = re.compile(r"[\s,，、;；]+")


@bp.route("", methods=["GET"])
@login_required
def register() -> ResponseReturnValue:
    """The management reviews: filter by unit, search numbers, sort, pages, CSV."""
    store = current_wiring().store
    as_of, as_of_error = read_as_of()
    moment = as_of.moment if as_of is not None else None
    args = request.args
    unit = args.get("unit", "").strip() or None
    subtree = args.get("subtree", "1") != "0"
    wants_csv = args.get("format") == "csv"
    within = read_scope(person()).within
    error: RegisterRequestError | None = None
    try:
        page_no = int(args.get("page", "1") or "1")
    except ValueError:
        page_no = 0
    try:
        req = q.PageRequest(
            search=args.get("q", ""),
            sort=args.get("sort", "") or "held_on",
            descending=args.get("desc", "1") == "1",
            page=page_no,
            per_page=None if wants_csv else PER_PAGE,
        )
        page = q.review_page(
            store.engine,
            store,
            req,
            unit=unit,
            subtree=subtree,
            as_of=moment,
            within=within,
        )
    except RegisterRequestError as exc:
        error = exc
        req = q.PageRequest(per_page=PER_PAGE)
        page = q.review_page(
            store.engine,
            store,
            req,
            unit=unit,
            subtree=subtree,
            as_of=moment,
            within=within,
        )
    if wants_csv and error is None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "review_id",
                "unit",
                "held_on",
                "held_by",
                "attendees",
                "decisions",
                "actions",
                "report_sha256",
            ]
        )
        for r in page.items:
            writer.writerow(
                [
                    r.review_id,
                    r.unit,
                    r.held_on,
                    r.held_by,
                    " ".join(r.attendees),
                    len(r.decisions),
                    len(r.actions),
                    " ".join(_digests(r)),
                ]
            )
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=reviews.csv"},
        )
    return (
        render_template(
            "reviews/register.html",
            page=page,
            req=req,
            unit=unit or "",
            subtree=subtree,
            error=error,
            moment=moment,
            as_of_error=as_of_error,
            as_of=as_of,
            may_hold=moment is None and acts.may_hold_review(person().roles),
        ),
        400 if error else 200,
    )


def _digests(view: q.ReviewView) -> list[str]:
    return [str(i.get("sha256", "")) for i in view.inputs if isinstance(i, dict)]


@bp.route("/<review_id>", methods=["GET"])
@login_required
def page(review_id: str) -> ResponseReturnValue:
    """A management review: when, who, the report it pinned, decisions, actions."""
    store = current_wiring().store
    as_of, as_of_error = read_as_of()
    moment = as_of.moment if as_of is not None else None
    try:
        view = q.review(store.engine, store, review_id, as_of=moment)
    except RecordNotFoundError:
        abort(404)
    require_unit(person(), view.unit)  # another unit's review is not there
    history = q.record_history(store.engine, store, f"review/{review_id}", as_of=moment)
    return render_template(
        "reviews/page.html",
        view=view,
        names={
            a: printed_name(a, moment)
            for a in {*view.attendees, view.held_by}
            | {str(x.get("owner", "")) for x in view.actions if isinstance(x, dict)}
        },
        history=history,
        moment=moment,
        as_of_error=as_of_error,
        as_of=as_of,
    )


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _user_ids(text: str | None) -> list[str]:
    """User IDs as people type them: one a line, or between commas, 、 or spaces."""
    return [part for part in SEPARATORS.split(text or "") if part]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _actions(form: ReviewForm) -> list[rv.ReviewAction] | None:
    """The actions of the form, or None with a message beside the field."""
    found = []
    for n, line in enumerate(_lines(form.actions.data), start=1):
        parts = [p.strip() for p in line.split("|")]
        due = _day(parts[2]) if len(parts) == 3 and parts[0] and parts[1] else None
        if due is None:
            form.actions.errors = [
                *form.actions.errors,
                _(
                    "Line %(n)s: write the action as description | owner's user ID |"
                    " due date (2026-09-30)",
                    n=n,
                ),
            ]
            return None
        found.append(rv.ReviewAction(description=parts[0], owner=parts[1], due_on=due))
    return found


@bp.route("/new", methods=["GET", "POST"])
@login_required
def hold() -> ResponseReturnValue:
    """Record a management review held, pinning the status report it looked at."""
    me = person()
    if request.method == "GET" and not acts.may_hold_review(me.roles):
        abort(403)
    store = current_wiring().store
    form = ReviewForm()
    form.unit.choices = unit_picks(acts.role_units(me.roles, "manager"))
    if request.method == "GET":
        form.unit.data = form.unit.data or request.args.get("unit", me.unit)
        form.report_as_of.data = request.args.get("report_as_of", "")
        form.held_on.data = form.held_on.data or acts.agency_today()
        form.attendees.data = form.attendees.data or me.user_id
    review_id = str(form.review_id.data or "").strip()
    stream = f"review/{review_id}"
    general: list[str] = []
    status = 200
    pinned = None
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            actions = _actions(form)
            unit = str(form.unit.data).strip()
            inputs: list[dict[str, JSONValue]] = []
            moment = moment_of(form.report_as_of.data)
            if form.report_as_of.data and moment is None:
                form.report_as_of.errors = [_("Copy the moment from the status report")]
            elif moment is not None and moment > current_wiring().clock.now():
                form.report_as_of.errors = [
                    _("The moment is in the future: copy it from the status report")
                ]
            elif moment is not None:
                report = report_at(unit, moment)
                inputs.append(
                    {
                        "report": "qms-status",
                        "unit": unit,
                        "as_of": format_time(moment),
                        "size": report.size,
                        "sha256": report.sha256(),
                    }
                )
            if actions is not None and not form.report_as_of.errors:
                command = rv.HoldManagementReview(
                    review_id=review_id,
                    unit=unit,
                    held_on=form.held_on.data,
                    attendees=_user_ids(form.attendees.data),
                    inputs=inputs,
                    decisions=_lines(form.decisions.data),
                    actions=actions,
                )
                outcome = record(form, command, me.user_id)
                if outcome.conflict:
                    return conflict_page(
                        stream, form.seen_version, url_for("reviews.register")
                    )
                if outcome.ok:
                    flash(
                        _("Management review %(id)s is recorded.", id=review_id),
                        "success",
                    )
                    return redirect(url_for("reviews.page", review_id=review_id))
                general = outcome.general
    moment = moment_of(form.report_as_of.data)
    if (
        moment is not None
        and not form.report_as_of.errors
        and moment <= current_wiring().clock.now()
    ):
        try:
            pinned = report_at(str(form.unit.data or me.unit), moment)
        except NotFound:  # the form says what is wrong on submit
            pinned = None
    form.stamp(store.stream_version(stream))
    return (
        render_template("reviews/hold.html", form=form, general=general, pinned=pinned),
        status,
    )
