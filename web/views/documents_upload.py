"""Drafting a document or a new revision of one, and the upload of its file.

A document's file is stored as a blob and referenced by its digest; the largest
file accepted is `QMS_DOCUMENT_MAX_BYTES` (also used by the JSON API's uploads).
"""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import Forbidden
from wtforms.fields.choices import SelectChoice

from ledger.domain import documents as d
from ledger.integrity.canonical import JSONValue
from projections import queries as q
from web.auth import SignedIn, login_required
from web.commands import conflict_page, record
from web.forms_documents import (
    MAX_FILE_BYTES,
    DraftForm,
    UpdateForm,
)
from web.views import documents_record as rec
from web.wiring import current_wiring


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


def upload(
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


@rec.bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Draft a new document, or (?doc_id=) a new revision of one."""
    person = rec.signed_in()
    units = _author_units(person)
    if not units:
        raise Forbidden()
    store = current_wiring().store
    form = DraftForm()
    form.unit.choices = [SelectChoice(u, u) for u in units]
    existing: q.DocumentView | None = None
    wanted = (request.args.get("doc_id") or "").strip()
    if wanted:
        existing = rec.document(wanted)
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
            upload(form, required=True, keep=False)  # its message beside the others
        else:
            doc_id = str(form.doc_id.data)
            content = upload(form, required=True)
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
                        rec.stream(doc_id), form.seen_version, url_for("documents.new")
                    )
                general = outcome.general
        return _new_page(form, general, existing), 422
    form.stamp(store.stream_version(rec.stream(existing.doc_id)) if existing else 0)
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
