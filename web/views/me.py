"""The person's own page: who they are, their roles, and changing their password.

A password change ends every session of the person (on every device) and starts a
fresh one here.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from ledger.errors import ConcurrencyError, EventRejectedError, NotAuthorizedError
from web.api.auth import current_tokens
from web.auth import SignedIn, account_key, current_sessions, login_required
from web.forms import PasswordChangeForm, RevokeTokenForm, TokenForm
from web.views.auth import start_session
from web.wiring import current_wiring

bp = Blueprint("me", __name__, url_prefix="/me")

TASKS_EXTENSION = "qms.me.tasks"
# A section of open tasks: given the person, the rendered HTML (Markup from
# render_template) or None when the person has nothing of that kind to do.
TaskSection = Callable[[SignedIn], str | None]


def add_task_section(app: Flask, section: TaskSection) -> None:
    """Let an area show the person's open tasks of its kind on their own page.

    Documents to review, actions owned and measurements due belong to the areas
    that own those records; each registers its section here when it is set up.
    """
    app.extensions.setdefault(TASKS_EXTENSION, []).append(section)


def _task_sections(person: SignedIn) -> list[str]:
    sections: list[TaskSection] = current_app.extensions.get(TASKS_EXTENSION, [])
    return [html for section in sections if (html := section(person)) is not None]


def _person() -> SignedIn:
    if not isinstance(current_user, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    return current_user


# What a person with a temporary password may still open: everything else sends
# them to choose their own password first.
_BEFORE_OWN_PASSWORD = frozenset(
    {
        "me.index",
        "me.change_password",
        "auth.login",
        "auth.logout",
        "auth.language",
        "static",
        "healthz",
    }
)


@bp.before_app_request
def own_password_first() -> ResponseReturnValue | None:
    """Send a person who still has a temporary password to their own page."""
    if request.endpoint is None or request.endpoint in _BEFORE_OWN_PASSWORD:
        return None
    if request.path.startswith("/api/"):
        return None  # the API signs nobody in by cookie (web.api.auth)
    if isinstance(current_user, SignedIn) and current_user.must_change:
        flash(_("Choose your own password before you go on."), "info")
        return redirect(url_for("me.index"))
    return None


def _page(
    form: PasswordChangeForm,
    status: int = 200,
    *,
    token_form: TokenForm | None = None,
    new_token: str | None = None,
) -> ResponseReturnValue:
    person = _person()
    tokens = current_tokens()
    must_change = person.must_change
    # Open tasks (documents to review, actions owned, measurements due) are
    # sections the areas that own those records add (add_task_section); until
    # they exist the page shows none rather than anything made up.
    return (
        render_template(
            "me/index.html",
            person=person,
            form=form,
            must_change=must_change,
            task_sections=_task_sections(person),
            token_form=token_form or TokenForm(formdata=None),
            revoke_form=RevokeTokenForm(),
            tokens=tokens.of_user(person.user_id),
            now=current_wiring().clock.now().timestamp(),
            new_token=new_token,
        ),
        status,
    )


@bp.route("", methods=["GET"])
@login_required
def index() -> ResponseReturnValue:
    """The person's own page."""
    return _page(PasswordChangeForm())


@bp.route("/password", methods=["POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change one's own password; a fresh session after it."""
    person = _person()
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    sessions = current_sessions()
    if sessions.locked_for(account_key(person.user_id)) > 0:
        form.old_password.errors.append(
            _("Too many wrong passwords. Wait a few minutes and try again.")
        )
        return _page(form, 429)
    try:
        current_wiring().service().change_password(
            person.user_id, str(form.old_password.data), str(form.new_password.data)
        )
    except EventRejectedError as exc:
        if "old_password" in exc.messages:
            sessions.fail(account_key(person.user_id))
            form.old_password.errors.append(
                _(
                    "The current password is wrong. Enter the password you signed in with."
                )
            )
        else:
            form.new_password.errors.append(
                _("Choose a new password that is different from the current one")
            )
        return _page(form, 400)
    except ConcurrencyError:
        form.old_password.errors.append(
            _("Your record changed meanwhile. Nothing was saved; try again.")
        )
        return _page(form, 409)
    except NotAuthorizedError as exc:
        raise Forbidden() from exc
    sessions.close_all(person.user_id)
    start_session(person.user_id)
    flash(_("Your password has been changed."), "success")
    return redirect(url_for("me.index"))


@bp.route("/tokens", methods=["POST"])
@login_required
def create_token() -> ResponseReturnValue:
    """Make an API token of one's own; it is shown once, on the page this answers."""
    person = _person()
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(PasswordChangeForm(formdata=None), 400, token_form=form)
    token, _info = current_tokens().create(
        person.user_id, str(form.name.data), int(form.days.data)
    )
    return _page(
        PasswordChangeForm(formdata=None),
        201,
        token_form=TokenForm(formdata=None),
        new_token=token,
    )


@bp.route("/tokens/<token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: str) -> ResponseReturnValue:
    """Revoke one of one's own API tokens."""
    person = _person()
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    if not current_tokens().revoke(token_id, person.user_id, owner=person.user_id):
        abort(404)
    flash(_("The token is revoked."), "success")
    return redirect(url_for("me.index"))
