"""Verifying a finding's effectiveness: a signing page of its own.

The signer sees the digest of what they sign (the finding as it stands) and signs
with their password; the service checks the signature again.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ledger.domain import findings as f
from ledger.domain import subject_sha256
from projections import queries as q
from web.auth import login_required
from web.commands import conflict_page, record, signing_stage
from web.views import findings_forms as ff
from web.views.findings_actions import (
    finding_steps,
)
from web.views.findings_pages import bp, load_finding, person
from web.wiring import current_wiring

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
    found = load_finding(finding_id)
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
