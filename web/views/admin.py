"""Administration: the unit tree, the people, their roles and passwords, their sign-offs.

Administrators manage units, users and roles only; they never sign for anyone.
Every page reads as it stood at `?as_of=` too, read-only then (no form is shown),
and every record page ends with the record's history from the ledger.

A temporary password (typed by the administrator, or made here when left empty) is
shown once, on the answer to the form that set it, and never stored in the page
session; the person must choose their own before they can sign anything.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
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
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.exceptions import Forbidden
from wtforms.fields.choices import SelectChoice

from ledger.domain import Command
from ledger.domain import units as un
from ledger.domain import users as us
from projections import queries as q
from projections.errors import RecordNotFoundError
from web import history_words as hw
from web.as_of import AsOf, read_as_of
from web.auth import SignedIn, login_required
from web.commands import CommandForm, conflict_page, record
from web.forms import RevokeTokenForm
from web.i18n import ROLE_NAMES, locale_code
from web.views import admin_actions as actions
from web.views import admin_forms as forms
from web.views.admin_tokens import tokens_of
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


def _reading() -> Reading:
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


def _history(stream: str, reading: Reading) -> q.RecordHistory | None:
    store = current_wiring().store
    try:
        return q.record_history(store.engine, store, stream, as_of=reading.moment)
    except RecordNotFoundError:
        return None


def _unit_choices(
    reading: Reading, *, exclude: str | None = None
) -> list[SelectChoice]:
    """The open units the administrator acts in, as form choices."""
    return forms.choices(
        (u.code, f"{u.code} · {unit_name(u)}")
        for u in reading.tree
        if not u.closed and u.code in reading.scope and u.code != exclude
    )


def _make_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


# ---------------------------------------------------------------- recording


def _act(
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
                _versioned_as_typed(form, stream)
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


def _versioned_as_typed(form: CommandForm, stream: str) -> None:
    """Give a creating form the version of the stream it names (the rules refuse a taken one)."""
    if not current_wiring().store.events_for_command(str(form.command_id.data)):
        form.version.data = str(current_wiring().store.stream_version(stream))


def _action_page(
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


# ---------------------------------------------------------------- units


@bp.route("", methods=["GET"])
@login_required
def index() -> ResponseReturnValue:
    """Administration starts at the unit tree."""
    return redirect(url_for("admin.units"))


@bp.route("/units", methods=["GET"])
@login_required
def units() -> ResponseReturnValue:
    """The unit tree."""
    reading = _reading()
    roots = [
        u for u in reading.tree if u.parent is None or u.parent not in reading.units
    ]
    return render_template(
        "admin/units.html",
        reading=reading,
        roots=roots,
        by_code=reading.units,
        can_create=reading.as_of is None and bool(_unit_choices(reading)),
    )


def _unit_or_404(reading: Reading, code: str) -> q.UnitView:
    unit = reading.units.get(code)
    if unit is None or code not in reading.scope:
        abort(404)
    return unit


@bp.route("/units/<code>", methods=["GET"])
@login_required
def unit(code: str) -> ResponseReturnValue:
    """One unit: its facts, what can be done, its history."""
    reading = _reading()
    found = _unit_or_404(reading, code)
    return render_template(
        "admin/unit.html",
        reading=reading,
        unit=found,
        by_code=reading.units,
        actions=actions.unit_actions(found, reading.scope)
        if reading.as_of is None
        else (),
        can_create=reading.as_of is None
        and actions.can_create_under(found, reading.scope),
        people=list(
            q.user_list(
                current_wiring().store.engine,
                current_wiring().store,
                unit=code,
                subtree=False,
                as_of=reading.moment,
            )
        ),
        history=_history(f"unit/{code}", reading),
    )


@bp.route("/units/new", methods=["GET", "POST"])
@login_required
def create_unit() -> ResponseReturnValue:
    """Create a unit under a parent."""
    reading = _reading()
    form = forms.CreateUnitForm()
    form.parent.choices = _unit_choices(reading)
    if request.method == "GET" and request.args.get("parent"):
        form.parent.data = request.args.get("parent")
    code = str(form.code.data or "").strip()
    back = url_for("admin.unit", code=code) if code else url_for("admin.units")

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Create a unit"),
            submit=_("Create the unit"),
            back=url_for("admin.units"),
            general=general,
        )

    return _act(
        reading,
        f"unit/{code}",
        form,
        lambda: un.CreateUnit(
            code=code,
            name_zh=str(form.name_zh.data).strip(),
            name_en=str(form.name_en.data).strip(),
            kind=str(form.kind.data),
            parent=str(form.parent.data),
        ),
        done=_("Unit %(code)s has been created.", code=code),
        back=back,
        page=page,
        creating=True,
    )


def _unit_action(code: str, action: str) -> tuple[Reading, q.UnitView]:
    reading = _reading()
    found = _unit_or_404(reading, code)
    if reading.as_of is None and action not in actions.unit_actions(
        found, reading.scope
    ):
        flash(
            _("Unit %(code)s is closed down: it takes no more changes.", code=code),
            "info",
        )
        abort(redirect(url_for("admin.unit", code=code)))
    return reading, found


@bp.route("/units/<code>/rename", methods=["GET", "POST"])
@login_required
def rename_unit(code: str) -> ResponseReturnValue:
    """Rename a unit, with a reason."""
    reading, found = _unit_action(code, "rename")
    form = forms.RenameUnitForm()
    if request.method == "GET":
        form.name_zh.data = found.name_zh
        form.name_en.data = found.name_en
    back = url_for("admin.unit", code=code)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Rename unit %(code)s", code=code),
            submit=_("Rename the unit"),
            back=back,
            general=general,
            facts=[(_("Current name"), f"{found.name_zh} / {found.name_en}")],
        )

    return _act(
        reading,
        f"unit/{code}",
        form,
        lambda: un.RenameUnit(
            code=code,
            name_zh=str(form.name_zh.data).strip(),
            name_en=str(form.name_en.data).strip(),
            reason=str(form.reason.data),
        ),
        done=_("Unit %(code)s has been renamed.", code=code),
        back=back,
        page=page,
    )


@bp.route("/units/<code>/close", methods=["GET", "POST"])
@login_required
def close_unit(code: str) -> ResponseReturnValue:
    """Close a unit, with a reason."""
    reading, found = _unit_action(code, "close")
    form = forms.CloseUnitForm()
    back = url_for("admin.unit", code=code)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Close unit %(code)s", code=code),
            submit=_("Close the unit"),
            back=back,
            general=general,
            facts=[(_("Unit"), f"{found.code} · {unit_name(found)}")],
            notice=_(
                "A closed unit keeps its records and history, but takes no new "
                "records, people or roles."
            ),
        )

    return _act(
        reading,
        f"unit/{code}",
        form,
        lambda: un.CloseUnit(code=code, reason=str(form.reason.data)),
        done=_("Unit %(code)s has been closed.", code=code),
        back=back,
        page=page,
    )


# ---------------------------------------------------------------- users


def _visible_users(reading: Reading) -> list[q.UserView]:
    store = current_wiring().store
    everyone = q.user_list(store.engine, store, as_of=reading.moment)
    return [u for u in everyone if u.unit in reading.scope]


def _matches(
    user: q.UserView, words: Sequence[str], units: Mapping[str, q.UnitView]
) -> bool:
    text = " ".join(
        [
            user.user_id,
            user.name,
            user.email,
            user.unit,
            unit_name(units.get(user.unit)),
        ]
    ).casefold()
    return all(w.casefold() in text for w in words)


@bp.route("/users", methods=["GET"])
@login_required
def users() -> ResponseReturnValue:
    """The people: search, pages, CSV of what is shown."""
    reading = _reading()
    search = request.args.get("search", "").strip()
    page_error = None
    asked = request.args.get("page", "1")
    page_no = int(asked) if asked.isdigit() and len(asked) < 10 else 0
    if page_no < 1:
        page_no, page_error = 1, _("Enter a page number of 1 or more")
    search_error = (
        _("Enter at most %(n)d characters", n=q.SEARCH_MAX)
        if len(search) > q.SEARCH_MAX
        else None
    )
    words = () if search_error else tuple(dict.fromkeys(search.split()))
    sort = request.args.get("sort", "user_id")
    descending = request.args.get("desc") == "1"
    sort_error = None
    if sort not in USER_SORTS:
        sort, sort_error = "user_id", _("Choose a column to sort by from the table")
    found = sorted(
        (u for u in _visible_users(reading) if _matches(u, words, reading.units)),
        key=lambda u: (USER_SORTS[sort](u), u.user_id),
        reverse=descending,
    )
    if request.args.get("format") == "csv":
        return _users_csv(found, reading)
    asked_size = request.args.get("per_page", str(PER_PAGE))
    size = int(asked_size) if asked_size.isdigit() and len(asked_size) < 4 else 0
    if not 1 <= size <= q.PER_PAGE_MAX:
        size = PER_PAGE
        page_error = page_error or _("Show 1 to %(n)d people a page", n=q.PER_PAGE_MAX)
    pages = max(1, -(-len(found) // size))
    if page_no > pages and not page_error:
        page_error = ngettext("There is %(num)d page", "There are %(num)d pages", pages)
        page_no = pages
    first = (page_no - 1) * size
    return (
        render_template(
            "admin/users.html",
            reading=reading,
            people=found[first : first + size],
            per_page=size if size != PER_PAGE else None,
            total=len(found),
            first_index=first + 1,
            page_no=page_no,
            pages=pages,
            search=search,
            search_error=search_error,
            page_error=page_error or sort_error,
            sort=sort,
            descending=descending,
            by_code=reading.units,
            can_register=reading.as_of is None,
        ),
        400 if search_error or page_error or sort_error else 200,
    )


USER_SORTS: Mapping[str, Callable[[q.UserView], tuple[object, ...]]] = {
    "user_id": lambda u: (u.user_id,),
    "name": lambda u: (u.name,),
    "unit": lambda u: (u.unit,),
    "status": lambda u: (not u.active,),
}


def _users_csv(found: Sequence[q.UserView], reading: Reading) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("User ID"),
            _("Name"),
            _("Unit"),
            _("Email address"),
            _("Status"),
            _("Roles"),
        ]
    )
    for u in found:
        writer.writerow(
            [
                u.user_id,
                u.name,
                u.unit,
                u.email,
                _("Active") if u.active else _("Deactivated"),
                "; ".join(
                    f"{ROLE_NAMES.get(r.role, r.role)} {r.scope}" for r in u.roles
                ),
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=users.csv"},
    )


def _user_or_404(reading: Reading, user_id: str) -> q.UserView:
    store = current_wiring().store
    try:
        found = q.user(store.engine, store, user_id, as_of=reading.moment)
    except RecordNotFoundError:
        abort(404)
    if found.unit not in reading.scope:
        abort(404)
    return found


@bp.route("/users/<user_id>", methods=["GET"])
@login_required
def user(user_id: str) -> ResponseReturnValue:
    """One person: facts, roles, what can be done, history."""
    reading = _reading()
    found = _user_or_404(reading, user_id)
    return render_template(
        "admin/user.html",
        reading=reading,
        user=found,
        by_code=reading.units,
        actions=actions.user_actions(found, reading.scope)
        if reading.as_of is None
        else (),
        history=_history(f"user/{user_id}", reading),
        tokens=tokens_of(user_id),
        revoke_form=RevokeTokenForm(),
        now=current_wiring().clock.now().timestamp(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def register_user() -> ResponseReturnValue:
    """Register a person; their temporary password is shown once, on the answer."""
    reading = _reading()
    if reading.as_of is not None:
        return redirect(url_for("admin.users"))
    form = forms.RegisterUserForm()
    form.unit.choices = _unit_choices(reading)
    back = url_for("admin.users")

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Register a person"),
            submit=_("Register the person"),
            back=back,
            general=general,
            notice=_(
                "The person signs in with the temporary password and must choose "
                "their own before they can sign anything."
            ),
        )

    if request.method == "GET":
        form.stamp(0)
        return page([])
    if not form.validate_on_submit():
        return page([]), 422
    user_id = str(form.user_id.data).strip()
    store = current_wiring().store
    if store.events_for_command(str(form.command_id.data)):
        flash(_("This form was sent already: the person is registered."), "info")
        return redirect(url_for("admin.user", user_id=user_id))
    password = str(form.temporary_password.data or "") or _make_password()
    _versioned_as_typed(form, f"user/{user_id}")
    outcome = record(
        form,
        us.RegisterUser(
            user_id=user_id,
            name=str(form.name.data).strip(),
            unit=str(form.unit.data),
            email=str(form.email.data).strip(),
            temporary_password=password,
        ),
        reading.person.user_id,
    )
    if outcome.conflict:
        return conflict_page(f"user/{user_id}", form.seen_version, request.path)
    if not outcome.ok:
        return page(outcome.general), 422
    return _password_shown(
        user_id,
        password,
        _(
            "%(name)s (%(user_id)s) has been registered.",
            name=str(form.name.data).strip(),
            user_id=user_id,
        ),
    )


def _password_shown(
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


def _user_action(user_id: str, action: str) -> tuple[Reading, q.UserView]:
    reading = _reading()
    found = _user_or_404(reading, user_id)
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


def _person_facts(found: q.UserView, reading: Reading) -> list[tuple[str, str]]:
    return [
        (_("Person"), f"{found.name} ({found.user_id})"),
        (
            _("Unit"),
            f"{found.unit} · {unit_name(reading.units.get(found.unit), found.unit)}",
        ),
    ]


@bp.route("/users/<user_id>/grant", methods=["GET", "POST"])
@login_required
def grant_role(user_id: str) -> ResponseReturnValue:
    """Grant a role for a scope unit."""
    reading, found = _user_action(user_id, "grant")
    form = forms.GrantRoleForm()
    form.role.choices = forms.choices((r, str(ROLE_NAMES.get(r, r))) for r in us.ROLES)
    form.scope.choices = _unit_choices(reading)
    if request.method == "GET":
        form.scope.data = found.unit
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Grant a role to %(name)s", name=found.name),
            submit=_("Grant the role"),
            back=back,
            general=general,
            facts=_person_facts(found, reading),
        )

    return _act(
        reading,
        f"user/{user_id}",
        form,
        lambda: us.GrantRole(
            user_id=user_id, role=str(form.role.data), scope=str(form.scope.data)
        ),
        done=_("The role has been granted."),
        back=back,
        page=page,
    )


@bp.route("/users/<user_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_role(user_id: str) -> ResponseReturnValue:
    """Revoke a role the person holds, with a reason."""
    reading, found = _user_action(user_id, "revoke")
    form = forms.RevokeRoleForm()
    form.held.choices = forms.choices(
        (f"{r.role}@{r.scope}", f"{ROLE_NAMES.get(r.role, r.role)} · {r.scope}")
        for r in found.roles
    )
    if request.method == "GET" and request.args.get("held"):
        form.held.data = request.args.get("held")
    role, _sep, scope = str(form.held.data or "").partition("@")
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Revoke a role of %(name)s", name=found.name),
            submit=_("Revoke the role"),
            back=back,
            general=general,
            facts=_person_facts(found, reading),
        )

    return _act(
        reading,
        f"user/{user_id}",
        form,
        lambda: us.RevokeRole(
            user_id=user_id, role=role, scope=scope, reason=str(form.reason.data)
        ),
        done=_("The role has been revoked."),
        back=back,
        page=page,
        fields={"role": "held", "scope": "held"},
    )


@bp.route("/users/<user_id>/move", methods=["GET", "POST"])
@login_required
def move_user(user_id: str) -> ResponseReturnValue:
    """Move the person to another unit, with a reason."""
    reading, found = _user_action(user_id, "move")
    form = forms.MoveUserForm()
    form.unit.choices = _unit_choices(reading, exclude=found.unit)
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Move %(name)s to another unit", name=found.name),
            submit=_("Move the person"),
            back=back,
            general=general,
            facts=_person_facts(found, reading),
            notice=_(
                "The person's roles stay as they are; revoke or grant roles separately."
            ),
        )

    return _act(
        reading,
        f"user/{user_id}",
        form,
        lambda: us.MoveUser(
            user_id=user_id, unit=str(form.unit.data), reason=str(form.reason.data)
        ),
        done=_("%(name)s has been moved.", name=found.name),
        back=back,
        page=page,
    )


@bp.route("/users/<user_id>/deactivate", methods=["GET", "POST"])
@login_required
def deactivate_user(user_id: str) -> ResponseReturnValue:
    """Deactivate the person, with a reason."""
    reading, found = _user_action(user_id, "deactivate")
    form = forms.DeactivateUserForm()
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Deactivate %(name)s", name=found.name),
            submit=_("Deactivate the person"),
            back=back,
            general=general,
            facts=_person_facts(found, reading),
            notice=_(
                "A deactivated person can no longer sign in or sign. Their records "
                "and signatures stay in the ledger. This cannot be undone."
            ),
        )

    return _act(
        reading,
        f"user/{user_id}",
        form,
        lambda: us.DeactivateUser(user_id=user_id, reason=str(form.reason.data)),
        done=_("%(name)s has been deactivated.", name=found.name),
        back=back,
        page=page,
    )


@bp.route("/users/<user_id>/reset", methods=["GET", "POST"])
@login_required
def reset_password(user_id: str) -> ResponseReturnValue:
    """Reset the person's password to a temporary one, shown once."""
    reading, found = _user_action(user_id, "reset")
    form = forms.ResetPasswordForm()
    back = url_for("admin.user", user_id=user_id)
    stream = f"user/{user_id}"
    if reading.as_of is not None:
        return redirect(back)

    def page(general: list[str]) -> str:
        return _action_page(
            form,
            title=_("Reset the password of %(name)s", name=found.name),
            submit=_("Reset the password"),
            back=back,
            general=general,
            facts=_person_facts(found, reading),
            notice=_(
                "The old password stops working at once. The person signs in with "
                "the temporary password and must choose their own before they can "
                "sign anything; their earlier signatures stay valid."
            ),
        )

    if request.method == "GET":
        form.stamp(current_wiring().store.stream_version(stream))
        return page([])
    if not form.validate_on_submit():
        return page([]), 422
    if current_wiring().store.events_for_command(str(form.command_id.data)):
        flash(_("This form was sent already: the password has been reset."), "info")
        return redirect(back)
    password = str(form.temporary_password.data or "") or _make_password()
    outcome = record(
        form,
        us.ResetPassword(user_id=user_id, temporary_password=password),
        reading.person.user_id,
    )
    if outcome.conflict:
        return conflict_page(stream, form.seen_version, request.path)
    if not outcome.ok:
        return page(outcome.general), 422
    return _password_shown(
        user_id,
        password,
        _("The password of %(name)s has been reset.", name=found.name),
    )


