"""The certifier's partial export: one unit's records for a period, as a zip download.

The form is a GET form (it changes nothing): a unit among those the person may
certify (their assigned units and every unit below them; an administrator: every
unit), whether the units below it count, and the first and last day typed by hand.
A valid request streams the zip of `ledger.store.partial_export` while it is read;
a unit outside the person's reach is 404, whatever the rest of the request says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from flask import Response, abort, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectChoice, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired

from ledger.errors import KeyMaterialError
from ledger.store.partial_export import PartialScope, stream_partial_zip
from projections import queries as q
from projections.errors import RecordNotFoundError
from projections.queries.streams import unit_streams
from web.auth import SignedIn
from web.views.audits_forms import DAY_MESSAGE
from web.views.findings_forms import DAY_HINT, DayText, parse_day
from web.views.findings_pages import unit_choices
from web.wiring import current_wiring

FIELDS = ("unit", "subtree", "from", "to")
"""The query parameters of the form: any of them present means it was sent."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class PartialExportForm(Form):  # type: ignore[misc]  # wtforms has no type hints
    """The scope of a partial export, read from the query string."""

    unit = SelectField(
        _l("Unit"),
        validators=[InputRequired(message=_l("Choose a unit"))],
        validate_choice=False,  # a unit outside the choices is 404, not a field error
    )
    subtree = SelectField(
        _l("Units below it"),
        choices=[
            SelectChoice("yes", _l("Include every unit below it")),
            SelectChoice("no", _l("This unit only")),
        ],
        default="yes",
        validate_choice=False,
        validators=[
            AnyOf(("yes", "no"), message=_l("Choose whether the units below it count"))
        ],
    )
    start = StringField(
        _l("First day (UTC)"),
        name="from",
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the first day of the period")),
            DayText(DAY_MESSAGE),
        ],
    )
    end = StringField(
        _l("Last day (UTC, included)"),
        name="to",
        description=DAY_HINT,
        validators=[
            DataRequired(message=_l("Enter the last day of the period")),
            DayText(DAY_MESSAGE),
        ],
    )

    def period(self) -> tuple[date, date] | None:
        """The period typed, or None with the reversed one's message on `to`."""
        start, end = parse_day(self.start.data), parse_day(self.end.data)
        if start is None or end is None:
            return None
        if end < start:
            self.end.errors = [_("The last day must not be before the first day")]
            return None
        return start, end


def exportable_units(who: SignedIn) -> list[str]:
    """The units `who` may export: each unit they certify and every unit below it;
    every unit for an administrator."""
    store = current_wiring().store
    if any(role == "admin" for role, _scope in who.roles):
        return sorted(u.code for u in q.unit_tree(store.engine, store))
    found: set[str] = set()
    for role, scope in who.roles:
        if role == "certifier":
            found |= set(q.unit_subtree(store.engine, store, scope))
    return sorted(found)


def read_form(
    who: SignedIn, args: MultiDict[str, str]
) -> tuple[PartialExportForm, PartialScope | None]:
    """The form as sent, and the scope when it is valid (None: show the errors).

    Raises:
        NotFound: the unit is none of those `who` may export (404).
    """
    allowed = exportable_units(who)
    sent = any(name in args for name in FIELDS)
    form = PartialExportForm(args if sent else None)
    form.unit.choices = [
        SelectChoice(code, name) for code, name in unit_choices(allowed)
    ]
    if not sent:  # the empty form
        return form, None
    unit = str(form.unit.data or "")
    if unit and unit not in allowed:
        abort(404)
    valid = form.validate()
    period = form.period() if valid else None
    if period is None:
        return form, None
    try:
        found = unit_streams(
            current_wiring().store.engine, unit, subtree=form.subtree.data != "no"
        )
    except RecordNotFoundError:
        abort(404)
    return form, PartialScope(
        unit=unit,
        subtree=form.subtree.data != "no",
        units=found.units,
        streams=found.streams,
        start=period[0],
        end=period[1],
    )


def zip_name(scope: PartialScope) -> str:
    """The download's file name: partial-<unit>-<from>-<to>.zip."""
    unit = _SAFE.sub("_", scope.unit)
    return f"partial-{unit}-{scope.start.isoformat()}-{scope.end.isoformat()}.zip"


def download(scope: PartialScope) -> Response:
    """The partial export of `scope` as a zip, streamed while it is read."""
    try:
        chunks = stream_partial_zip(current_wiring().store, scope)
    except KeyMaterialError:
        abort(503)

    def body() -> Iterator[bytes]:
        yield from chunks

    return Response(
        stream_with_context(body()),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename={zip_name(scope)}",
            "Cache-Control": "no-store",
        },
    )
