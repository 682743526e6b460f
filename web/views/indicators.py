"""The indicators register and an indicator's page: chart, table, targets, history, forms.

Defining an indicator, changing its target, recording, correcting a measurement and
retiring it are pages of their own (GET shows the form, POST records the command).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime

from flask import (
    Blueprint,
    Flask,
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
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import Forbidden
from wtforms.fields.choices import SelectChoice

from ledger.domain import indicators as ind
from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from web.as_of import read_as_of
from web.auth import SignedIn, login_required
from web.charts import ChartLabels, chart_points, trend_rows, trend_svg
from web.commands import CommandForm, conflict_page, record
from web.picks import people_picks, unit_picks
from web.reading import read_scope, require_unit
from web.views import area_actions as acts
from web.views import area_forms as forms
from web.wiring import current_wiring

bp = Blueprint("indicators", __name__, url_prefix="/indicators")

PER_PAGE = 25


def person() -> SignedIn:
    """The signed-in person."""
    if not isinstance(current_user, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    return current_user


def printed_name(user_id: str, moment: datetime | None = None) -> str:
    """The person's printed name with their user ID, as known at `moment`."""
    store = current_wiring().store
    try:
        found = q.user(store.engine, store, user_id, as_of=moment)
    except RecordNotFoundError:
        return user_id
    return f"{found.name} ({user_id})"


def chart_labels(view: q.IndicatorView) -> ChartLabels:
    """The chart's words in the reader's language."""
    return ChartLabels(
        title=f"{view.indicator_id} {view.name}",
        description=_(
            "The value of each period against the target in force then; a missed"
            " period is a red triangle. The same numbers are in the table beside it."
        ),
        period=_("Period"),
        value=_("Value"),
        target=_("Target"),
        met=_("Met"),
        missed=_("Missed"),
        no_target=_("No target"),
        no_data=_("No measurement yet"),
        measure=view.measure,
    )


def chart_of(
    view: q.IndicatorView,
    measurements: tuple[q.MeasurementView, ...] | None = None,
    chart_id: str = "trend",
) -> tuple[Markup, list[object]]:
    """The inline SVG of the indicator's trend and the rows of its text table."""
    labels = chart_labels(view)
    points = chart_points(view if measurements is None else measurements)
    svg = trend_svg(points, labels, chart_id=chart_id)  # every text in it escaped
    return Markup(svg), list(  # noqa: S704
        trend_rows(points, labels)
    )


def status_word(status: str) -> str:
    """The indicator's status in words."""
    return str({"active": _("Active"), "retired": _("Retired")}.get(status, status))


@bp.app_context_processor
def _words() -> dict[str, object]:
    return {"indicator_status": status_word}


@bp.route("", methods=["GET"])
@login_required
def register() -> ResponseReturnValue:
    """The indicators register: filters, search, sort, pages, CSV."""
    store = current_wiring().store
    as_of, as_of_error = read_as_of()
    moment = as_of.moment if as_of is not None else None
    args = request.args
    unit = args.get("unit", "").strip() or None
    subtree = args.get("subtree", "1") != "0"
    status = args.get("status", "") or None
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
            sort=args.get("sort", ""),
            descending=args.get("desc") == "1",
            page=page_no,
            per_page=None if wants_csv else PER_PAGE,
        )
        page = q.indicator_page(
            store.engine,
            store,
            req,
            unit=unit,
            subtree=subtree,
            status=status,
            as_of=moment,
            within=within,
        )
    except RegisterRequestError as exc:
        error = exc
        req = q.PageRequest(per_page=PER_PAGE)
        page = q.indicator_page(
            store.engine,
            store,
            req,
            unit=unit,
            subtree=subtree,
            as_of=moment,
            within=within,
        )
    if wants_csv and error is None:
        return _csv(page.items)
    return (
        render_template(
            "indicators/register.html",
            page=page,
            req=req,
            unit=unit or "",
            subtree=subtree,
            status=status or "",
            error=error,
            as_of_error=as_of_error,
            as_of=as_of,
            moment=moment,
            sorts=q.INDICATOR_SORTS,
            may_define=moment is None and acts.may_define_indicator(person().roles),
        ),
        400 if error else 200,
    )


