"""The document page and what every documents page shares: the blueprint, the lookup.

`bp` is the documents blueprint; `web.views.documents` (the register) is its front
door and imports the other documents modules so that their routes are on it. Here:
the person signed in, the labels the pages show, the document as it stands (or
stood) under the read rule, the person's roles in its unit, and the routes of the
document page and of a revision's stored file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
)
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from ledger.domain.permissions import SUBTREE_ROLES
from projections import queries as q
from projections.errors import RecordNotFoundError
from web import history_words as hw
from web.as_of import AsOf, read_as_of
from web.auth import SignedIn, login_required
from web.forms_documents import (
    KIND_LABELS,
    SubmitForm,
)
from web.reading import require_document
from web.units import unit_subtree
from web.views.documents_actions import (
    allowed_actions,
    latest,
    roles_in_unit,
)
from web.wiring import current_wiring

bp = Blueprint("documents", __name__, url_prefix="/documents")

STATUS_LABELS = hw.DOCUMENT_STATUS
SIGNATURE_MEANINGS = {
    "approved": _l("Approval"),
}

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


def signed_in() -> SignedIn:
    """The person signed in (the routes require one)."""
    if not isinstance(current_user, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    return current_user


def page_globals() -> dict[str, Any]:
    """The labels every documents page shows."""
    return {
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "meanings": SIGNATURE_MEANINGS,
    }


def stream(doc_id: str) -> str:
    """The document's stream in the ledger."""
    return f"document/{doc_id}"


def document(doc_id: str, as_of: AsOf | None = None) -> q.DocumentView:
    """The document as it stands (or stood); 404 when the person may not read it."""
    store = current_wiring().store
    try:
        doc = q.document(
            store.engine, store, doc_id, as_of=as_of.moment if as_of else None
        )
    except RecordNotFoundError:
        abort(404)
    require_document(signed_in(), doc)
    return doc


def roles(person: SignedIn, unit: str) -> set[str]:
    below = {
        scope: set(unit_subtree(scope))
        for role, scope in person.roles
        if role in SUBTREE_ROLES
    }
    return roles_in_unit(person.roles, unit, below)


@bp.route("/<doc_id>", methods=["GET"])
@login_required
def show(doc_id: str) -> ResponseReturnValue:
    """One document: its state, revisions, history, and what the person may do now."""
    as_of, as_of_error = read_as_of()
    if as_of_error:
        as_of = None
    doc = document(doc_id, as_of)
    store = current_wiring().store
    history = q.record_history(
        store.engine, store, stream(doc_id), as_of=as_of.moment if as_of else None
    )
    person = signed_in()
    actions = (
        [] if as_of else allowed_actions(doc, person.user_id, roles(person, doc.unit))
    )
    submit_form = None
    if "submit" in actions:
        submit_form = SubmitForm()
        submit_form.stamp(store.stream_version(stream(doc_id)))
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
            **page_globals(),
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
    doc = document(doc_id, as_of)
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
