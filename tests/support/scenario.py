"""A small, hand-written QMS history with named moments, for exact read-side assertions.

Units: HQ > B01 > D01, HQ > B02. QP-07 (B01) has revision A effective, then B
superseding it; QP-09 (D01) is a draft; QP-10 (B02) is effective with an overdue
periodic review. Finding 2026-0001 (B01, major) runs to closure; 2026-0002 (D01,
minor) stays open past its due date; 2026-0003 (B02, observation) is open. KPI-1
(B01, higher is better) is measured, corrected and gets a new target.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ledger.clock import FixedClock
from ledger.integrity.envelope import NewEvent
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.simulation import esig_of


def _blob(name: str) -> dict[str, Any]:
    return {
        "blob": hashlib.sha256(name.encode()).hexdigest(),
        "size": 10,
        "name": f"{name}.pdf",
        "media_type": "application/pdf",
    }


def ev(stream: str, etype: str, actor: str, **data: Any) -> NewEvent:
    """Return a NewEvent with `data` from keyword arguments."""
    return NewEvent(stream=stream, type=etype, data=data, actor=actor)


def _unit(code: str, parent: str | None, kind: str) -> NewEvent:
    return ev(
        f"unit/{code}",
        "unit.created",
        "admin",
        code=code,
        name_zh=f"单位{code}",
        name_en=f"Unit {code}",
        kind=kind,
        parent=parent,
    )


def _doc_to_effective(
    doc: str, rev: str, unit: str, due: str, old: str | None
) -> list[NewEvent]:
    s = f"document/{doc}"
    events = [
        ev(
            s,
            "document.drafted",
            "alice",
            revision=rev,
            unit=unit,
            title=f"{doc} rev {rev}",
            kind="procedure",
            content=_blob(doc + rev),
            review_interval_months=12,
            retention_years=5,
        ),
        ev(s, "document.submitted", "alice", revision=rev),
        ev(
            s,
            "document.reviewed",
            "bob",
            revision=rev,
            outcome="endorsed",
            comment="fine",
        ),
        ev(
            s,
            "document.approved",
            "bob",
            revision=rev,
            content_sha256="ab" * 32,
            esig=esig_of("bob", s),
        ),
        ev(
            s,
            "document.became_effective",
            "bob",
            revision=rev,
            effective_on="2026-01-10",
            next_review_due=due,
            supersedes=old,
        ),
    ]
    if old:
        events.append(
            ev(s, "document.superseded", "bob", revision=old, by_revision=rev)
        )
    return events


def build(store: EventStore, clock: FixedClock) -> dict[str, datetime]:
    """Append the history (inline projector) and return its named moments."""
    projector = InlineProjector()
    moments: dict[str, datetime] = {"before": clock.now()}

    def add(*events: NewEvent, name: str | None = None, hours: float = 1) -> None:
        clock.advance(hours=hours)
        store.append(list(events), projectors=[projector])
        if name:
            moments[name] = clock.now()

    add(
        _unit("HQ", None, "headquarters"),
        _unit("B01", "HQ", "bureau"),
        _unit("B02", "HQ", "bureau"),
        _unit("D01", "B01", "department"),
        ev(
            "user/alice",
            "user.registered",
            "admin",
            user_id="alice",
            name="Alice Wang",
            unit="B01",
            email="alice@example.gov",
        ),
        ev("user/alice", "user.role_granted", "admin", role="author", scope="B01"),
        ev(
            "user/bob",
            "user.registered",
            "admin",
            user_id="bob",
            name="Bob Li",
            unit="HQ",
            email="bob@example.gov",
        ),
        ev("user/bob", "user.role_granted", "admin", role="approver", scope="HQ"),
        ev("user/bob", "user.role_granted", "admin", role="auditor", scope="HQ"),
        name="setup",
    )
    add(*_doc_to_effective("QP-07", "A", "B01", "2027-01-10", None), name="qp07_a")
    add(*_doc_to_effective("QP-10", "A", "B02", "2026-02-01", None))
    add(
        ev(
            "document/QP-09",
            "document.drafted",
            "alice",
            revision="A",
            unit="D01",
            title="QP-09 draft",
            kind="form",
            content=_blob("QP-09"),
            review_interval_months=24,
            retention_years=3,
        ),
    )
    add(*_doc_to_effective("QP-07", "B", "B01", "2027-02-01", "A"), name="qp07_b")

    f1, f2, f3 = "finding/2026-0001", "finding/2026-0002", "finding/2026-0003"
    raised = {
        "source": "internal_audit",
        "criterion": {"clause": "7.5.3"},
        "description": "uncontrolled copy",
        "evidence": [_blob("ev")],
        "audit": "2026-01",
    }
    add(
        ev(
            "audit/2026-01",
            "audit.planned",
            "bob",
            programme="2026",
            unit="B01",
            scope="7.5",
            criteria=["ISO 9001:2015 7.5"],
            lead_auditor="bob",
            team=[],
            planned_start="2026-01-12",
            planned_end="2026-01-13",
        ),
        ev(
            "audit/2026-02",
            "audit.planned",
            "bob",
            programme="2026",
            unit="D01",
            scope="8.4",
            criteria=["ISO 9001:2015 8.4"],
            lead_auditor="bob",
            team=[],
            planned_start="2026-03-01",
            planned_end="2026-03-02",
        ),
        ev(
            "audit/2026-03",
            "audit.planned",
            "bob",
            programme="2026",
            unit="B02",
            scope="9.1",
            criteria=["ISO 9001:2015 9.1"],
            lead_auditor="bob",
            team=[],
            planned_start="2026-04-01",
            planned_end="2026-04-02",
        ),
        ev("audit/2026-01", "audit.started", "bob", started_on="2026-01-12"),
        ev(
            f1,
            "finding.raised",
            "bob",
            unit="B01",
            classification="major",
            due_on="2026-01-20",
            **raised,
        ),
        ev(
            f2,
            "finding.raised",
            "bob",
            unit="D01",
            classification="minor",
            due_on="2026-01-06",
            **raised,
        ),
        ev(
            f3,
            "finding.raised",
            "bob",
            unit="B02",
            classification="observation",
            due_on="2026-12-31",
            **raised,
        ),
        ev(
            "audit/2026-01",
            "audit.reported",
            "bob",
            summary="three findings",
            findings=["2026-0001", "2026-0002", "2026-0003"],
            esig=esig_of("bob", "audit/2026-01"),
        ),
        name="raised",
    )
    add(
        ev(f1, "finding.contained", "alice", action="copies withdrawn"),
        ev(f1, "finding.cause_analysed", "alice", cause="no list", method="5 whys"),
        ev(
            f1,
            "finding.actions_planned",
            "alice",
            actions=[
                {
                    "action_id": "A1",
                    "description": "make list",
                    "owner": "alice",
                    "due_on": "2026-01-15",
                },
                {
                    "action_id": "A2",
                    "description": "train staff",
                    "owner": "alice",
                    "due_on": "2026-01-16",
                },
            ],
        ),
        ev(
            f1,
            "finding.action_completed",
            "alice",
            action_id="A1",
            evidence=[_blob("a1")],
            note="done",
        ),
        name="f1_half",
    )
    add(
        ev(
            f1,
            "finding.action_completed",
            "alice",
            action_id="A2",
            evidence=[_blob("a2")],
            note="done",
        ),
        ev(
            f1,
            "finding.verified",
            "bob",
            effective=True,
            comment="works",
            esig=esig_of("bob", f1),
        ),
        NewEvent(
            stream=f1,
            type="finding.closed",
            actor="bob",
            data={"closed_on": "2026-01-15"},
        ),
        ev("audit/2026-01", "audit.closed", "bob", closed_on="2026-01-16"),
        ev("audit/2026-03", "audit.cancelled", "bob", reason="merged"),
        name="f1_closed",
    )
    k = "indicator/KPI-1"
    add(
        ev(
            k,
            "indicator.defined",
            "bob",
            unit="B01",
            owner="alice",
            name="On-time delivery",
            measure="%",
            direction="higher_is_better",
            target="95.00",
            frequency="monthly",
            method="count",
            effective_from="2026-01",
        ),
        ev(k, "indicator.measured", "alice", period="2026-01", value="96.00", note=""),
        name="kpi_measured",
    )
    add(
        ev(
            k,
            "indicator.measurement_corrected",
            "alice",
            period="2026-01",
            old={"value": "96.00"},
            new={"value": "94.00"},
            reason="late returns counted",
        ),
        ev(
            k,
            "indicator.target_changed",
            "bob",
            old={"target": "95.00"},
            new={"target": "97.00"},
            effective_from="2026-02",
            reason="raised objective",
        ),
        ev(k, "indicator.measured", "alice", period="2026-02", value="97.50", note=""),
        ev(k, "indicator.measured", "alice", period="2026-03", value="96.50", note=""),
        name="kpi_corrected",
    )
    add(
        ev(
            "review/MR-2026-1",
            "review.held",
            "bob",
            unit="HQ",
            held_on="2026-01-20",
            attendees=["alice", "bob"],
            inputs=[],
            decisions=["keep KPI-1"],
            actions=[],
        ),
        name="end",
    )
    return moments
