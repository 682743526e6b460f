"""The unit tree of the current request: read from the read models once per request.

A page asks about units many times (the person's unit name, the units their roles
cover, the unit filter's choices, the scope of what they may read); each answer
comes from the same tree as known at the same moment, so the tree is read once per
request and moment, not once per question.
"""

from __future__ import annotations

from datetime import datetime

from flask import g

from projections import queries as q
from web.wiring import current_wiring


def unit_tree(as_of: datetime | None = None) -> list[q.UnitView]:
    """Return every unit as known at `as_of` (None: now), read once per request."""
    trees: dict[datetime | None, list[q.UnitView]] = g.setdefault("qms_unit_trees", {})
    tree = trees.get(as_of)
    if tree is None:
        store = current_wiring().store
        tree = q.unit_tree(store.engine, store, as_of=as_of)
        trees[as_of] = tree
    return tree


def unit_subtree(unit: str, as_of: datetime | None = None) -> list[str]:
    """Return the codes of `unit` and every unit below it as known at `as_of`, sorted."""
    return q.subtree_codes(unit_tree(as_of), unit)
