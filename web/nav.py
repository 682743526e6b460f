"""The main navigation: one link per area the application has, the current one marked."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request, url_for
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_login import current_user

# (endpoint, label, who sees it: None for every signed-in person, else the roles)
AREAS: tuple[tuple[str, LazyString, frozenset[str] | None], ...] = (
    ("dashboard.index", _l("Dashboard"), None),
    ("documents.register", _l("Documents"), None),
    ("audits.register", _l("Audits"), None),
    ("findings.register", _l("Findings"), None),
    ("indicators.register", _l("Indicators"), None),
    ("reviews.register", _l("Management reviews"), None),
    ("reports.status", _l("Status report"), None),
    ("certifier.home", _l("Certification"), frozenset({"certifier", "admin"})),
    ("admin.index", _l("Administration"), frozenset({"admin"})),
)


@dataclass(frozen=True, slots=True)
class NavItem:
    """A link of the main navigation."""

    url: str
    label: str
    current: bool


def nav_items() -> list[NavItem]:
    """The areas the signed-in person may open, the one of this page marked current."""
    if not current_user.is_authenticated:
        return []
    roles = {role for role, _ in getattr(current_user, "roles", ())}
    here = request.blueprint
    items = []
    for endpoint, label, allowed in AREAS:
        if endpoint not in current_app.view_functions:
            continue
        if allowed is not None and not allowed & roles:
            continue
        items.append(
            NavItem(
                url=url_for(endpoint),
                label=str(label),
                current=here is not None and endpoint.split(".", 1)[0] == here,
            )
        )
    return items


def init_nav(app: Flask) -> None:
    """Make `nav_items()` available to every template."""
    app.add_template_global(nav_items, "nav_items")
