"""The actions on a person: grant and revoke a role, move, deactivate, reset the password.

Each is a page of its own with the person's facts above its form; what may be done
now is `web.views.admin_actions`.
"""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ledger.domain import users as us
from web.auth import login_required
from web.commands import conflict_page, record
from web.i18n import ROLE_NAMES
from web.views import admin_forms as forms
from web.views.admin_pages import (
    act,
    action_page,
    bp,
    make_password,
    password_shown,
    person_facts,
    unit_choices,
    user_action,
)
from web.wiring import current_wiring


@bp.route("/users/<user_id>/grant", methods=["GET", "POST"])
@login_required
def grant_role(user_id: str) -> ResponseReturnValue:
    """Grant a role for a scope unit."""
    reading, found = user_action(user_id, "grant")
    form = forms.GrantRoleForm()
    form.role.choices = forms.choices((r, str(ROLE_NAMES.get(r, r))) for r in us.ROLES)
    form.scope.choices = unit_choices(reading)
    if request.method == "GET":
        form.scope.data = found.unit
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return action_page(
            form,
            title=_("Grant a role to %(name)s", name=found.name),
            submit=_("Grant the role"),
            back=back,
            general=general,
            facts=person_facts(found, reading),
        )

    return act(
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
    reading, found = user_action(user_id, "revoke")
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
        return action_page(
            form,
            title=_("Revoke a role of %(name)s", name=found.name),
            submit=_("Revoke the role"),
            back=back,
            general=general,
            facts=person_facts(found, reading),
        )

    return act(
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
    reading, found = user_action(user_id, "move")
    form = forms.MoveUserForm()
    form.unit.choices = unit_choices(reading, exclude=found.unit)
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return action_page(
            form,
            title=_("Move %(name)s to another unit", name=found.name),
            submit=_("Move the person"),
            back=back,
            general=general,
            facts=person_facts(found, reading),
            notice=_(
                "The person's roles stay as they are; revoke or grant roles separately."
            ),
        )

    return act(
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
    reading, found = user_action(user_id, "deactivate")
    form = forms.DeactivateUserForm()
    back = url_for("admin.user", user_id=user_id)

    def page(general: list[str]) -> str:
        return action_page(
            form,
            title=_("Deactivate %(name)s", name=found.name),
            submit=_("Deactivate the person"),
            back=back,
            general=general,
            facts=person_facts(found, reading),
            notice=_(
                "A deactivated person can no longer sign in or sign. Their records "
                "and signatures stay in the ledger. This cannot be undone."
            ),
        )

    return act(
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
    reading, found = user_action(user_id, "reset")
    form = forms.ResetPasswordForm()
    back = url_for("admin.user", user_id=user_id)
    stream = f"user/{user_id}"
    if reading.as_of is not None:
        return redirect(back)

    def page(general: list[str]) -> str:
        return action_page(
            form,
            title=_("Reset the password of %(name)s", name=found.name),
            submit=_("Reset the password"),
            back=back,
            general=general,
            facts=person_facts(found, reading),
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
    password = str(form.temporary_password.data or "") or make_password()
    outcome = record(
        form,
        us.ResetPassword(user_id=user_id, temporary_password=password),
        reading.person.user_id,
    )
    if outcome.conflict:
        return conflict_page(stream, form.seen_version, request.path)
    if not outcome.ok:
        return page(outcome.general), 422
    return password_shown(
        user_id,
        password,
        _("The password of %(name)s has been reset.", name=found.name),
    )
