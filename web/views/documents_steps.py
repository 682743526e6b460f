"""The actions on a document: each a form of its own page; approving is a signing page.

Which actions a person may take now is `web.views.documents_actions`; here each
action's form, the command it builds, its confirmation, and the route that shows
and records it. Read `?as_of=` a moment, an action page shows the document then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Forbidden

from ledger.domain import Command
from ledger.domain import documents as d
from projections import queries as q
from web.as_of import AsOf, read_as_of
from web.auth import login_required
from web.commands import CommandForm, conflict_page, record
from web.forms_documents import (
    ApproveForm,
    DistributeForm,
    EffectiveForm,
    PeriodicReviewForm,
    RetentionForm,
    ReviewForm,
    SubmitForm,
    UpdateForm,
    WithdrawForm,
)
from web.views import documents_record as rec
from web.views.documents_actions import (
    allowed_actions,
    latest,
    withdrawn_revision,
)
from web.views.documents_upload import upload
from web.wiring import current_wiring

Builder = Callable[[Any, q.DocumentView], Command]


@dataclass(frozen=True, slots=True)
class _Action:
    form: type[CommandForm]
    build: Builder
    done: Any  # the confirmation (lazy string)
    fields: Mapping[str, str] | None = None
    signing: bool = False


def _units(text: str) -> list[str]:
    return [u for u in text.replace(",", " ").split() if u]


ACTIONS: dict[str, _Action] = {
    "update": _Action(
        UpdateForm,
        lambda f, doc: d.UpdateDocumentDraft(
            doc_id=doc.doc_id, title=str(f.title.data), content=f.uploaded
        ),
        _l("The draft has been changed."),
        {"content": "file", "new": "title"},
    ),
    "submit": _Action(
        SubmitForm,
        lambda f, doc: d.SubmitDocument(doc_id=doc.doc_id),
        _l("The revision has been submitted for review."),
    ),
    "review": _Action(
        ReviewForm,
        lambda f, doc: d.ReviewDocument(
            doc_id=doc.doc_id,
            outcome=str(f.outcome.data),
            comment=str(f.comment.data or ""),
        ),
        _l("Your review has been recorded."),
    ),
    "approve": _Action(
        ApproveForm,
        lambda f, doc: d.ApproveDocument(doc_id=doc.doc_id),
        _l("The revision has been approved and signed."),
        signing=True,
    ),
    "make_effective": _Action(
        EffectiveForm,
        lambda f, doc: d.MakeDocumentEffective(
            doc_id=doc.doc_id, effective_on=f.effective_on.data
        ),
        _l("The revision is now effective."),
    ),
    "distribute": _Action(
        DistributeForm,
        lambda f, doc: d.DistributeDocument(
            doc_id=doc.doc_id, units=_units(str(f.units.data))
        ),
        _l("The distribution has been recorded."),
    ),
    "periodic_review": _Action(
        PeriodicReviewForm,
        lambda f, doc: d.CompletePeriodicReview(
            doc_id=doc.doc_id,
            reviewed_on=f.reviewed_on.data,
            comment=str(f.comment.data or ""),
        ),
        _l("The periodic review has been recorded."),
    ),
    "retention": _Action(
        RetentionForm,
        lambda f, doc: d.ChangeRetention(
            doc_id=doc.doc_id,
            retention_years=int(f.retention_years.data),
            reason=str(f.reason.data),
        ),
        _l("The retention period has been changed."),
    ),
    "withdraw": _Action(
        WithdrawForm,
        lambda f, doc: d.WithdrawDocument(
            doc_id=doc.doc_id,
            reason=str(f.reason.data),
            revision=withdrawn_revision(doc),
        ),
        _l("The revision has been withdrawn."),
    ),
}


def _action_page(
    name: str,
    doc: q.DocumentView,
    form: CommandForm | None,
    general: list[str],
    as_of: AsOf | None = None,
    as_of_error: str | None = None,
) -> str:
    """The action's page: its form, or (read as of a moment) the document then."""
    person = rec.signed_in()
    rev = latest(doc)
    digest = ""
    if rev is not None:
        digest = rev.content_sha256 or str((rev.content or {}).get("blob", ""))
    return render_template(
        "documents/action.html",
        name=name,
        title=rec.ACTION_TITLES[name],
        doc=doc,
        latest=rev,
        form=form,
        general=general,
        signing=ACTIONS[name].signing,
        digest=digest,
        signer_name=person.name,
        withdrawn=withdrawn_revision(doc) if name == "withdraw" else None,
        as_of=as_of,
        as_of_error=as_of_error,
        **rec.page_globals(),
    )


@rec.bp.route(
    "/<doc_id>/<any(" + ",".join(ACTIONS) + "):name>", methods=["GET", "POST"]
)
@login_required
def action(doc_id: str, name: str) -> ResponseReturnValue:
    """One action on a document: its form (GET) or recording it (POST).

    Read `?as_of=` a moment, the page shows the document as it stood then under
    the banner, and no form: the past is read, never written.
    """
    person = rec.signed_in()
    as_of, as_of_error = read_as_of()
    if as_of is not None or as_of_error is not None:
        then = rec.document(doc_id, as_of)
        if as_of is None or request.method == "POST":
            page = _action_page(name, then, None, [], as_of, as_of_error)
            return page, 400
        return _action_page(name, then, None, [], as_of)
    doc = rec.document(doc_id)
    store = current_wiring().store
    spec = ACTIONS[name]
    form = spec.form()
    if request.method == "GET":
        if name not in allowed_actions(
            doc, person.user_id, rec.roles(person, doc.unit)
        ):
            raise Forbidden()
        if isinstance(form, UpdateForm):
            form.title.data = doc.title
        if isinstance(form, RetentionForm):
            form.retention_years.data = doc.retention_years
        form.stamp(store.stream_version(rec.stream(doc_id)))
        return _action_page(name, doc, form, [])
    general: list[str] = []
    if form.validate_on_submit():
        form.uploaded = None
        if isinstance(form, UpdateForm):
            form.uploaded = upload(form, required=False)
        if not form.errors:
            password = str(form.password.data) if spec.signing else None
            outcome = record(
                form,
                spec.build(form, doc),
                person.user_id,
                password=password,
                fields=spec.fields,
            )
            if outcome.ok:
                flash(str(spec.done), "success")
                return redirect(url_for("documents.show", doc_id=doc_id))
            if outcome.conflict:
                return conflict_page(
                    rec.stream(doc_id),
                    form.seen_version,
                    url_for("documents.show", doc_id=doc_id),
                )
            general = outcome.general
    return _action_page(name, doc, form, general), 422