def _csv(items: tuple[q.IndicatorView, ...]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "indicator_id",
            "unit",
            "name",
            "measure",
            "target",
            "frequency",
            "owner",
            "status",
            "latest_period",
            "latest_value",
            "met",
        ]
    )
    for i in items:
        latest = i.measurements[-1] if i.measurements else None
        writer.writerow(
            [
                i.indicator_id,
                i.unit,
                i.name,
                i.measure,
                i.target,
                i.frequency,
                i.owner,
                i.status,
                latest.period if latest else "",
                latest.value if latest else "",
                ""
                if latest is None or latest.met is None
                else ("yes" if latest.met else "no"),
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=indicators.csv"},
    )


def _load(indicator_id: str, moment: datetime | None = None) -> q.IndicatorView:
    store = current_wiring().store
    try:
        found = q.indicator(store.engine, store, indicator_id, as_of=moment)
    except RecordNotFoundError:
        abort(404)
    require_unit(person(), found.unit)  # another unit's indicator is not there
    return found


@bp.route("/<indicator_id>", methods=["GET"])
@login_required
def page(indicator_id: str) -> ResponseReturnValue:
    """An indicator: its facts, the trend chart and table, targets, history, actions."""
    store = current_wiring().store
    as_of, as_of_error = read_as_of()
    moment = as_of.moment if as_of is not None else None
    view = _load(indicator_id, moment)
    svg, rows = chart_of(view)
    history = q.record_history(
        store.engine, store, f"indicator/{indicator_id}", as_of=moment
    )
    me = person()
    actions = (
        acts.IndicatorActions()
        if moment is not None
        else acts.indicator_actions(view, me.user_id, me.roles)
    )
    return render_template(
        "indicators/page.html",
        view=view,
        owner_name=printed_name(view.owner, moment),
        svg=svg,
        rows=rows,
        history=history,
        actions=actions,
        moment=moment,
        as_of_error=as_of_error,
        as_of=as_of,
    )


def _command_page(
    form: CommandForm,
    *,
    title: str,
    stream: str,
    build: Callable[[], ind.IndicatorCommand],
    done: str,
    back: str,
    fields: list[str],
    view: q.IndicatorView | None = None,
    fields_map: dict[str, str] | None = None,
) -> ResponseReturnValue:
    """Show the form (GET), or record its command (POST) and go back to the record."""
    store = current_wiring().store
    status = 200
    general: list[str] = []
    if request.method == "POST":
        if form.validate_on_submit():
            outcome = record(form, build(), person().user_id, fields=fields_map)
            if outcome.conflict:
                return conflict_page(stream, form.seen_version, back)
            if outcome.ok:
                flash(done, "success")
                return redirect(back)
            general = outcome.general
        elif "csrf_token" in form.errors:
            abort(400)
        status = 422
    form.stamp(store.stream_version(stream))
    return (
        render_template(
            "indicators/form.html",
            form=form,
            title=title,
            fields=[getattr(form, name) for name in fields],
            general=general,
            view=view,
            back=back,
        ),
        status,
    )


def _guard(view: q.IndicatorView, allowed: bool) -> None:
    if view.status == "retired" or not allowed:
        if view.status == "retired" and request.method == "GET":
            abort(404)
        if not allowed and request.method == "GET":
            abort(403)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def define() -> ResponseReturnValue:
    """Define an indicator."""
    if request.method == "GET" and not acts.may_define_indicator(person().roles):
        abort(403)
    form = forms.DefineIndicatorForm()
    units = acts.role_units(person().roles, "manager")
    form.unit.choices = unit_picks(units)
    owners, form.owners_of = people_picks("owner", units)
    form.owner.choices = [SelectChoice("", _("Choose the owner")), *owners]
    if request.method == "GET" and not form.unit.data:
        form.unit.data = person().unit
    iid = str(form.indicator_id.data or "").strip()

    def build() -> ind.IndicatorCommand:
        return ind.DefineIndicator(
            indicator_id=iid,
            unit=str(form.unit.data).strip(),
            owner=str(form.owner.data).strip(),
            name=str(form.name.data).strip(),
            measure=str(form.measure.data).strip(),
            direction=str(form.direction.data),
            target=str(form.target.data).strip(),
            frequency=str(form.frequency.data),
            method=str(form.method.data).strip(),
            effective_from=str(form.effective_from.data).strip(),
        )

    return _command_page(
        form,
        title=_("Define an indicator"),
        stream=f"indicator/{iid}",
        build=build,
        done=_("Indicator %(id)s is defined.", id=iid),
        back=url_for("indicators.page", indicator_id=iid)
        if iid
        else url_for("indicators.register"),
        fields=[
            "indicator_id",
            "unit",
            "owner",
            "name",
            "measure",
            "direction",
            "target",
            "frequency",
            "method",
            "effective_from",
        ],
    )


@bp.route("/<indicator_id>/target", methods=["GET", "POST"])
@login_required
def change_target(indicator_id: str) -> ResponseReturnValue:
    """Change the target from a period on, with a reason."""
    view = _load(indicator_id)
    me = person()
    _guard(view, acts.indicator_actions(view, me.user_id, me.roles).change_target)
    form = forms.ChangeTargetForm()
    return _command_page(
        form,
        title=_("Change the target of %(id)s", id=indicator_id),
        stream=f"indicator/{indicator_id}",
        build=lambda: ind.ChangeTarget(
            indicator_id=indicator_id,
            target=str(form.target.data).strip(),
            effective_from=str(form.effective_from.data).strip(),
            reason=str(form.reason.data).strip(),
        ),
        done=_("The target of %(id)s is changed.", id=indicator_id),
        back=url_for("indicators.page", indicator_id=indicator_id),
        fields=["target", "effective_from", "reason"],
        view=view,
    )


@bp.route("/<indicator_id>/measure", methods=["GET", "POST"])
@login_required
def measure(indicator_id: str) -> ResponseReturnValue:
    """Record the value of one period."""
    view = _load(indicator_id)
    me = person()
    _guard(view, acts.indicator_actions(view, me.user_id, me.roles).record_measurement)
    form = forms.MeasurementForm()
    if request.method == "GET" and not form.period.data:
        form.period.data = request.args.get("period", "")
    return _command_page(
        form,
        title=_("Record a measurement of %(id)s", id=indicator_id),
        stream=f"indicator/{indicator_id}",
        build=lambda: ind.RecordMeasurement(
            indicator_id=indicator_id,
            period=str(form.period.data).strip(),
            value=str(form.value.data).strip(),
            note=str(form.note.data or "").strip(),
        ),
        done=_("The measurement is recorded."),
        back=url_for("indicators.page", indicator_id=indicator_id),
        fields=["period", "value", "note"],
        view=view,
    )


@bp.route("/<indicator_id>/correct", methods=["GET", "POST"])
@login_required
def correct(indicator_id: str) -> ResponseReturnValue:
    """Correct a recorded value; the original stays on record."""
    view = _load(indicator_id)
    me = person()
    _guard(view, acts.indicator_actions(view, me.user_id, me.roles).correct_measurement)
    form = forms.CorrectionForm()
    form.period.choices = [
        SelectChoice(m.period, f"{m.period}: {m.value}")
        for m in reversed(view.measurements)
    ]
    if request.method == "GET" and request.args.get("period"):
        form.period.data = request.args.get("period")
    return _command_page(
        form,
        title=_("Correct a measurement of %(id)s", id=indicator_id),
        stream=f"indicator/{indicator_id}",
        build=lambda: ind.CorrectMeasurement(
            indicator_id=indicator_id,
            period=str(form.period.data).strip(),
            value=str(form.value.data).strip(),
            reason=str(form.reason.data).strip(),
        ),
        done=_("The measurement is corrected; the original value stays on record."),
        back=url_for("indicators.page", indicator_id=indicator_id),
        fields=["period", "value", "reason"],
        view=view,
    )


@bp.route("/<indicator_id>/retire", methods=["GET", "POST"])
@login_required
def retire(indicator_id: str) -> ResponseReturnValue:
    """Retire the indicator."""
    view = _load(indicator_id)
    me = person()
    _guard(view, acts.indicator_actions(view, me.user_id, me.roles).retire)
    form = forms.RetireForm()
    return _command_page(
        form,
        title=_("Retire %(id)s", id=indicator_id),
        stream=f"indicator/{indicator_id}",
        build=lambda: ind.RetireIndicator(
            indicator_id=indicator_id, reason=str(form.reason.data).strip()
        ),
        done=_("Indicator %(id)s is retired.", id=indicator_id),
        back=url_for("indicators.page", indicator_id=indicator_id),
        fields=["reason"],
        view=view,
    )


def measurement_tasks(me: SignedIn) -> str | None:
    """The person's section of open tasks: measurements due for indicators they own."""
    store = current_wiring().store
    try:
        tasks = q.open_tasks(store.engine, store, me.user_id, today=acts.agency_today())
    except RecordNotFoundError:
        return None
    if not tasks.measurements:
        return None
    return render_template("indicators/tasks.html", tasks=tasks.measurements)


def init_app(app: Flask) -> None:
    """Register the blueprint and the measurements section of the person's tasks."""
    from web.views.me import add_task_section

    app.register_blueprint(bp)
    add_task_section(app, measurement_tasks)
