"""Findings and corrective actions: the register, raising, the finding's page and its steps.

Every step is a form on the finding's page, shown only to a person who may take it
now (web.views.findings_actions); verifying the effectiveness is a signing page of
its own. Every page reads "as of" a moment when `?as_of=` is given, and then shows
no forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import (
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from wtforms import SelectChoice

from ledger.domain import findings as f
from projections import queries as q
from web.as_of import read_as_of
from web.auth import SignedIn, login_required
from web.commands import record
from web.i18n import local_date
from web.picks import audit_picks
from web.reading import read_scope
from web.views import findings_forms as ff
from web.views import findings_record, findings_verify  # noqa: F401  # their routes join bp
from web.views.findings_actions import (
    may_raise,
    readable_units,
    units_covered,
)
from web.views.findings_pages import (
    MEANING_NAMES,
    SORT_NAMES,
    STATUS_NAMES,
    actions_section,
    bp,
    csv_response,
    link_args,
    page_request,
    person,
    store_evidence,
    today,
    unit_choices,
)
from web.views.me import add_task_section
from web.wiring import current_wiring


def init_app(app: Flask) -> None:
    """Register the pages, the template globals and the actions section of open tasks."""
    app.register_blueprint(bp)
    app.jinja_env.globals["af_status_names"] = STATUS_NAMES
    app.jinja_env.globals["af_sort_names"] = SORT_NAMES
    app.jinja_env.globals["af_meaning_names"] = MEANING_NAMES
    app.jinja_env.globals["af_classification_names"] = ff.classification_names()
    app.jinja_env.globals["af_source_names"] = ff.source_names()
    app.jinja_env.globals["af_link_args"] = link_args
    add_task_section(app, actions_section)


# --- the register ------------------------------------------------------------------


def _filters(who: SignedIn) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    readable = readable_units(who)
    unit = request.args.get("unit", "")
    if unit and unit not in readable:
        errors["unit"] = _("Choose one of the units offered")
        unit = ""
    classification = request.args.get("classification", "")
    if classification and classification not in f.CLASSIFICATIONS:
        errors["classification"] = _("Choose one of the classifications offered")
        classification = ""
    return {
        "unit": unit,
        # the filter form says "filtered": an unticked box then sends nothing
        "subtree": request.args.get("subtree") == "1"
        if "filtered" in request.args
        else request.args.get("subtree", "1") == "1",
        "open_only": request.args.get("open") == "1",
        "classification": classification,
    }, errors


@bp.route("", methods=["GET"])
@login_required
def register() -> ResponseReturnValue:
    """The findings register: filters, search, sort, pages, CSV."""
    who = person()
    as_of, as_of_error = read_as_of()
    wanted, errors = page_request(q.FINDING_SORTS)
    filters, filter_errors = _filters(who)
    errors.update(filter_errors)
    store = current_wiring().store
    readable = readable_units(who)
    page = q.finding_page(
        store.engine,
        store,
        wanted,
        unit=filters["unit"] or None,
        subtree=filters["subtree"],
        within=read_scope(who).within,
        open_only=filters["open_only"],
        classification=filters["classification"] or None,
        as_of=as_of.moment if as_of else None,
    )
    items = list(page.items)
    if request.args.get("format") == "csv" and not errors:
        names = ff.classification_names()
        return csv_response(
            "findings",
            [
                _("Number"),
                _("Unit"),
                _("Classification"),
                _("Status"),
                _("Due date"),
                _("Raised on"),
                _("What was found"),
            ],
            (
                [
                    i.finding_id,
                    i.unit,
                    str(names.get(i.classification, i.classification)),
                    str(STATUS_NAMES.get(i.status, i.status)),
                    i.due_on,
                    local_date(i.raised_at).isoformat(),
                    i.description,
                ]
                for i in items
            ),
        )
    status = 400 if errors or as_of_error else 200
    return (
        render_template(
            "findings/register.html",
            page=page,
            items=items,
            filters=filters,
            errors=errors,
            wanted=wanted,
            sorts=q.FINDING_SORTS,
            units=unit_choices(readable),
            as_of=as_of,
            as_of_error=as_of_error,
            may_raise=may_raise(who) and as_of is None,
        ),
        status,
    )


# --- raising a finding -------------------------------------------------------------


def _raise_page(
    form: ff.RaiseFindingForm, general: Sequence[str], status: int
) -> ResponseReturnValue:
    return render_template("findings/new.html", form=form, general=general), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Raise a finding."""
    who = person()
    if not may_raise(who):
        abort(403)
    form = ff.RaiseFindingForm()
    units = units_covered(who, ("auditor", "manager"))
    form.unit.choices = [SelectChoice(code, name) for code, name in unit_choices(units)]
    audits, audit_units = audit_picks(units)
    form.audit.choices = [SelectChoice("", _("None")), *audits]
    if request.method == "GET":
        form.stamp(0)
        audit = request.args.get("audit", "")
        if audit and ff.RECORD_ID_RE.fullmatch(audit):
            # raised from an audit's page: the audit and its unit filled in
            form.audit.data = audit
            form.source.data = "internal_audit"
            form.unit.data = request.args.get("unit", "")
        return _raise_page(form, [], 200)
    valid = form.validate_on_submit()
    if form.command_id.errors or form.version.errors or form.csrf_token.errors:
        abort(400)
    upload = form.evidence.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        form.evidence.errors = [_("Attach at least one file of evidence")]
        valid = False
    audit_unit = audit_units.get(str(form.audit.data or ""))
    if audit_unit is not None and audit_unit != form.unit.data:
        form.audit.errors = [_("Choose an audit of unit %(unit)s", unit=form.unit.data)]
        valid = False
    if not valid:
        return _raise_page(form, [], 422)
    evidence = store_evidence(upload)
    if not evidence:
        form.evidence.errors = [_("Attach at least one file of evidence")]
        return _raise_page(form, [], 422)
    criterion = {
        "clause": str(form.clause.data or ""),
        "document": str(form.document.data or ""),
        "revision": str(form.revision.data or ""),
    }
    finding_id = str(form.finding_id.data).strip()
    outcome = record(
        form,
        f.RaiseFinding(
            finding_id=finding_id,
            unit=str(form.unit.data),
            source=str(form.source.data),
            classification=str(form.classification.data),
            criterion=criterion,
            description=str(form.description.data),
            evidence=evidence,
            due_on=ff.parse_day(form.due_on.data) or today(),
            audit=str(form.audit.data or "").strip() or None,
        ),
        who.user_id,
        fields={"criterion": "clause"},
    )
    if outcome.conflict:
        # the number is taken by a finding raised meanwhile
        form.finding_id.errors = [
            _("This finding number is used already; choose another")
        ]
        return _raise_page(form, [], 422)
    if not outcome.ok:
        return _raise_page(form, outcome.general, 422)
    flash(_("Finding %(id)s is raised.", id=finding_id), "success")
    return redirect(url_for("findings.show", finding_id=finding_id))
