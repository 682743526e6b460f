"""Controlled documents [ISO 9001 7.5]: the register, the document page, its actions.

The register filters by unit (with the units below it), status and search words,
sorts by its columns, pages, and exports what is shown as CSV. The document page
shows the document as it stands (or stood, `?as_of=`), its revisions and its full
history, and only the actions the person may take now (web.views.documents_actions),
each a form of its own; approving is a signing page. A document's file is stored
as a blob and referenced by its digest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import Forbidden
from wtforms.fields.choices import SelectChoice

from ledger.domain import Command
from ledger.domain import documents as d
from ledger.domain.permissions import SUBTREE_ROLES
from ledger.integrity.canonical import JSONValue
from projections import queries as q
from projections.errors import RecordNotFoundError, RegisterRequestError
from web import history_words as hw
from web.as_of import AsOf, read_as_of
from web.auth import SignedIn, login_required
from web.commands import CommandForm, conflict_page, record
from web.forms_documents import (
    KIND_LABELS,
    MAX_FILE_BYTES,
    ApproveForm,
    DistributeForm,
    DraftForm,
    EffectiveForm,
    PeriodicReviewForm,
    RetentionForm,
    ReviewForm,
    SubmitForm,
    UpdateForm,
    WithdrawForm,
)
from web.i18n import local_date
from web.reading import read_scope, require_document
from web.units import unit_subtree, unit_tree
from web.views.documents_actions import (
    allowed_actions,
    latest,
    roles_in_unit,
    withdrawn_revision,
)
from web.views.me import add_task_section
from web.wiring import current_wiring

bp = Blueprint("documents", __name__, url_prefix="/documents")

PER_PAGE = 25
STATUS_LABELS = hw.DOCUMENT_STATUS
SORT_LABELS = {
    "id": _l("Number"),
    "title": _l("Title"),
    "kind": _l("Kind"),
    "unit": _l("Unit"),
    "status": _l("Status"),
    "next_review_due": _l("Next periodic review"),
}
SIGNATURE_MEANINGS = {
    "approved": _l("Approval"),
}
TASK_STEPS = {
    "review": _l("Review"),
    "approve": _l("Approve and sign"),
    "make_effective": _l("Make effective"),
}


def _person() -> SignedIn:
    if not isinstance(current_user, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    return current_user


def _globals() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "meanings": SIGNATURE_MEANINGS,
    }


# --- the register ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Filters:
    unit: str
    subtree: bool
    status: str
    search: str
    sort: str
    descending: bool
    page: int

    def args(self, **changes: object) -> dict[str, object]:
        values: dict[str, object] = {
            "unit": self.unit,
            "subtree": "1" if self.subtree else "0",
            "status": self.status,
            "q": self.search,
            "sort": self.sort,
            "desc": "1" if self.descending else "",
            "page": self.page,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


def _filters() -> tuple[_Filters, dict[str, str]]:
    args = request.args
    errors: dict[str, str] = {}
    page_text = args.get("page", "1").strip() or "1"
    page = int(page_text) if page_text.isdigit() and len(page_text) < 9 else 0
    if page < 1:
        errors["page"] = _("Enter a page number from 1")
        page = 1
    status = args.get("status", "")
    if status and status not in STATUS_LABELS:
        errors["status"] = _("Choose a status from the list")
        status = ""
    sort = args.get("sort", "")
    if sort and sort not in q.DOCUMENT_SORTS:
        errors["sort"] = _("Sort by one of the columns of the table")
        sort = ""
    return (
        _Filters(
            unit=args.get("unit", "").strip().upper(),
            subtree=args.get("subtree", "1") != "0",
            status=status,
            search=args.get("q", "").strip(),
            sort=sort,
            descending=args.get("desc", "") == "1",
            page=page,
        ),
        errors,
    )


def _csv(items: tuple[q.DocumentView, ...]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Number"),
            _("Title"),
            _("Kind"),
            _("Unit"),
            _("Status"),
            _("Latest revision"),
            _("Effective revision"),
            _("Next periodic review"),
        ]
    )
    for doc in items:
        writer.writerow(
            [
                _cell(doc.doc_id),
                _cell(doc.title),
                str(KIND_LABELS.get(doc.kind, doc.kind)),
                _cell(doc.unit),
                str(STATUS_LABELS.get(doc.status, doc.status)),
                doc.latest_revision,
                doc.effective_revision or "",
                doc.next_review_due or "",
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=documents.csv"},
    )


def _cell(text: str) -> str:
    """A CSV cell that a spreadsheet does not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("", methods=["GET"])
