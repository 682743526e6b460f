"""The finding's page and its steps: each step a form, shown only to who may take it now.

Which steps a person may take is `web.views.findings_actions`; here each step's
form, the command it builds and its confirmation, the page (read `?as_of=`: the
finding then, and no forms) and the stored evidence files.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from flask import (
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
from werkzeug.exceptions import NotFound
from wtforms import SelectChoice

from ledger.domain import findings as f
from projections import queries as q
from web.as_of import read_as_of
from web.auth import login_required
from web.commands import CommandForm, conflict_page, record
from web.picks import people_picks
from web.views import findings_forms as ff
from web.views.findings_actions import (
    FindingSteps,
    finding_steps,
)
from web.views.findings_pages import (
    bp,
    history_of,
    load_finding,
    person,
    store_evidence,
    today,
)
from web.wiring import current_wiring

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
    found = load_finding(finding_id, as_of)
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
            evidence=store_evidence(form.evidence.data),
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
    found = load_finding(finding_id, as_of)
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
    found = load_finding(finding_id)
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
