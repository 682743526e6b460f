"""Which records a person may read: the one rule every record page, register and export uses.

A person reads the records of their own unit and of every unit one of their roles
is held for; a role that reaches a subtree (`SUBTREE_ROLES`: managers, auditors,
administrators) and the certifier's read-only role reach the units below their
scope too, and an administrator reads every unit. Controlled documents issued by a
unit above (headquarters for a bureau) are meant for the units below it: their
effective documents are read there too. Another unit's record is not there for
the person: its page answers 404, a register leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import abort, g

from ledger.domain.permissions import SUBTREE_ROLES
from projections import queries as q
from web.auth import SignedIn
from web.units import unit_tree

# Roles whose reading covers their scope unit's whole subtree.
READ_SUBTREE_ROLES = SUBTREE_ROLES | {"certifier"}


@dataclass(frozen=True, slots=True)
class ReadScope:
    """The units whose records one person reads.

    `units` are the units read in full; `every` says they are all the agency's
    units; `above` are the units over them whose effective documents are read.
    """

    units: frozenset[str]
    every: bool
    above: frozenset[str]

    def reads(self, unit: str) -> bool:
        """Whether the person reads the records of `unit`."""
        return self.every or unit in self.units

    def reads_document(self, doc: q.DocumentView) -> bool:
        """Whether the person reads the document `doc` (as it stands or stood)."""
        return self.reads(doc.unit) or (
            doc.unit in self.above and doc.effective_revision is not None
        )

    @property
    def within(self) -> frozenset[str] | None:
        """The units a register is limited to (None: every unit)."""
        return None if self.every else self.units


def _scope_of(person: SignedIn) -> ReadScope:
    tree = unit_tree()
    if any(role == "admin" for role, _scope in person.roles):
        return ReadScope(frozenset(u.code for u in tree), True, frozenset())
    by_code = {u.code: u for u in tree}
    units: set[str] = {person.unit}
    for role, scope in person.roles:
        if role in READ_SUBTREE_ROLES:
            seen: set[str] = set()
            todo = [scope]
            while todo:
                code = todo.pop()
                if code in seen:
                    continue
                seen.add(code)
                todo.extend(by_code[code].children if code in by_code else ())
            units |= seen
        else:
            units.add(scope)
    above: set[str] = set()
    for code in units:
        parent = by_code[code].parent if code in by_code else None
        while parent is not None and parent not in above:
            above.add(parent)
            parent = by_code[parent].parent if parent in by_code else None
    every = set(by_code) <= units
    return ReadScope(frozenset(units), every, frozenset(above - units))


def read_scope(person: SignedIn) -> ReadScope:
    """The units `person` reads (worked out once per request)."""
    cached: dict[str, ReadScope] = g.setdefault("qms_read_scopes", {})
    key = f"{person.user_id}\n{person.unit}\n{sorted(person.roles)}"
    if key not in cached:
        cached[key] = _scope_of(person)
    return cached[key]


def require_unit(person: SignedIn, unit: str) -> None:
    """Answer 404 unless `person` reads the records of `unit`."""
    if not read_scope(person).reads(unit):
        abort(404)


def require_document(person: SignedIn, doc: q.DocumentView) -> None:
    """Answer 404 unless `person` reads the document `doc`."""
    if not read_scope(person).reads_document(doc):
        abort(404)


def readable(person: SignedIn, units: Iterable[str]) -> list[str]:
    """The codes among `units` whose records `person` reads, in order."""
    scope = read_scope(person)
    return [code for code in units if scope.reads(code)]