@login_required
def register() -> ResponseReturnValue:
    """The documents register: filters, search, sort, pages, CSV of what is shown."""
    as_of, as_of_error = read_as_of()
    filters, errors = _filters()
    store = current_wiring().store
    csv_export = request.args.get("format") == "csv"
    reader = read_scope(_person())
    page: q.Page[q.DocumentView] | None = None
    if not errors and not as_of_error:
        try:
            page = q.document_page(
                store.engine,
                store,
                q.PageRequest(
                    search=filters.search,
                    sort=filters.sort,
                    descending=filters.descending,
                    page=1 if csv_export else filters.page,
                    per_page=None if csv_export else PER_PAGE,
                ),
                unit=filters.unit or None,
                subtree=filters.subtree,
                status=filters.status or None,
                as_of=as_of.moment if as_of else None,
                within=reader.within,
                effective_from=reader.above,
            )
        except RegisterRequestError as exc:
            errors[exc.field] = exc.message
    if page is not None and csv_export:
        return _csv(page.items)
    status = 400 if errors or as_of_error else 200
    return (
        render_template(
            "documents/register.html",
            page=page,
            filters=filters,
            errors=errors,
            as_of=as_of,
            as_of_error=as_of_error,
            sort_labels=SORT_LABELS,
            units=unit_tree(as_of.moment if as_of else None),
            may_draft=_may_draft(_person()) and as_of is None,
            today=local_date(
                as_of.moment if as_of else current_wiring().clock.now()
            ).isoformat(),
            **_globals(),
        ),
        status,
    )


# --- the document page ------------------------------------------------------------


def _stream(doc_id: str) -> str:
    return f"document/{doc_id}"


def _document(doc_id: str, as_of: AsOf | None = None) -> q.DocumentView:
    """The document as it stands (or stood); 404 when the person may not read it."""
    store = current_wiring().store
    try:
        doc = q.document(
            store.engine, store, doc_id, as_of=as_of.moment if as_of else None
        )
    except RecordNotFoundError:
        abort(404)
    require_document(_person(), doc)
    return doc


def _roles(person: SignedIn, unit: str) -> set[str]:
    below = {
        scope: set(unit_subtree(scope))
        for role, scope in person.roles
        if role in SUBTREE_ROLES
    }
    return roles_in_unit(person.roles, unit, below)


def _may_draft(person: SignedIn) -> bool:
    return any(role == "author" for role, _scope in person.roles)


@bp.route("/<doc_id>", methods=["GET"])
@login_required
def show(doc_id: str) -> ResponseReturnValue:
    """One document: its state, revisions, history, and what the person may do now."""
    as_of, as_of_error = read_as_of()
    if as_of_error:
        as_of = None
    doc = _document(doc_id, as_of)
    store = current_wiring().store
    history = q.record_history(
        store.engine, store, _stream(doc_id), as_of=as_of.moment if as_of else None
    )
    person = _person()
    actions = (
        [] if as_of else allowed_actions(doc, person.user_id, _roles(person, doc.unit))
    )
    submit_form = None
    if "submit" in actions:
        submit_form = SubmitForm()
        submit_form.stamp(store.stream_version(_stream(doc_id)))
    return (
        render_template(
            "documents/show.html",
            doc=doc,
            latest=latest(doc),
            history=history,
            names={e.actor: e.actor_name for e in history.entries if e.actor_name},
            actions=actions,
            action_titles=ACTION_TITLES,
            submit_form=submit_form,
            as_of=as_of,
            as_of_error=as_of_error,
            **_globals(),
        ),
        400 if as_of_error else 200,
    )


