"""An administrator revokes a person's API tokens, from the person's page.

The tokens themselves are the web layer's (`web.api.tokens`); the person's page
(`web.views.admin.user`) lists them. An administrator reaches the people of the
units their admin roles cover, as on every administration page.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from projections import queries as q
from projections.errors import RecordNotFoundError
from web.api.auth import current_tokens
from web.api.tokens import TokenInfo
from web.auth import SignedIn, login_required
from web.forms import RevokeTokenForm
from web.views.admin_actions import admin_scope
from web.wiring import current_wiring

bp = Blueprint("admin_tokens", __name__, url_prefix="/admin/users")


def tokens_of(user_id: str) -> list[TokenInfo]:
    """The API tokens of `user_id`, newest first, for their page."""
    return current_tokens().of_user(user_id)


@bp.route("/<user_id>/tokens/<token_id>/revoke", methods=["POST"])
@login_required
def revoke(user_id: str, token_id: str) -> ResponseReturnValue:
    """Revoke a person's API token (an administrator of their unit only)."""
    person = current_user
    if not isinstance(person, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    store = current_wiring().store
    scope = admin_scope(person.roles, q.unit_tree(store.engine, store))
    if not scope:
        raise Forbidden()
    try:
        found = q.user(store.engine, store, user_id)
    except RecordNotFoundError:
        abort(404)
    if found.unit not in scope:
        abort(404)
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    if not current_tokens().revoke(token_id, person.user_id, owner=user_id):
        abort(404)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("admin.user", user_id=user_id))
