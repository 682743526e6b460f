"""Findings and corrective actions: the register, raising, the finding's page and its steps.

Every step is a form on the finding's page, shown only to a person who may take it
now (web.views.findings_actions); verifying the effectiveness is a signing page of
its own. Every page reads "as of" a moment when `?as_of=` is given, and then shows
no forms.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import Forbidden, NotFound
from wtforms import SelectChoice

from ledger.domain import findings as f
from ledger.domain import subject_sha256
from ledger.integrity.canonical import JSONValue
from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from web import history_words as hw
from web.as_of import AsOf, read_as_of
from web.auth import SignedIn, login_required
from web.commands import CommandForm, conflict_page, record, signing_stage
from web.i18n import local_date
from web.picks import audit_picks, people_picks
from web.reading import read_scope, require_unit
from web.units import unit_tree
from web.views import findings_forms as ff
from web.views.findings_actions import (
    FindingSteps,
    finding_steps,
    may_raise,
    readable_units,
    units_covered,
)
from web.views.me import add_task_section
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


def actions_section(who: SignedIn) -> str | None:
    """The corrective actions `who` owns that are not done yet, for their own page."""
    store = current_wiring().store
    tasks = q.open_tasks(store.engine, store, who.user_id, today=today())
    if not tasks.actions:
        return None
    # the template escapes what it shows: its output is HTML to insert as it is
    html = render_template("findings/tasks.html", actions=tasks.actions)
    return Markup(html)  # noqa: S704


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


def _evidence(upload: object) -> list[Mapping[str, JSONValue]]:
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
    evidence = _evidence(upload)
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


# --- the finding's page ------------------------------------------------------------


def _load(finding_id: str, as_of: AsOf | None = None) -> q.FindingView:
    store = current_wiring().store
    try:
        found = q.finding(
            store.engine, store, finding_id, as_of=as_of.moment if as_of else None
        )
    except RecordNotFoundError:
        abort(404)
    require_unit(person(), found.unit)  # another unit's finding is not there
    return found


STEP_FORMS: Mapping[str, type[CommandForm]] = {
    "contain": ff.ContainForm,
    "analyse": ff.CauseForm,
    "plan": ff.PlanForm,
    "complete": ff.CompleteForm,
    "change_due": ff.DueDateForm,
    "close": ff.CloseForm,
    "reopen": ff.ReopenForm,
}


def offer_owners(form: CommandForm, found: q.FindingView) -> None:
    """Offer, in each action row of a plan, the people with the owner role for the
    finding's unit."""
    if not isinstance(form, ff.PlanForm):
        return
    owners, _by_unit = people_picks("owner", [found.unit])
    for row in form.actions:
        row.form.owner.choices = [SelectChoice("", _("Choose the owner")), *owners]


