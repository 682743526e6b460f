"""A unit's dashboard: open findings, actions and document reviews due, audits, indicators.

`/dashboard?unit=&subtree=` (default: the person's own unit and the units below).
"Today" is the agency-time date of the moment shown, so that overdue means overdue
then; every indicator's trend chart is inline SVG with its numbers in a table.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from projections import queries as q
from projections.errors import RecordNotFoundError
from web.as_of import read_as_of
from web.auth import login_required
from web.units import unit_tree
from web.views import area_actions as acts
from web.views.indicators import chart_of, person
from web.wiring import current_wiring

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def classification_words(classification: str) -> str:
    """A finding's classification in words."""
    return str(
        {
            "major": _("Major nonconformity"),
            "minor": _("Minor nonconformity"),
            "observation": _("Observation"),
            "opportunity": _("Opportunity for improvement"),
        }.get(classification, classification)
    )


@bp.route("", methods=["GET"])
@login_required
def index() -> ResponseReturnValue:
    """The dashboard of a unit (and the units below it), as known now or at `as_of`."""
    store = current_wiring().store
    as_of, as_of_error = read_as_of()
    moment = as_of.moment if as_of is not None else None
    unit = request.args.get("unit", "").strip() or person().unit
    subtree = request.args.get("subtree", "1") != "0"
    known = {u.code for u in unit_tree(moment)}
    if unit not in known:
        abort(404)
    try:
        board = q.dashboard(
            store.engine,
            store,
            today=acts.agency_today(moment),
            unit=unit,
            subtree=subtree,
            as_of=moment,
        )
    except RecordNotFoundError:
        abort(404)
    charts = [
        (
            trend,
            *chart_of(trend.indicator, trend.periods, chart_id=f"trend-{n}"),
        )
        for n, trend in enumerate(board.indicators, start=1)
    ]
    return render_template(
        "dashboard/index.html",
        board=board,
        charts=charts,
        unit=unit,
        subtree=subtree,
        moment=moment,
        as_of_error=as_of_error,
        as_of=as_of,
        classification_words=classification_words,
    )
