"""Administration of the unit tree: the tree, a unit's page, creating, renaming, closing."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from ledger.domain import units as un
from projections import queries as q
from web.auth import login_required
from web.views import admin_actions as actions
from web.views import admin_forms as forms
from web.views.admin_pages import (
    Reading,
    act,
    action_page,
    admin_reading,
    bp,
    record_page,
    unit_choices,
    unit_name,
)
from web.wiring import current_wiring

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
    reading = admin_reading()
    roots = [
        u for u in reading.tree if u.parent is None or u.parent not in reading.units
    ]
    return render_template(
        "admin/units.html",
        reading=reading,
        roots=roots,
        by_code=reading.units,
        can_create=reading.as_of is None and bool(unit_choices(reading)),
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
    reading = admin_reading()
    found = _unit_or_404(reading, code)
    return record_page(
        "admin/unit.html",
        reading,
        f"unit/{code}",
        actions.unit_actions(found, reading.scope),
        unit=found,
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
    )


@bp.route("/units/new", methods=["GET", "POST"])
@login_required
def create_unit() -> ResponseReturnValue:
    """Create a unit under a parent."""
    reading = admin_reading()
    form = forms.CreateUnitForm()
    form.parent.choices = unit_choices(reading)
    if request.method == "GET" and request.args.get("parent"):
        form.parent.data = request.args.get("parent")
    code = str(form.code.data or "").strip()
    back = url_for("admin.unit", code=code) if code else url_for("admin.units")

    def page(general: list[str]) -> str:
        return action_page(
            form,
            title=_("Create a unit"),
            submit=_("Create the unit"),
            back=url_for("admin.units"),
            general=general,
        )

    return act(
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
    reading = admin_reading()
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
        return action_page(
            form,
            title=_("Rename unit %(code)s", code=code),
            submit=_("Rename the unit"),
            back=back,
            general=general,
            facts=[(_("Current name"), f"{found.name_zh} / {found.name_en}")],
        )

    return act(
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
        return action_page(
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

    return act(
        reading,
        f"unit/{code}",
        form,
        lambda: un.CloseUnit(code=code, reason=str(form.reason.data)),
        done=_("Unit %(code)s has been closed.", code=code),
        back=back,
        page=page,
    )