def _show(
    finding_id: str,
    *,
    failed: tuple[str, CommandForm, Sequence[str]] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    as_of, as_of_error = read_as_of()
    found = _load(finding_id, as_of)
    who = person()
    store = current_wiring().store
    version = store.stream_version(f"finding/{finding_id}")
    steps = FindingSteps() if as_of else finding_steps(who, found)
    forms: dict[str, CommandForm] = {}
    general: Sequence[str] = failed[2] if failed else ()
    for name, form_class in STEP_FORMS.items():
        if name == "complete":
            continue
        if not getattr(steps, name):
            continue
        if failed and failed[0] == name:
            forms[name] = failed[1]
        else:
            form = form_class(formdata=None)
            form.stamp(version)
            if name == "change_due":
                form.due_on.data = found.due_on
            offer_owners(form, found)
            forms[name] = form
    complete_forms: dict[str, CommandForm] = {}
    for action_id in steps.complete:
        if failed and failed[0] == "complete" and failed[1].action_id.data == action_id:
            complete_forms[action_id] = failed[1]
        else:
            form = ff.CompleteForm(formdata=None, prefix=f"a-{action_id}")
            form.stamp(version)
            form.action_id.data = action_id
            complete_forms[action_id] = form
    return (
        render_template(
            "findings/show.html",
            finding=found,
            steps=steps,
            forms=forms,
            complete_forms=complete_forms,
            failed=failed[1] if failed else None,
            general=general,
            history=history_of(f"finding/{finding_id}", as_of),
            as_of=as_of,
            as_of_error=as_of_error,
        ),
        400 if as_of_error and status == 200 else status,
    )


@bp.route("/<finding_id>", methods=["GET"])
@login_required
def show(finding_id: str) -> ResponseReturnValue:
    """The finding: what, where, its actions, its full history, and the steps open now."""
    return _show(finding_id)


def _step_command(
    name: str, finding_id: str, form: CommandForm, found: q.FindingView
) -> f.FindingCommand:
    if name == "contain":
        return f.ContainFinding(finding_id=finding_id, action=str(form.action.data))
    if name == "analyse":
        return f.AnalyseCause(
            finding_id=finding_id,
            cause=str(form.cause.data),
            method=str(form.method.data),
        )
    if name == "plan":
        if not isinstance(form, ff.PlanForm):  # pragma: no cover - STEP_FORMS
            raise TypeError("the plan form")
        start = len(found.actions)
        return f.PlanActions(
            finding_id=finding_id,
            actions=[
                f.ActionPlan(
                    action_id=f"A{start + i + 1}",
                    description=str(row["description"].data).strip(),
                    owner=str(row["owner"].data).strip(),
                    due_on=ff.parse_day(row["due_on"].data) or today(),
                )
                for i, row in enumerate(form.filled())
            ],
        )
    if name == "complete":
        return f.CompleteAction(
            finding_id=finding_id,
            action_id=str(form.action_id.data),
            evidence=_evidence(form.evidence.data),
            note=str(form.note.data or ""),
        )
    if name == "change_due":
        return f.ChangeDueDate(
            finding_id=finding_id,
            due_on=ff.parse_day(form.due_on.data) or today(),
            reason=str(form.reason.data),
        )
    if name == "close":
        return f.CloseFinding(finding_id=finding_id, closed_on=today())
    return f.ReopenFinding(finding_id=finding_id, reason=str(form.reason.data))


CONFIRMATIONS: Mapping[str, Any] = {
    "contain": _l("The containment is recorded."),
    "analyse": _l("The root cause is recorded."),
    "plan": _l("The actions are planned."),
    "complete": _l("The action is recorded as done."),
    "change_due": _l("The due date is changed."),
    "close": _l("The finding is closed."),
    "reopen": _l("The finding is reopened."),
}


@bp.route("/<finding_id>/evidence/<digest>", methods=["GET"])
@login_required
def evidence(finding_id: str, digest: str) -> ResponseReturnValue:
    """Download a file of evidence of the finding or of one of its actions."""
    as_of, _error = read_as_of()
    found = _load(finding_id, as_of)
    refs = [*found.evidence, *(e for a in found.actions for e in a.evidence)]
    for ref in refs:
        if isinstance(ref, Mapping) and ref.get("blob") == digest:
            data = current_wiring().store.get_blob(digest)
            return send_file(
                io.BytesIO(data),
                mimetype=str(ref.get("media_type") or "application/octet-stream"),
                as_attachment=True,
                download_name=str(ref.get("name") or digest),
            )
    raise NotFound()


@bp.route("/<finding_id>/<step>", methods=["POST"])
@login_required
def take_step(finding_id: str, step: str) -> ResponseReturnValue:
    """Take one step on a finding (contain, analyse, plan, complete, change_due, close, reopen)."""
    if step not in STEP_FORMS:
        abort(404)
    found = _load(finding_id)
    if step == "complete":
        prefix = next(
            (k[: -len("-action_id")] for k in request.form if k.endswith("-action_id")),
            "",
        )
        form: CommandForm = ff.CompleteForm(prefix=prefix)
    else:
        form = STEP_FORMS[step]()
        offer_owners(form, found)
    if not form.validate_on_submit():
        if form.command_id.errors or form.version.errors or form.csrf_token.errors:
            abort(400)
        if not getattr(finding_steps(person(), found), step):
            abort(403)
        return _show(finding_id, failed=(step, form, []), status=422)
    outcome = record(
        form,
        _step_command(step, finding_id, form, found),
        person().user_id,
        fields={"actions": "actions", "action_id": "note"},
    )
    if outcome.conflict:
        return conflict_page(
            f"finding/{finding_id}",
            form.seen_version,
            url_for("findings.show", finding_id=finding_id),
        )
    if not outcome.ok:
        return _show(finding_id, failed=(step, form, outcome.general), status=422)
    flash(str(CONFIRMATIONS[step]), "success")
    return redirect(url_for("findings.show", finding_id=finding_id))


# --- verifying the effectiveness: a signing page -----------------------------------


def _verify_digest(found: q.FindingView, version: int, form: ff.VerifyForm) -> str:
    state = f.FindingState(
        finding_id=found.finding_id,
        version=version,
        actions={
            a.action_id: f.Action(
                action_id=a.action_id,
                description=a.description,
                owner=a.owner,
                due_on=a.due_on,
                done=a.status == "done",
            )
            for a in found.actions
        },
    )
    content = f.signed_content(
        state, form.effective.data == "yes", str(form.comment.data or "").strip()
    )
    return subject_sha256(f"finding/{found.finding_id}", version, content)


def _verify_page(
    found: q.FindingView,
    form: ff.VerifyForm,
    general: Sequence[str],
    status: int,
    *,
    signing: bool = True,
) -> ResponseReturnValue:
    version = form.seen_version
    return (
        render_template(
            "findings/verify.html",
            finding=found,
            form=form,
            general=general,
            signing=signing,
            version=version,
            digest=_verify_digest(found, version, form),
            meaning=_(
                "Approved: I verified that the actions were effective (or not) and take responsibility for this verification"
            ),
        ),
        status,
    )


@bp.route("/<finding_id>/verify", methods=["GET", "POST"])
@login_required
def verify(finding_id: str) -> ResponseReturnValue:
    """Verify the effectiveness of the actions: what is signed, the password, the signature."""
    found = _load(finding_id)
    who = person()
    form = ff.VerifyForm()
    if request.method == "GET":
        if not finding_steps(who, found).verify:
            abort(403)
        form.stamp(current_wiring().store.stream_version(f"finding/{finding_id}"))
        return _verify_page(found, form, [], 200, signing=False)
    shown = signing_stage(
        form,
        lambda status, signing: _verify_page(found, form, [], status, signing=signing),
    )
    if shown is not None:
        return shown
    outcome = record(
        form,
        f.VerifyEffectiveness(
            finding_id=finding_id,
            effective=form.effective.data == "yes",
            comment=str(form.comment.data),
        ),
        who.user_id,
        password=str(form.password.data),
    )
    if outcome.conflict:
        return conflict_page(
            f"finding/{finding_id}",
            form.seen_version,
            url_for("findings.show", finding_id=finding_id),
        )
    if not outcome.ok:
        return _verify_page(found, form, outcome.general, 422)
    flash(_("Your verification is signed and recorded."), "success")
    return redirect(url_for("findings.show", finding_id=finding_id))
