"""The demo's internal audits: planned, started, reported with their findings, closed."""

from __future__ import annotations

from datetime import timedelta

from ledger.domain import audits as au
from web.demo.findings import Findings
from web.demo.recorder import Bureau, Recorder, Step
from web.demo.scale import LAST_DAY


class Audits:
    """Plans one audit of each bureau a year and records its steps."""

    def __init__(self, rec: Recorder, findings: Findings) -> None:
        self.rec = rec
        self.findings = findings
        self.audit_ids: set[str] = set()
        self.count = 0  # audits planned

    def plan(self) -> None:
        """Each bureau is audited once a year by headquarters auditors."""
        span = (LAST_DAY - self.rec.first).days
        per_year = min(span, 365)
        for start in range(0, span, 365):
            for bi, b in enumerate(self.rec.bureaus):
                offset = (
                    start + 20 + (bi * (per_year - 60)) // max(1, len(self.rec.bureaus))
                )
                self.rec.at(
                    self.rec.first + timedelta(days=offset), self.audit_step_plan(b, bi)
                )

    def audit_step_plan(self, b: Bureau, index: int) -> Step:
        def step() -> None:
            audit_id = f"{self.rec.today.year}-{b.code}"
            while audit_id in self.audit_ids:
                audit_id += "X"
            self.audit_ids.add(audit_id)
            lead = self.rec.auditors[
                (index + self.rec.today.year) % len(self.rec.auditors)
            ]
            team = [a for a in self.rec.auditors if a != lead][:1]
            begin = self.rec.today + timedelta(days=14)
            self.rec.record(
                au.PlanAudit(
                    audit_id=audit_id,
                    programme=str(self.rec.today.year),
                    unit=b.code,
                    scope="质量管理体系全要素 Whole quality management system",
                    criteria=["ISO 9001:2015", f"{self.rec.hq}-QM-01 A"],
                    lead_auditor=lead,
                    team=team,
                    planned_start=begin,
                    planned_end=begin + timedelta(days=2),
                ),
                lead,
            )
            self.count += 1
            self.rec.at(begin, self.audit_step_start(audit_id, b, lead))

        return step

    def audit_step_start(self, audit_id: str, b: Bureau, lead: str) -> Step:
        def step() -> None:
            self.rec.record(
                au.StartAudit(audit_id=audit_id, started_on=self.rec.today), lead
            )
            self.rec.later(1, 2, self.audit_step_findings(audit_id, b, lead))

        return step

    def audit_step_findings(self, audit_id: str, b: Bureau, lead: str) -> Step:
        def step() -> None:
            count = self.rec.rng.between(1, self.rec.scale.audit_findings)
            found = [
                self.findings.raise_finding(b, lead, "internal_audit", audit_id)
                for _ in range(count)
            ]
            self.rec.later(2, 4, self.audit_step_report(audit_id, lead, found))

        return step

    def audit_step_report(self, audit_id: str, lead: str, found: list[str]) -> Step:
        def step() -> None:
            self.rec.record(
                au.ReportAudit(
                    audit_id=audit_id,
                    summary=f"体系运行基本有效、发现{len(found)}项 "
                    f"The system is broadly effective; {len(found)} findings",
                    findings=found,
                ),
                lead,
                sign=True,
            )
            self.rec.later(30, 60, self.audit_step_close(audit_id, lead))

        return step

    def audit_step_close(self, audit_id: str, lead: str) -> Step:
        def step() -> None:
            self.rec.record(
                au.CloseAudit(audit_id=audit_id, closed_on=self.rec.today), lead
            )

        return step
