"""Internal audits: the register, planning, the audit's page, starting, the signed report,
closing and cancelling.

The steps are forms on the audit's page, shown only to a person who may take them now
(web.views.findings_actions); the report is a signing page of its own, signed by the
lead auditor. `?as_of=` reads any page as it stood then, without forms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from ledger.domain import audits as a
from ledger.domain import subject_sha256
from projections import queries as q
from projections.errors import RecordNotFoundError
from web.as_of import AsOf, read_as_of
from web.auth import login_required
from web.commands import CommandForm, conflict_page, record, signing_stage
from web.picks import people_picks
from web.reading import read_scope, require_unit
from web.views import audits_forms as af
from web.views.findings import (
    STATUS_NAMES,
    csv_response,
    history_of,
    page_request,
    person,
    today,
    unit_choices,
)
from web.views.findings_actions import (
    AuditSteps,
    audit_steps,
    may_plan_audit,
    may_raise,
    readable_units,
    units_covered,
)
from web.views.findings_forms import parse_day
from web.wiring import current_wiring

bp = Blueprint("audits", __name__, url_prefix="/audits")

AUDIT_STATUSES = ("planned", "in_progress", "reported", "closed", "cancelled")


def _words(text: object) -> list[str]:
    return [w.strip() for w in str(text or "").split(",") if w.strip()]


@bp.route("", methods=["GET"])
@login_required
def register() -> ResponseReturnValue:
    """The audits register: filters (status, unit, programme), search, sort, pages, CSV."""
    who = person()
    as_of, as_of_error = read_as_of()
    wanted, errors = page_request(q.AUDIT_SORTS)
    readable = readable_units(who)
    unit = request.args.get("unit", "")
    if unit and unit not in readable:
        errors["unit"] = _("Choose one of the units offered")
        unit = ""
    status = request.args.get("status", "")
    if status and status not in AUDIT_STATUSES:
        errors["status"] = _("Choose one of the statuses offered")
        status = ""
    programme = request.args.get("programme", "").strip()
    if programme and not (len(programme) == 4 and programme.isdigit()):
        errors["programme"] = _("Enter the year as four digits")
        programme = ""
    store = current_wiring().store
    page = q.audit_page(
        store.engine,
        store,
        wanted,
        unit=unit or None,
        subtree=True,
        within=read_scope(who).within,
        programme=programme or None,
        status=status or None,
        as_of=as_of.moment if as_of else None,
    )
    items = list(page.items)
    if request.args.get("format") == "csv" and not errors:
        return csv_response(
            "audits",
            [
                _("Number"),
                _("Programme year"),
                _("Unit"),
                _("Status"),
                _("Planned start"),
                _("Planned end"),
                _("Lead auditor"),
                _("Scope"),
            ],
            (
                [
                    i.audit_id,
                    i.programme,
                    i.unit,
                    str(STATUS_NAMES.get(i.status, i.status)),
                    i.planned_start,
                    i.planned_end,
                    i.lead_auditor,
                    i.scope,
                ]
                for i in items
            ),
        )
    return (
        render_template(
            "audits/register.html",
            page=page,
            items=items,
            filters={"unit": unit, "status": status, "programme": programme},
            statuses=AUDIT_STATUSES,
            errors=errors,
            wanted=wanted,
            sorts=q.AUDIT_SORTS,
            units=unit_choices(readable),
            as_of=as_of,
            as_of_error=as_of_error,
            may_plan=may_plan_audit(who) and as_of is None,
        ),
        400 if errors or as_of_error else 200,
    )


def _plan_page(
    form: af.PlanAuditForm, general: Sequence[str], status: int
) -> ResponseReturnValue:
    return render_template("audits/new.html", form=form, general=general), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Plan an audit."""
    who = person()
    if not may_plan_audit(who):
        abort(403)
    form = af.PlanAuditForm()
    units = units_covered(who, ("auditor",))
    form.unit.choices = [SelectChoice(code, name) for code, name in unit_choices(units)]
    auditors, auditors_of = people_picks("auditor", units)
    form.lead_auditor.choices = [
        SelectChoice("", _("Choose the lead auditor")),
        *auditors,
    ]
    if request.method == "GET":
        form.stamp(0)
        form.programme.data = str(today().year)
        form.lead_auditor.data = who.user_id
        return _plan_page(form, [], 200)
    if not form.validate_on_submit():
        if form.command_id.errors or form.version.errors or form.csrf_token.errors:
            abort(400)
        return _plan_page(form, [], 422)
    if str(form.lead_auditor.data) not in auditors_of.get(str(form.unit.data), set()):
        form.lead_auditor.errors = [
            _(
                "Choose a person who is an auditor for unit %(unit)s",
                unit=form.unit.data,
            )
        ]
        return _plan_page(form, [], 422)
    audit_id = str(form.audit_id.data).strip()
    outcome = record(
        form,
        a.PlanAudit(
            audit_id=audit_id,
            programme=str(form.programme.data).strip(),
            unit=str(form.unit.data),
            scope=str(form.scope.data),
            criteria=_words(form.criteria.data),
            lead_auditor=str(form.lead_auditor.data).strip(),
            team=_words(form.team.data),
            planned_start=parse_day(form.planned_start.data) or today(),
            planned_end=parse_day(form.planned_end.data) or today(),
        ),
        who.user_id,
    )
    if outcome.conflict:
        form.audit_id.errors = [_("This audit number is used already; choose another")]
        return _plan_page(form, [], 422)
    if not outcome.ok:
        return _plan_page(form, outcome.general, 422)
    flash(_("Audit %(id)s is planned.", id=audit_id), "success")
    return redirect(url_for("audits.show", audit_id=audit_id))


