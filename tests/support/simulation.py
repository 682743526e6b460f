"""Valid QMS event sequences (docs/events.md) generated from a list of choices.

`Simulation.step(choice)` turns one integer into the events of one valid action
given the state so far, so any list of integers (from Hypothesis or a fixed
pattern) is a valid history: units, users and roles, documents through their whole
revision lifecycle, audits, findings with actions, indicators with target changes,
measurements and corrections, and management reviews.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.domain.findings import CLASSIFICATIONS
from ledger.integrity.envelope import NewEvent

ACTIONS = 14


def esig_of(signer: str, stream: str) -> dict[str, Any]:
    return {
        "signer": signer,
        "name": f"Person {signer}",
        "meaning": "approved",
        "signed_at": "2026-01-05T08:00:00.000000Z",
        "subject": stream,
        "subject_sha256": "cd" * 32,
        "key": "0" * 16,
        "sig": base64.b64encode(bytes(64)).decode(),
    }


def _blob(name: str) -> dict[str, Any]:
    return {
        "blob": hashlib.sha256(name.encode()).hexdigest(),
        "size": len(name),
        "name": f"{name}.pdf",
        "media_type": "application/pdf",
    }


@dataclass
class _Doc:
    unit: str
    revision: str = "A"
    status: str = "drafted"
    effective: str | None = None
    author: str = "u-alice"


@dataclass
class _Finding:
    status: str = "raised"
    actions: list[str] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    due: str = "2026-03-01"


@dataclass
class _Indicator:
    measured: list[str] = field(default_factory=list)
    retired: bool = False
    targets: int = 0


class Simulation:
    """State of a simulated QMS; `step` returns the next action's events."""

    def __init__(self) -> None:
        self.units: list[str] = []
        self.users: list[str] = []
        self.docs: dict[str, _Doc] = {}
        self.audits: dict[str, str] = {}
        self.findings: dict[str, _Finding] = {}
        self.indicators: dict[str, _Indicator] = {}
        self.reviews = 0
        self.day = date(2026, 1, 5)

    def _date(self, offset: int = 0) -> str:
        return (self.day + timedelta(days=offset)).isoformat()

    def _unit(self, arg: int) -> str:
        return self.units[arg % len(self.units)]

    def _user(self, arg: int) -> str:
        return self.users[arg % len(self.users)]

    def step(self, choice: int) -> list[NewEvent]:  # one branch per action
        """Return the events of the action picked by `choice` (never empty)."""
        self.day += timedelta(days=choice % 3)
        if not self.units:
            return [self._unit_created("HQ", None, "headquarters")]
        if len(self.users) < 2:
            return self._register(self._unit(choice))
        action, arg = choice % ACTIONS, choice // ACTIONS
        if action == 0:
            code = f"B{len(self.units):02d}"
            kind = "bureau" if len(self.units) < 4 else "department"
            return [self._unit_created(code, self._unit(arg), kind)]
        if action == 1:
            if arg % 3 == 0:
                return self._register(self._unit(arg))
            if arg % 3 == 1:
                uid = self._user(arg)
                return [
                    self._ev(
                        f"user/{uid}",
                        "user.role_revoked",
                        uid,
                        role="viewer",
                        scope=self.units[0],
                        reason="left role",
                    )
                ]
            return [self._rename(self._unit(arg))]
        if action in (2, 3):
            return self._document(arg)
        if action == 4:
            return self._audit(arg)
        if action in (5, 6, 7):
            return self._finding(arg)
        if action in (8, 9, 10):
            return self._indicator(arg)
        if action == 11:
            self.reviews += 1
            unit = self._unit(arg)
            return [
                self._ev(
                    f"review/MR-{self.reviews:03d}",
                    "review.held",
                    self._user(arg),
                    unit=unit,
                    held_on=self._date(),
                    attendees=sorted(set(self.users[:3])),
                    inputs=[
                        {
                            "report": "qms-status",
                            "unit": unit,
                            "as_of": "2026-01-05T08:00:00.000000Z",
                            "size": 1,
                            "sha256": "ab" * 32,
                        }
                    ],
                    decisions=["keep objectives"],
                    actions=[
                        {
                            "description": "review targets",
                            "owner": self._user(arg),
                            "due_on": self._date(30),
                        }
                    ],
                )
            ]
        if action == 12:
            uid = self._user(arg)
            if arg % 2:
                return [
                    self._ev(
                        f"user/{uid}",
                        "user.moved",
                        "admin",
                        old={"unit": self.units[0]},
                        new={"unit": self._unit(arg + 1)},
                        reason="reorganisation",
                    )
                ]
            return [
                self._ev(
                    f"user/{uid}",
                    "user.esign_key_issued",
                    "admin",
                    key_id=f"{arg:016x}"[-16:],
                    reason="enrolment",
                )
            ]
        if arg % 10 == 0 and len(self.units) > 2:
            code = self.units.pop()
            return [self._ev(f"unit/{code}", "unit.closed", "admin", reason="merged")]
        if arg % 10 == 1 and len(self.users) > 2:
            uid = self.users.pop()
            return [self._ev(f"user/{uid}", "user.deactivated", "admin", reason="left")]
        return self._document(arg + 1)

    # -- builders ---------------------------------------------------------------------
    def _ev(self, stream: str, etype: str, actor: str, **data: Any) -> NewEvent:
        return NewEvent(stream=stream, type=etype, data=data, actor=actor)

    def _unit_created(self, code: str, parent: str | None, kind: str) -> NewEvent:
        self.units.append(code)
        return self._ev(
            f"unit/{code}",
            "unit.created",
            "admin",
            code=code,
            name_zh=f"单位{code}",
            name_en=f"Unit {code}",
            kind=kind,
            parent=parent,
        )

    def _rename(self, code: str) -> NewEvent:
        return self._ev(
            f"unit/{code}",
            "unit.renamed",
            "admin",
            old={"name_zh": f"单位{code}", "name_en": f"Unit {code}"},
            new={"name_en": f"Unit {code} (renamed)", "name_zh": f"单位{code}改"},
            reason="reorganisation",
        )

    def _register(self, unit: str) -> list[NewEvent]:
        uid = f"u-{len(self.users):03d}"
        self.users.append(uid)
        stream = f"user/{uid}"
        return [
            self._ev(
                stream,
                "user.registered",
                "admin",
                user_id=uid,
                name=f"Person {uid}",
                unit=unit,
                email=f"{uid}@example.gov",
            ),
            self._ev(stream, "user.role_granted", "admin", role="author", scope=unit),
            self._ev(
                stream, "user.role_granted", "admin", role="viewer", scope=self.units[0]
            ),
        ]

    def _document(self, arg: int) -> list[NewEvent]:  # one per lifecycle step
        live = [d for d, s in self.docs.items() if s.status not in ("withdrawn",)]
        if arg % 4 == 0 or not live:
            doc_id = f"QP-{len(self.docs) + 1:02d}"
            unit = self._unit(arg)
            self.docs[doc_id] = _Doc(unit=unit, author=self._user(arg))
            return [self._drafted(doc_id, "A", unit, self.docs[doc_id].author)]
        doc_id = live[arg % len(live)]
        doc = self.docs[doc_id]
        stream, rev, other = f"document/{doc_id}", doc.revision, self._user(arg + 1)
        if doc.status == "drafted":
            if arg % 5 == 1:
                return [
                    self._ev(
                        stream,
                        "document.draft_updated",
                        doc.author,
                        revision=rev,
                        old={"title": "?"},
                        new={
                            "title": f"{doc_id} rev {rev} v2",
                            "content": _blob(f"{doc_id}{rev}2"),
                        },
                    )
                ]
            doc.status = "submitted"
            return [self._ev(stream, "document.submitted", doc.author, revision=rev)]
        if doc.status == "submitted":
            outcome = "changes_requested" if arg % 4 == 1 else "endorsed"
            doc.status = "drafted" if outcome == "changes_requested" else "endorsed"
            return [
                self._ev(
                    stream,
                    "document.reviewed",
                    other,
                    revision=rev,
                    outcome=outcome,
                    comment="ok",
                )
            ]
        if doc.status == "endorsed":
            doc.status = "approved"
            esig = esig_of(other, stream)
            return [
                self._ev(
                    stream,
                    "document.approved",
                    other,
                    revision=rev,
                    content_sha256="ef" * 32,
                    esig=esig,
                )
            ]
        if doc.status == "approved":
            events = [
                self._ev(
                    stream,
                    "document.became_effective",
                    other,
                    revision=rev,
                    effective_on=self._date(),
                    next_review_due=self._date(60 + arg % 90),
                    supersedes=doc.effective,
                )
            ]
            if doc.effective:
                events.append(
                    self._ev(
                        stream,
                        "document.superseded",
                        other,
                        revision=doc.effective,
                        by_revision=rev,
                    )
                )
            doc.effective, doc.status = rev, "effective"
            return events
        # effective
        step = arg % 5
        if step == 0:
            return [
                self._ev(
                    stream,
                    "document.distributed",
                    other,
                    revision=rev,
                    units=sorted({self._unit(arg), self._unit(arg + 2)}),
                )
            ]
        if step == 1:
            return [
                self._ev(
                    stream,
                    "document.review_completed",
                    other,
                    revision=rev,
                    old={"next_review_due": "2026-01-01"},
                    new={"next_review_due": self._date(365)},
                    comment="still valid",
                )
            ]
        if step == 2:
            return [
                self._ev(
                    stream,
                    "document.retention_changed",
                    other,
                    old={"retention_years": 5},
                    new={"retention_years": 10},
                    reason="regulation",
                )
            ]
        if step == 3 and arg % 3 == 0:
            doc.status = "withdrawn"
            return [
                self._ev(
                    stream, "document.withdrawn", other, revision=rev, reason="obsolete"
                )
            ]
        doc.revision = chr(ord(rev) + 1)
        doc.status = "drafted"
        return [self._drafted(doc_id, doc.revision, doc.unit, doc.author)]

    def _drafted(self, doc_id: str, rev: str, unit: str, author: str) -> NewEvent:
        return self._ev(
            f"document/{doc_id}",
            "document.drafted",
            author,
            revision=rev,
            unit=unit,
            title=f"{doc_id} procedure rev {rev}",
            kind="procedure",
            content=_blob(f"{doc_id}{rev}"),
            review_interval_months=12,
            retention_years=5,
        )

    def _audit(self, arg: int) -> list[NewEvent]:
        open_ = [
            a
            for a, s in self.audits.items()
            if s in ("planned", "in_progress", "reported")
        ]
        if arg % 3 == 0 or not open_:
            aid = f"2026-{len(self.audits) + 1:02d}"
            self.audits[aid] = "planned"
            return [
                self._ev(
                    f"audit/{aid}",
                    "audit.planned",
                    self._user(arg),
                    programme=str(2026 + arg % 2),
                    unit=self._unit(arg),
                    scope="7.5 documented information",
                    criteria=["ISO 9001:2015 7.5"],
                    lead_auditor=self._user(arg),
                    team=[self._user(arg + 1)],
                    planned_start=self._date(7),
                    planned_end=self._date(9),
                )
            ]
        aid = open_[arg % len(open_)]
        stream, who, status = f"audit/{aid}", self._user(arg), self.audits[aid]
        if status == "planned":
            if arg % 7 == 1:
                self.audits[aid] = "cancelled"
                return [
                    self._ev(
                        stream, "audit.cancelled", who, reason="auditee reorganised"
                    )
                ]
            self.audits[aid] = "in_progress"
            return [self._ev(stream, "audit.started", who, started_on=self._date())]
        if status == "in_progress":
            self.audits[aid] = "reported"
            return [
                self._ev(
                    stream,
                    "audit.reported",
                    who,
                    summary="two findings",
                    findings=sorted(self.findings)[:2],
                    esig=esig_of(who, stream),
                )
            ]
        self.audits[aid] = "closed"
        return [self._ev(stream, "audit.closed", who, closed_on=self._date())]

    def _finding(self, arg: int) -> list[NewEvent]:  # one per lifecycle step
        open_ = [f for f, s in self.findings.items() if s.status != "closed"]
        closed = [f for f, s in self.findings.items() if s.status == "closed"]
        if arg % 4 == 0 or not open_:
            if closed and arg % 8 == 4:
                fid = closed[arg % len(closed)]
                self.findings[fid].status = "cause_analysed"
                return [
                    self._ev(
                        f"finding/{fid}",
                        "finding.reopened",
                        self._user(arg),
                        reason="recurred",
                    )
                ]
            fid = f"2026-{len(self.findings) + 1:04d}"
            self.findings[fid] = _Finding(due=self._date(20 + arg % 40))
            return [
                self._ev(
                    f"finding/{fid}",
                    "finding.raised",
                    self._user(arg),
                    unit=self._unit(arg),
                    source="internal_audit",
                    classification=CLASSIFICATIONS[arg % 4],
                    criterion={"clause": "7.5.3"},
                    description="uncontrolled copy found",
                    evidence=[_blob(f"ev{fid}")],
                    due_on=self.findings[fid].due,
                    audit=None,
                )
            ]
        fid = open_[arg % len(open_)]
        f = self.findings[fid]
        stream, who = f"finding/{fid}", self._user(arg)
        if arg % 9 == 2:
            old_due, f.due = f.due, self._date(45)
            return [
                self._ev(
                    stream,
                    "finding.due_date_changed",
                    who,
                    old={"due_on": old_due},
                    new={"due_on": f.due},
                    reason="supplier delay",
                )
            ]
        if f.status == "raised":
            f.status = "contained"
            return [
                self._ev(stream, "finding.contained", who, action="copies withdrawn")
            ]
        if f.status == "contained":
            f.status = "cause_analysed"
            return [
                self._ev(
                    stream,
                    "finding.cause_analysed",
                    who,
                    cause="no distribution list",
                    method="5 whys",
                )
            ]
        if f.status == "cause_analysed":
            f.status = "actions_planned"
            base = len(f.actions)
            new = [f"A{base + i + 1}" for i in range(1 + arg % 2)]
            f.actions.extend(new)
            return [
                self._ev(
                    stream,
                    "finding.actions_planned",
                    who,
                    actions=[
                        {
                            "action_id": a,
                            "description": "update list",
                            "owner": self._user(arg + i),
                            "due_on": self._date(10),
                        }
                        for i, a in enumerate(new)
                    ],
                )
            ]
        if f.status == "actions_planned":
            todo = [a for a in f.actions if a not in f.done]
            act = todo[0]
            f.done.add(act)
            if len(todo) == 1:
                f.status = "actions_done"
            return [
                self._ev(
                    stream,
                    "finding.action_completed",
                    who,
                    action_id=act,
                    evidence=[_blob(f"done{fid}{act}")],
                    note="done",
                )
            ]
        if f.status == "actions_done":
            effective = arg % 5 != 3
            f.status = "verified" if effective else "cause_analysed"
            return [
                self._ev(
                    stream,
                    "finding.verified",
                    who,
                    effective=effective,
                    comment="checked",
                    esig=esig_of(who, stream),
                )
            ]
        f.status = "closed"
        return [self._ev(stream, "finding.closed", who, closed_on=self._date())]

    def _indicator(self, arg: int) -> list[NewEvent]:
        live = [i for i, s in self.indicators.items() if not s.retired]
        if arg % 6 == 0 or not live:
            iid = f"KPI-{len(self.indicators) + 1:02d}"
            self.indicators[iid] = _Indicator()
            direction = "higher_is_better" if arg % 2 else "lower_is_better"
            return [
                self._ev(
                    f"indicator/{iid}",
                    "indicator.defined",
                    self._user(arg),
                    unit=self._unit(arg),
                    owner=self._user(arg),
                    name=f"On-time rate {iid}",
                    measure="%",
                    direction=direction,
                    target="95.00",
                    frequency="monthly",
                    method="count",
                    effective_from="2026-01",
                )
            ]
        iid = live[arg % len(live)]
        ind, stream, who = self.indicators[iid], f"indicator/{iid}", self._user(arg)
        step = arg % 11
        if step == 1 and ind.measured:
            period = ind.measured[arg % len(ind.measured)]
            return [
                self._ev(
                    stream,
                    "indicator.measurement_corrected",
                    who,
                    period=period,
                    old={"value": "90.00"},
                    new={"value": f"{90 + arg % 10}.50"},
                    reason="late data",
                )
            ]
        if step == 2:
            ind.targets += 1
            return [
                self._ev(
                    stream,
                    "indicator.target_changed",
                    who,
                    old={"target": "95.00"},
                    new={"target": f"{93 + ind.targets % 5}.00"},
                    effective_from=f"2026-{(ind.targets % 12) + 1:02d}",
                    reason="new objective",
                )
            ]
        if step == 3 and len(ind.measured) > 3:
            ind.retired = True
            return [self._ev(stream, "indicator.retired", who, reason="replaced")]
        month = len(ind.measured)
        period = f"{2026 + month // 12}-{month % 12 + 1:02d}"
        ind.measured.append(period)
        return [
            self._ev(
                stream,
                "indicator.measured",
                who,
                period=period,
                value=f"{88 + arg % 12}.25",
                note="",
            )
        ]


def choices(count: int, seed: int = 7) -> list[int]:
    """Return a fixed, well-mixed list of choices (a linear congruential pattern)."""
    out, x = [], seed
    for _ in range(count):
        x = (x * 1103515245 + 12345) % 2**31
        out.append(x >> 8)
    return out
