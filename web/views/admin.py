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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from ledger.domain import users as us
from projections import queries as q
from web.auth import login_required
from web.commands import conflict_page, record
from web.forms import RevokeTokenForm
from web.i18n import ROLE_NAMES
from web.views import admin_actions as actions
from web.views import admin_forms as forms
from web.views import admin_person_steps, admin_units  # noqa: F401  # their routes join bp
from web.views.admin_pages import (
    MEANING_NAMES,
    PER_PAGE,
    RECORD_KINDS,
    Reading,
    action_page,
    admin_reading,
    make_password,
    password_shown,
    record_page,
    unit_choices,
    unit_name,
    user_or_404,
    versioned_as_typed,
)
from web.views.admin_pages import bp as bp
from web.views.admin_tokens import tokens_of
from web.wiring import current_wiring

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
    reading = admin_reading()
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


@bp.route("/users/<user_id>", methods=["GET"])
@login_required
def user(user_id: str) -> ResponseReturnValue:
    """One person: facts, roles, what can be done, history."""
    reading = admin_reading()
    found = user_or_404(reading, user_id)
    return record_page(
        "admin/user.html",
        reading,
        f"user/{user_id}",
        actions.user_actions(found, reading.scope),
        user=found,
        tokens=tokens_of(user_id),
        revoke_form=RevokeTokenForm(),
        now=current_wiring().clock.now().timestamp(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def register_user() -> ResponseReturnValue:
    """Register a person; their temporary password is shown once, on the answer."""
    reading = admin_reading()
    if reading.as_of is not None:
        return redirect(url_for("admin.users"))
    form = forms.RegisterUserForm()
    form.unit.choices = unit_choices(reading)
    back = url_for("admin.users")

    def page(general: list[str]) -> str:
        return action_page(
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
    password = str(form.temporary_password.data or "") or make_password()
    versioned_as_typed(form, f"user/{user_id}")
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
    return password_shown(
        user_id,
        password,
        _(
            "%(name)s (%(user_id)s) has been registered.",
            name=str(form.name.data).strip(),
            user_id=user_id,
        ),
    )


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
    reading = admin_reading()
    found = user_or_404(reading, user_id)
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