def _load(audit_id: str, as_of: AsOf | None = None) -> q.AuditView:
    store = current_wiring().store
    try:
        found = q.audit(
            store.engine, store, audit_id, as_of=as_of.moment if as_of else None
        )
    except RecordNotFoundError:
        abort(404)
    require_unit(person(), found.unit)
    return found


STEP_FORMS: Mapping[str, type[CommandForm]] = {
    "start": af.StartAuditForm,
    "close": af.CloseAuditForm,
    "cancel": af.CancelAuditForm,
}

CONFIRMATIONS: Mapping[str, Any] = {
    "start": _l("The audit is started."),
    "close": _l("The audit is closed."),
    "cancel": _l("The audit is cancelled."),
}


def _show(
    audit_id: str,
    *,
    failed: tuple[str, CommandForm, Sequence[str]] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    as_of, as_of_error = read_as_of()
    found = _load(audit_id, as_of)
    steps = AuditSteps() if as_of else audit_steps(person(), found)
    version = current_wiring().store.stream_version(f"audit/{audit_id}")
    forms: dict[str, CommandForm] = {}
    general: Sequence[str] = failed[2] if failed else ()
    for name, form_class in STEP_FORMS.items():
        if not getattr(steps, name):
            continue
        if failed and failed[0] == name:
            forms[name] = failed[1]
        else:
            form = form_class(formdata=None)
            form.stamp(version)
            if name == "start":
                form.started_on.data = today().isoformat()
            forms[name] = form
    return (
        render_template(
            "audits/show.html",
            audit=found,
            steps=steps,
            forms=forms,
            failed=failed[1] if failed else None,
            general=general,
            may_raise=as_of is None
            and found.status == "in_progress"
            and may_raise(person()),
            history=history_of(f"audit/{audit_id}", as_of),
            as_of=as_of,
            as_of_error=as_of_error,
        ),
        400 if as_of_error and status == 200 else status,
    )


@bp.route("/<audit_id>", methods=["GET"])
@login_required
def show(audit_id: str) -> ResponseReturnValue:
    """The audit: plan, progress, report, its full history, and the steps open now."""
    return _show(audit_id)


@bp.route("/<audit_id>/<step>", methods=["POST"])
@login_required
def take_step(audit_id: str, step: str) -> ResponseReturnValue:
    """Start, close or cancel an audit."""
    if step not in STEP_FORMS:
        abort(404)
    found = _load(audit_id)
    form = STEP_FORMS[step]()
    if not form.validate_on_submit():
        if form.command_id.errors or form.version.errors or form.csrf_token.errors:
            abort(400)
        if not getattr(audit_steps(person(), found), step):
            abort(403)
        return _show(audit_id, failed=(step, form, []), status=422)
    command: a.AuditCommand
    if step == "start":
        command = a.StartAudit(
            audit_id=audit_id, started_on=parse_day(form.started_on.data) or today()
        )
    elif step == "close":
        command = a.CloseAudit(audit_id=audit_id, closed_on=today())
    else:
        command = a.CancelAudit(audit_id=audit_id, reason=str(form.reason.data))
    outcome = record(form, command, person().user_id)
    if outcome.conflict:
        return conflict_page(
            f"audit/{audit_id}",
            form.seen_version,
            url_for("audits.show", audit_id=audit_id),
        )
    if not outcome.ok:
        return _show(audit_id, failed=(step, form, outcome.general), status=422)
    flash(str(CONFIRMATIONS[step]), "success")
    return redirect(url_for("audits.show", audit_id=audit_id))


def _report_page(
    found: q.AuditView,
    form: af.ReportAuditForm,
    general: Sequence[str],
    status: int,
    *,
    signing: bool = True,
) -> ResponseReturnValue:
    version = form.seen_version
    content = a.signed_content(
        str(form.summary.data or "").strip(),
        list(dict.fromkeys(_words(form.findings.data))),
    )
    return (
        render_template(
            "audits/report.html",
            audit=found,
            form=form,
            general=general,
            signing=signing,
            version=version,
            digest=subject_sha256(f"audit/{found.audit_id}", version, content),
            meaning=_(
                "Approved: as lead auditor I take responsibility for this audit report"
            ),
        ),
        status,
    )


@bp.route("/<audit_id>/report", methods=["GET", "POST"])
@login_required
def report(audit_id: str) -> ResponseReturnValue:
    """The audit report: its summary and findings, signed by the lead auditor."""
    found = _load(audit_id)
    who = person()
    form = af.ReportAuditForm()
    if request.method == "GET":
        if not audit_steps(who, found).report:
            abort(403)
        store = current_wiring().store
        form.stamp(store.stream_version(f"audit/{audit_id}"))
        raised = q.finding_register(store.engine, store, unit=found.unit)
        form.findings.data = ", ".join(
            x.finding_id for x in raised if x.audit == audit_id
        )
        return _report_page(found, form, [], 200, signing=False)
    shown = signing_stage(
        form,
        lambda status, signing: _report_page(found, form, [], status, signing=signing),
    )
    if shown is not None:
        return shown
    outcome = record(
        form,
        a.ReportAudit(
            audit_id=audit_id,
            summary=str(form.summary.data),
            findings=_words(form.findings.data),
        ),
        who.user_id,
        password=str(form.password.data),
    )
    if outcome.conflict:
        return conflict_page(
            f"audit/{audit_id}",
            form.seen_version,
            url_for("audits.show", audit_id=audit_id),
        )
    if not outcome.ok:
        return _report_page(found, form, outcome.general, 422)
    flash(_("The audit report is signed and recorded."), "success")
    return redirect(url_for("audits.show", audit_id=audit_id))