@bp.route("/<doc_id>/revisions/<revision>/file", methods=["GET"])
@login_required
def revision_file(doc_id: str, revision: str) -> ResponseReturnValue:
    """The stored file of one revision, as it was uploaded (`?as_of=`: if it was then)."""
    as_of, as_of_error = read_as_of()
    if as_of_error:
        abort(400)
    doc = _document(doc_id, as_of)
    found = [r for r in doc.revisions if r.revision == revision]
    if not found or not found[0].content:
        abort(404)
    content = found[0].content
    assert content is not None  # noqa: S101  # checked above
    data = current_wiring().store.get_blob(str(content.get("blob", "")))
    name = str(content.get("name") or "document")
    return Response(
        data,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(name)}",
        },
    )


def _quote(name: str) -> str:
    return quote(name, safe="")


# --- uploads ------------------------------------------------------------------------


def max_file_bytes() -> int:
    """The largest document file accepted (QMS_DOCUMENT_MAX_BYTES, default 10 MB)."""
    return int(current_app.config.get("QMS_DOCUMENT_MAX_BYTES", MAX_FILE_BYTES))


def size_text(size: int) -> str:
    """A size in bytes as a clerk reads it: MB, KB or bytes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} B"


def _upload(
    form: DraftForm | UpdateForm, required: bool, *, keep: bool = True
) -> dict[str, JSONValue] | None:
    """Store the uploaded file as a blob and return its reference; errors on the form.

    With `keep` False the file is only checked (a form with other mistakes).
    """
    upload = form.file.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        if required:
            form.file.errors = [*form.file.errors, _("Choose the document file")]
        return None
    limit = max_file_bytes()
    try:
        data = upload.read(limit + 1)
    finally:
        upload.close()
    if len(data) > limit:
        form.file.errors = [
            *form.file.errors,
            _(
                "The file is larger than %(limit)s: choose a smaller file",
                limit=size_text(limit),
            ),
        ]
        return None
    if not data:
        form.file.errors = [*form.file.errors, _("The file is empty")]
        return None
    if not keep:
        return None
    digest = current_wiring().store.put_blob(data)
    return {
        "blob": digest,
        "size": len(data),
        "name": upload.filename[-200:],
        "media_type": upload.mimetype or "application/octet-stream",
    }


# --- drafting a new document or revision --------------------------------------------


def _author_units(person: SignedIn) -> list[str]:
    return sorted({scope for role, scope in person.roles if role == "author"})


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Draft a new document, or (?doc_id=) a new revision of one."""
    person = _person()
    units = _author_units(person)
    if not units:
        raise Forbidden()
    store = current_wiring().store
    form = DraftForm()
    form.unit.choices = [SelectChoice(u, u) for u in units]
    existing: q.DocumentView | None = None
    wanted = (request.args.get("doc_id") or "").strip()
    if wanted:
        existing = _document(wanted)
        if request.method == "GET":
            form.doc_id.data = existing.doc_id
            form.title.data = existing.title
            form.kind.data = existing.kind
            form.unit.data = existing.unit
            form.review_interval_months.data = existing.review_interval_months
            form.retention_years.data = existing.retention_years
    general: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            _upload(form, required=True, keep=False)  # its message beside the others
        else:
            doc_id = str(form.doc_id.data)
            content = _upload(form, required=True)
            if content is not None and not form.errors:
                command = d.DraftDocument(
                    doc_id=doc_id,
                    unit=str(form.unit.data),
                    title=str(form.title.data),
                    kind=str(form.kind.data),
                    content=content,
                    review_interval_months=int(form.review_interval_months.data),
                    retention_years=int(form.retention_years.data),
                )
                outcome = record(
                    form, command, person.user_id, fields={"content": "file"}
                )
                if outcome.ok:
                    flash(_("The revision has been drafted."), "success")
                    return redirect(url_for("documents.show", doc_id=doc_id))
                if outcome.conflict and existing is None:
                    form.doc_id.errors = [
                        *form.doc_id.errors,
                        _(
                            "This number is already taken: draft a new revision from the document's page"
                        ),
                    ]
                elif outcome.conflict:
                    return conflict_page(
                        _stream(doc_id), form.seen_version, url_for("documents.new")
                    )
                general = outcome.general
        return _new_page(form, general, existing), 422
    form.stamp(store.stream_version(_stream(existing.doc_id)) if existing else 0)
    return _new_page(form, general, existing)


