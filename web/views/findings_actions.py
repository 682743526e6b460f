"""What a person may do now on a finding or an audit, from its status and their roles.

The service decides in the end; these answers only choose which forms a page shows,
so that a person sees the steps open to them and no others. A role held for a unit
covers that unit, and a subtree role (`SUBTREE_ROLES`) every unit below it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.domain import Command
from ledger.domain import audits as a
from ledger.domain import findings as f
from ledger.domain.permissions import COMMAND_ROLES, SUBTREE_ROLES
from projections import queries as q
from web.auth import SignedIn
from web.reading import read_scope
from web.units import unit_subtree

OPEN_STATUSES = (
    "raised",
    "contained",
    "cause_analysed",
    "actions_planned",
    "actions_done",
    "verified",
)


def units_covered(person: SignedIn, roles: Iterable[str] | None = None) -> set[str]:
    """Return the units where `person` holds one of `roles` (None: any role)."""
    wanted = None if roles is None else set(roles)
    found: set[str] = set()
    for role, scope in person.roles:
        if wanted is not None and role not in wanted:
            continue
        if role in SUBTREE_ROLES:
            found |= set(unit_subtree(scope))
        else:
            found.add(scope)
    return found


def readable_units(person: SignedIn) -> set[str]:
    """Return the units whose findings and audits `person` may read (web.reading)."""
    return set(read_scope(person).units)


def may(person: SignedIn, command: type[Command], unit: str) -> bool:
    """Whether `person` holds a role for `command` (COMMAND_ROLES) covering `unit`."""
    roles = COMMAND_ROLES.get(command, ())
    return unit in units_covered(person, roles)


@dataclass(frozen=True, slots=True)
class FindingSteps:
    """The steps open to one person on one finding now."""

    contain: bool = False
    analyse: bool = False
    plan: bool = False
    complete: tuple[str, ...] = ()  # the action ids the person may record as done
    change_due: bool = False
    verify: bool = False
    close: bool = False
    reopen: bool = False

    @property
    def any(self) -> bool:
        """Whether the person may take any step."""
        return any(
            (
                self.contain,
                self.analyse,
                self.plan,
                self.complete,
                self.change_due,
                self.verify,
                self.close,
                self.reopen,
            )
        )


def finding_steps(person: SignedIn, finding: q.FindingView) -> FindingSteps:
    """Return the steps `person` may take on `finding` now."""
    unit, status = finding.unit, finding.status
    owners = {action.owner for action in finding.actions}
    independent = (
        person.user_id != finding.raised_by
        and person.user_id not in owners
        and person.unit != unit
    )
    return FindingSteps(
        contain=status == "raised" and may(person, f.ContainFinding, unit),
        analyse=status in ("contained", "cause_analysed")
        and may(person, f.AnalyseCause, unit),
        plan=status == "cause_analysed" and may(person, f.PlanActions, unit),
        complete=tuple(
            action.action_id
            for action in finding.actions
            if status == "actions_planned"
            and action.status != "done"
            and action.owner == person.user_id
            and may(person, f.CompleteAction, unit)
        ),
        change_due=status in OPEN_STATUSES and may(person, f.ChangeDueDate, unit),
        verify=status == "actions_done"
        and independent
        and may(person, f.VerifyEffectiveness, unit),
        close=status == "verified"
        and finding.verified_effective is True
        and may(person, f.CloseFinding, unit),
        reopen=status == "closed" and may(person, f.ReopenFinding, unit),
    )


def may_raise(person: SignedIn) -> bool:
    """Whether `person` may raise a finding in some unit."""
    return bool(units_covered(person, COMMAND_ROLES[f.RaiseFinding]))


@dataclass(frozen=True, slots=True)
class AuditSteps:
    """The steps open to one person on one audit now."""

    start: bool = False
    report: bool = False
    close: bool = False
    cancel: bool = False

    @property
    def any(self) -> bool:
        """Whether the person may take any step."""
        return self.start or self.report or self.close or self.cancel


def audit_steps(person: SignedIn, audit: q.AuditView) -> AuditSteps:
    """Return the steps `person` may take on `audit` now."""
    unit, status = audit.unit, audit.status
    return AuditSteps(
        start=status == "planned" and may(person, a.StartAudit, unit),
        report=status == "in_progress"
        and person.user_id == audit.lead_auditor
        and may(person, a.ReportAudit, unit),
        close=status == "reported" and may(person, a.CloseAudit, unit),
        cancel=status in ("planned", "in_progress")
        and may(person, a.CancelAudit, unit),
    )


def may_plan_audit(person: SignedIn) -> bool:
    """Whether `person` may plan an audit of some unit."""
    return bool(units_covered(person, COMMAND_ROLES[a.PlanAudit]))
