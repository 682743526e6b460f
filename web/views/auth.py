"""Sign in, sign out and the language switch.

Signing in starts a new server-side session (a new token, a new cookie); signing
out deletes it on the server. Failed sign-ins are counted per account and per
address (web.auth); while either is locked, the password is not even checked.
"""

from __future__ import annotations

import math

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from web.auth import (
    SignedIn,
    account_key,
    address_key,
    current_sessions,
    login_required,
    signed_in,
)
from web.forms import LoginForm
from web.i18n import LANGUAGE_COOKIE, LOCALES
from web.wiring import current_wiring

bp = Blueprint("auth", __name__)

ONE_YEAR = 365 * 24 * 3600


def safe_next(target: str | None, default: str) -> str:
    """Return `target` when it is a path on this server, else `default`."""
    if (
        target
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and "\\" not in target
        and not any(ord(c) < 32 for c in target)
    ):
        return target
    return default


def start_session(user_id: str) -> SignedIn | None:
    """End the current session, if any, and start a new one for `user_id`."""
    sessions = current_sessions()
    if isinstance(current_user, SignedIn):
        sessions.close(current_user.token)
    session.clear()  # a fresh cookie: nothing of the old session carries over
    token = sessions.open(user_id)
    person = signed_in(token, user_id)
    if person is None:
        sessions.close(token)
        return None
    login_user(person)
    session.permanent = False
    return person


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in page."""
    form = LoginForm()
    general: list[str] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            user_id = str(form.user_id.data).strip()
            keys = (account_key(user_id), address_key(request.remote_addr))
            sessions = current_sessions()
            wait = sessions.locked_for(*keys)
            service = current_wiring().service()
            if wait > 0:
                minutes = max(1, math.ceil(wait / 60))
                general.append(
                    ngettext(
                        "Too many failed sign-ins. Wait %(num)d minute and try again.",
                        "Too many failed sign-ins. Wait %(num)d minutes and try again.",
                        minutes,
                    )
                )
                status = 429
            elif service.check_password(user_id, str(form.password.data)):
                sessions.succeed(keys[0])
                person = start_session(user_id)
                if person is not None:
                    if person.must_change:
                        flash(_("Choose your own password before you go on."), "info")
                        return redirect(url_for("me.index"))
                    return redirect(
                        safe_next(request.args.get("next"), url_for("me.index"))
                    )
                general.append(
                    _("Your account cannot be used yet. Ask your administrator.")
                )
                status = 403
            else:
                sessions.fail(*keys)
                form.password.errors.append(
                    _("The user ID or the password is wrong. Check them and try again.")
                )
                status = 401
    return (
        render_template("auth/login.html", form=form, general_errors=general),
        status,
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    """End the session on the server and in the browser."""
    if isinstance(current_user, SignedIn):
        current_sessions().close(current_user.token)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["GET"])
def language() -> ResponseReturnValue:
    """Remember the reader's language in a cookie (a preference, not a record)."""
    chosen = request.args.get("lang", "")
    target = safe_next(request.args.get("next"), url_for("auth.login"))
    response = make_response(redirect(target))
    if chosen in LOCALES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure or bool(current_app.config["QMS_HTTPS"]),
        )
    return response