def _new_page(
    form: DraftForm, general: list[str], existing: q.DocumentView | None
) -> str:
    return render_template(
        "documents/new.html",
        form=form,
        general=general,
        existing=existing,
        max_size=size_text(max_file_bytes()),
    )


# --- the actions on a document ------------------------------------------------------

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


ACTION_TITLES = {
    "update": _l("Change the draft"),
    "submit": _l("Submit for review"),
    "review": _l("Review the revision"),
    "approve": _l("Approve and sign"),
    "make_effective": _l("Make effective"),
    "distribute": _l("Record distribution"),
    "periodic_review": _l("Complete the periodic review"),
    "new_revision": _l("Draft a new revision"),
    "retention": _l("Change the retention period"),
    "withdraw": _l("Withdraw"),
}

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
    person = _person()
    rev = latest(doc)
    digest = ""
    if rev is not None:
        digest = rev.content_sha256 or str((rev.content or {}).get("blob", ""))
    return render_template(
        "documents/action.html",
        name=name,
        title=ACTION_TITLES[name],
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
        **_globals(),
    )


@bp.route("/<doc_id>/<any(" + ",".join(ACTIONS) + "):name>", methods=["GET", "POST"])
@login_required
def action(doc_id: str, name: str) -> ResponseReturnValue:
    """One action on a document: its form (GET) or recording it (POST).

    Read `?as_of=` a moment, the page shows the document as it stood then under
    the banner, and no form: the past is read, never written.
    """
    person = _person()
    as_of, as_of_error = read_as_of()
    if as_of is not None or as_of_error is not None:
        then = _document(doc_id, as_of)
        if as_of is None or request.method == "POST":
            page = _action_page(name, then, None, [], as_of, as_of_error)
            return page, 400
        return _action_page(name, then, None, [], as_of)
    doc = _document(doc_id)
    store = current_wiring().store
    spec = ACTIONS[name]
    form = spec.form()
    if request.method == "GET":
        if name not in allowed_actions(doc, person.user_id, _roles(person, doc.unit)):
            raise Forbidden()
        if isinstance(form, UpdateForm):
            form.title.data = doc.title
        if isinstance(form, RetentionForm):
            form.retention_years.data = doc.retention_years
        form.stamp(store.stream_version(_stream(doc_id)))
        return _action_page(name, doc, form, [])
    general: list[str] = []
    if form.validate_on_submit():
        form.uploaded = None
        if isinstance(form, UpdateForm):
            form.uploaded = _upload(form, required=False)
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
                    _stream(doc_id),
                    form.seen_version,
                    url_for("documents.show", doc_id=doc_id),
                )
            general = outcome.general
    return _action_page(name, doc, form, general), 422


# --- the person's open tasks --------------------------------------------------------


def task_section(person: SignedIn) -> str | None:
    """The revisions waiting for the person: to review, approve or make effective."""
    wiring = current_wiring()
    store = wiring.store
    try:
        tasks = q.open_tasks(
            store.engine, store, person.user_id, today=local_date(wiring.clock.now())
        )
    except RecordNotFoundError:
        return None
    if not tasks.documents:
        return None
    html = render_template(
        "documents/tasks.html", tasks=tasks.documents, steps=TASK_STEPS
    )
    return Markup(html)  # noqa: S704  # a rendered template: its values are escaped


@bp.record_once
def _add_tasks(state: BlueprintSetupState) -> None:
    app = state.app
    if isinstance(app, Flask):
        add_task_section(app, task_section)
