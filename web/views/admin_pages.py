"""The administration blueprint and what its pages share.

`bp` is the administration blueprint; `web.views.admin` (the people register and
a person's pages) is its front door and imports the other administration modules
so that their routes are on it. Here: the reading (the unit tree and the
administrator's scope, as of a moment), a record's history, recording a command
from an action page, and finding a person within the scope.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import Forbidden
from wtforms.fields.choices import SelectChoice

from ledger.domain import Command
from projections import queries as q
from projections.errors import RecordNotFoundError
from web import history_words as hw
from web.as_of import AsOf, read_as_of
from web.auth import SignedIn
from web.commands import CommandForm, conflict_page, record
from web.i18n import locale_code
from web.views import admin_actions as actions
from web.views import admin_forms as forms
from web.wiring import current_wiring

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 25
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105  # the letters of a made password, no secret
PASSWORD_LENGTH = 12

MEANING_NAMES: Mapping[str, str] = {"approved": _l("Approval")}
RECORD_KINDS: Mapping[str, str] = {
    "document": _l("Document"),
    "audit": _l("Audit"),
    "finding": _l("Finding"),
    "indicator": _l("Indicator"),
    "review": _l("Management review"),
    "unit": _l("Unit"),
    "user": _l("Person"),
}


@dataclass(frozen=True, slots=True)
class Reading:
    """What every administration page reads first: who, as of when, the tree, the scope."""

    person: SignedIn
    as_of: AsOf | None
    as_of_error: str | None
    tree: Sequence[q.UnitView]
    scope: frozenset[str]

    @property
    def moment(self) -> datetime | None:
        """The moment the page reads at (None: now)."""
        return self.as_of.moment if self.as_of else None

    @property
    def units(self) -> Mapping[str, q.UnitView]:
        return {u.code: u for u in self.tree}


def admin_reading() -> Reading:
    """The person (an administrator, else 403), the as-of moment, the unit tree."""
    person = current_user
    if not isinstance(person, SignedIn):  # pragma: no cover - login_required
        raise Forbidden()
    store = current_wiring().store
    now_tree = q.unit_tree(store.engine, store)
    scope = actions.admin_scope(person.roles, now_tree)
    if not scope:
        raise Forbidden()
    as_of, error = read_as_of()
    tree = (
        now_tree
        if as_of is None
        else q.unit_tree(store.engine, store, as_of=as_of.moment)
    )
    return Reading(person, as_of, error, tree, scope)


def unit_name(unit: q.UnitView | None, code: str = "") -> str:
    """A unit's name in the reader's language (its code when unknown)."""
    if unit is None:
        return code
    return unit.name_zh if locale_code() == "zh_CN" else unit.name_en


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "admin_kind_names": hw.UNIT_KINDS,
        "admin_unit_name": unit_name,
    }


def history(stream: str, reading: Reading) -> q.RecordHistory | None:
    store = current_wiring().store
    try:
        return q.record_history(store.engine, store, stream, as_of=reading.moment)
    except RecordNotFoundError:
        return None


def unit_choices(reading: Reading, *, exclude: str | None = None) -> list[SelectChoice]:
    """The open units the administrator acts in, as form choices."""
    return forms.choices(
        (u.code, f"{u.code} · {unit_name(u)}")
        for u in reading.tree
        if not u.closed and u.code in reading.scope and u.code != exclude
    )


def make_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


# ---------------------------------------------------------------- recording


def act(
    reading: Reading,
    stream: str,
    form: CommandForm,
    command: Callable[[], Command],
    *,
    done: str,
    back: str,
    page: Callable[[list[str]], str],
    fields: Mapping[str, str] | None = None,
    creating: bool = False,
) -> ResponseReturnValue:
    """Show `form` (GET), or record its command (POST) and redirect to `back`.

    A form that creates a record names its stream as typed: the record rules, not
    a version conflict, say that the code is taken.
    """
    if reading.as_of is not None:
        return redirect(back)
    if request.method == "POST":
        if form.validate_on_submit():
            if creating:
                versioned_as_typed(form, stream)
            outcome = record(form, command(), reading.person.user_id, fields=fields)
            if outcome.ok:
                flash(done, "success")
                return redirect(back)
            if outcome.conflict:
                return conflict_page(stream, form.seen_version, request.path)
            return page(outcome.general), 422
        return page([]), 422
    form.stamp(current_wiring().store.stream_version(stream))
    return page([])


def versioned_as_typed(form: CommandForm, stream: str) -> None:
    """Give a creating form the version of the stream it names (the rules refuse a taken one)."""
    if not current_wiring().store.events_for_command(str(form.command_id.data)):
        form.version.data = str(current_wiring().store.stream_version(stream))


def record_page(
    template: str,
    reading: Reading,
    stream: str,
    offered: Sequence[str],
    **values: Any,
) -> str:
    """A unit's or a person's page: the facts, the actions offered now, the history.

    Read as of a moment, nothing is offered: the past is read, never written.
    """
    return render_template(
        template,
        reading=reading,
        by_code=reading.units,
        actions=offered if reading.as_of is None else (),
        history=history(stream, reading),
        **values,
    )


def action_page(
    form: CommandForm,
    *,
    title: str,
    submit: str,
    back: str,
    general: list[str],
    facts: Sequence[tuple[str, str]] = (),
    notice: str | None = None,
) -> str:
    return render_template(
        "admin/action.html",
        form=form,
        title=title,
        submit=submit,
        back=back,
        general=general,
        facts=facts,
        notice=notice,
    )


def user_or_404(reading: Reading, user_id: str) -> q.UserView:
    store = current_wiring().store
    try:
        found = q.user(store.engine, store, user_id, as_of=reading.moment)
    except RecordNotFoundError:
        abort(404)
    if found.unit not in reading.scope:
        abort(404)
    return found


def password_shown(
    user_id: str, password: str, confirmation: str
) -> ResponseReturnValue:
    response = Response(
        render_template(
            "admin/password.html",
            user_id=user_id,
            password=password,
            confirmation=confirmation,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def user_action(user_id: str, action: str) -> tuple[Reading, q.UserView]:
    reading = admin_reading()
    found = user_or_404(reading, user_id)
    if reading.as_of is None and action not in actions.user_actions(
        found, reading.scope
    ):
        flash(
            _(
                "%(name)s is deactivated: their record takes no more changes.",
                name=found.name,
            )
            if not found.active
            else _("This cannot be done for %(name)s now.", name=found.name),
            "info",
        )
        abort(redirect(url_for("admin.user", user_id=user_id)))
    return reading, found


def person_facts(found: q.UserView, reading: Reading) -> list[tuple[str, str]]:
    return [
        (_("Person"), f"{found.name} ({found.user_id})"),
        (
            _("Unit"),
            f"{found.unit} · {unit_name(reading.units.get(found.unit), found.unit)}",
        ),
    ]
