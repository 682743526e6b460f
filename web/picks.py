"""The values a person may pick in a form, offered as lists instead of typed codes.

A form that names a unit, a person or an audit offers the ones this person may pick:
the units their role covers, the active people holding the role the record needs in
those units, the audits of those units. The field (`SelectField` with these choices)
refuses any other value with its own message, so nothing is stored from a value that
was not offered. Long lists (documents, the team of an audit) stay typed and are
checked by the service.
"""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice

from ledger.domain.permissions import SUBTREE_ROLES
from projections import queries as q
from web.i18n import locale_code
from web.units import unit_tree
from web.wiring import current_wiring


def unit_picks(units: Iterable[str]) -> list[SelectChoice]:
    """The units `units` as choices, each with its name in the reader's language."""
    zh = locale_code() == "zh_CN"
    names = {
        u.code: (u.name_zh if zh else u.name_en) for u in unit_tree() if not u.closed
    }
    return [
        SelectChoice(code, f"{code} {names[code]}".strip())
        for code in sorted(units)
        if code in names
    ]


def _holders(role: str) -> list[tuple[q.UserView, set[str]]]:
    """The active people holding `role`, each with the units it covers for them."""
    store = current_wiring().store
    below: dict[str, set[str]] = {}
    found: list[tuple[q.UserView, set[str]]] = []
    for user in q.user_list(store.engine, store):
        if not user.active:
            continue
        covered: set[str] = set()
        for held in user.roles:
            if held.role != role:
                continue
            if role in SUBTREE_ROLES:
                if held.scope not in below:
                    below[held.scope] = set(
                        q.unit_subtree(store.engine, store, held.scope)
                    )
                covered |= below[held.scope]
            else:
                covered.add(held.scope)
        if covered:
            found.append((user, covered))
    return found


def people_picks(
    role: str, units: Iterable[str]
) -> tuple[list[SelectChoice], dict[str, set[str]]]:
    """The active people holding `role` for one of `units` (a subtree role held above
    one of them counts), as choices "name (user ID, unit)", and who holds it for each
    of `units`."""
    wanted = set(units)
    choices: list[SelectChoice] = []
    by_unit: dict[str, set[str]] = {unit: set() for unit in wanted}
    for user, covered in _holders(role):
        if not covered & wanted:
            continue
        choices.append(
            SelectChoice(user.user_id, f"{user.name} ({user.user_id}, {user.unit})")
        )
        for unit in covered & wanted:
            by_unit[unit].add(user.user_id)
    return choices, by_unit


def audit_picks(units: Iterable[str]) -> tuple[list[SelectChoice], dict[str, str]]:
    """The audits of `units` not cancelled, newest programme first, as choices, and
    the unit of each."""
    store = current_wiring().store
    page = q.audit_page(
        store.engine,
        store,
        q.PageRequest(sort="programme", descending=True, per_page=None),
        within=frozenset(units),
    )
    kept = [a for a in page.items if a.status != "cancelled"]
    return (
        [
            SelectChoice(a.audit_id, f"{a.audit_id} · {a.unit} · {a.programme}")
            for a in kept
        ],
        {a.audit_id: a.unit for a in kept},
    )