# The record pages of the other areas, by the kind of stream: endpoint, argument.
RECORD_PAGES: Mapping[str, tuple[str, str]] = {
    "document": ("documents.show", "doc_id"),
    "audit": ("audits.show", "audit_id"),
    "finding": ("findings.show", "finding_id"),
}


def _record_link(stream: str, reading: Reading) -> str | None:
    """The page of the record a signature is on, where the application has one."""
    kind, _sep, ident = stream.partition("/")
    page = RECORD_PAGES.get(kind)
    if page is None or page[0] not in current_app.view_functions:
        return None
    values: dict[str, Any] = {page[1]: ident}
    if reading.as_of:
        values["as_of"] = reading.as_of.text
    return url_for(page[0], **values)


@bp.route("/users/<user_id>/signoffs", methods=["GET"])
@login_required
def signoffs(user_id: str) -> ResponseReturnValue:
    """Every e-signature the person made: record, meaning, time, ledger seq."""
    reading = _reading()
    found = _user_or_404(reading, user_id)
    store = current_wiring().store
    found_signoffs = q.signoffs(store, user_id, as_of=reading.moment)
    return render_template(
        "admin/signoffs.html",
        reading=reading,
        user=found,
        signoffs=[(s, _record_link(s.stream, reading)) for s in found_signoffs],
        meaning_names=MEANING_NAMES,
        record_kinds=RECORD_KINDS,
    )
