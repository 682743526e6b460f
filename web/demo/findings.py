"""The demo's findings: raised, contained, analysed, acted on, verified, closed and reopened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ledger.domain import add_months
from ledger.domain import findings as fi
from web.demo.recorder import Bureau, Recorder, Step
from web.demo.scale import LAST_DAY
from web.demo.story import CLASSES, CLAUSES, DUE_DAYS, METHODS, PROBLEMS, SOURCES


@dataclass(slots=True)
class Finding:
    """A finding of the story and how far it will go."""

    finding_id: str
    unit: str
    raiser: str
    owner: str
    manager: str
    classification: str
    stall: str | None = None
    actions: int = 0
    open_actions: list[str] = field(default_factory=list)
    reopen: bool = False
    due_change: bool = False


class Findings:
    """Raises findings (also for the audits) and records their corrective actions."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.finding_seq: dict[int, int] = {}
        self.count = 0  # findings raised
        self.reopened = self.due_changed = False

    def new_finding(self, b: Bureau, raiser: str, classification: str) -> Finding:
        year = self.rec.today.year
        n = self.finding_seq.get(year, 0) + 1
        self.finding_seq[year] = n
        self.count += 1
        f = Finding(
            f"{year}-{n:04d}", b.code, raiser, b.owner, b.manager, classification
        )
        if self.count % 7 == 3:
            f.stall = self.rec.rng.pick(("raised", "contained", "actions_planned"))
        f.reopen = not self.reopened and self.count >= 4 and f.stall is None
        self.reopened = self.reopened or f.reopen
        f.due_change = not self.due_changed and self.count >= 2
        self.due_changed = self.due_changed or f.due_change
        return f

    def raise_finding(
        self, b: Bureau, raiser: str, source: str, audit: str | None
    ) -> str:
        classification = CLASSES[self.count % len(CLASSES)]
        f = self.new_finding(b, raiser, classification)
        problem = self.rec.rng.pick(PROBLEMS)
        evidence = self.rec.blob(
            f"evidence-{f.finding_id}.txt",
            f"{f.finding_id} {b.name_zh} {b.name_en}\n{problem}\n"
            f"{self.rec.today.isoformat()}\n",
        )
        criterion = {"clause": f"ISO 9001:2015 {self.rec.rng.pick(CLAUSES)}"}
        self.rec.record(
            fi.RaiseFinding(
                finding_id=f.finding_id,
                unit=b.code,
                source=source,
                classification=classification,
                criterion=criterion,
                description=problem,
                evidence=[evidence],
                due_on=self.rec.today + timedelta(days=DUE_DAYS[classification]),
                audit=audit,
            ),
            raiser,
        )
        if f.due_change:
            self.rec.later(5, 10, self.finding_step_due(f))
        if f.stall != "raised":
            self.rec.later(1, 3, self.finding_step_contain(f))
        return f.finding_id

    def finding_step_due(self, f: Finding) -> Step:
        def step() -> None:
            self.rec.record(
                fi.ChangeDueDate(
                    finding_id=f.finding_id,
                    due_on=self.rec.today + timedelta(days=120),
                    reason="需采购新设备、交货期延长 New equipment must be bought; delivery takes longer",
                ),
                f.manager,
            )

        return step

    def finding_step_contain(self, f: Finding) -> Step:
        def step() -> None:
            self.rec.record(
                fi.ContainFinding(
                    finding_id=f.finding_id,
                    action="立即隔离受影响的记录并复核 Affected records isolated and re-checked",
                ),
                f.owner,
            )
            if f.stall != "contained":
                self.rec.later(3, 10, self.finding_step_cause(f))

        return step

    def finding_step_cause(self, f: Finding) -> Step:
        def step() -> None:
            self.rec.record(
                fi.AnalyseCause(
                    finding_id=f.finding_id,
                    cause="程序未规定复核职责 The procedure does not assign the check",
                    method=self.rec.rng.pick(METHODS),
                ),
                f.manager,
            )
            self.rec.later(2, 7, self.finding_step_plan(f))

        return step

    def finding_step_plan(self, f: Finding) -> Step:
        def step() -> None:
            count = self.rec.rng.between(1, 2)
            plans: list[fi.ActionPlan] = []
            for _ in range(count):
                f.actions += 1
                action_id = f"A{f.actions}"
                f.open_actions.append(action_id)
                plans.append(
                    fi.ActionPlan(
                        action_id=action_id,
                        description="修订程序并培训人员 Revise the procedure and train the staff",
                        owner=f.owner,
                        due_on=self.rec.today
                        + timedelta(days=self.rec.rng.between(14, 40)),
                    )
                )
            self.rec.record(
                fi.PlanActions(finding_id=f.finding_id, actions=plans), f.manager
            )
            if f.stall != "actions_planned":
                for action_id in list(f.open_actions):
                    self.rec.later(7, 35, self.finding_step_complete(f, action_id))

        return step

    def finding_step_complete(self, f: Finding, action_id: str) -> Step:
        def step() -> None:
            evidence = self.rec.blob(
                f"action-{f.finding_id}-{action_id}.txt",
                f"{f.finding_id} {action_id}\n培训签到表及修订后的程序 "
                f"Training attendance and the revised procedure\n{self.rec.today}\n",
            )
            self.rec.record(
                fi.CompleteAction(
                    finding_id=f.finding_id,
                    action_id=action_id,
                    evidence=[evidence],
                    note="已完成 Done",
                ),
                f.owner,
            )
            f.open_actions.remove(action_id)
            if not f.open_actions:
                self.rec.later(7, 20, self.finding_step_verify(f))

        return step

    def verifier(self, f: Finding) -> str:
        candidates = [a for a in self.rec.auditors if a != f.raiser]
        return self.rec.rng.pick(candidates)

    def finding_step_verify(self, f: Finding) -> Step:
        def step() -> None:
            effective = not self.rec.rng.percent(10)
            comment = (
                "抽查三个月记录、未再发生 Three months of records checked; no recurrence"
                if effective
                else "问题再次发生、措施无效 The problem recurred; the actions were not effective"
            )
            self.rec.record(
                fi.VerifyEffectiveness(
                    finding_id=f.finding_id, effective=effective, comment=comment
                ),
                self.verifier(f),
                sign=True,
            )
            if effective:
                self.rec.later(1, 5, self.finding_step_close(f))
            else:
                self.rec.later(3, 10, self.finding_step_cause(f))

        return step

    def finding_step_close(self, f: Finding) -> Step:
        def step() -> None:
            self.rec.record(
                fi.CloseFinding(finding_id=f.finding_id, closed_on=self.rec.today),
                self.verifier(f),
            )
            if f.reopen:
                f.reopen = False
                self.rec.later(20, 40, self.finding_step_reopen(f))

        return step

    def finding_step_reopen(self, f: Finding) -> Step:
        def step() -> None:
            self.rec.record(
                fi.ReopenFinding(
                    finding_id=f.finding_id,
                    reason="外部审核发现同类问题 The external audit found the same problem",
                ),
                f.manager,
            )
            self.rec.later(3, 10, self.finding_step_cause(f))

        return step

    def plan(self) -> None:
        """Findings from complaints, supervision and external audits, each month."""
        month = self.rec.first
        while month <= LAST_DAY:
            for b in self.rec.bureaus:
                for _ in range(self.rec.scale.findings_per_month):
                    day = month + timedelta(days=self.rec.rng.between(0, 27))
                    source = self.rec.rng.pick(SOURCES)
                    self.rec.at(day, self.finding_from(b, source))
            month = add_months(month, 1)

    def finding_from(self, b: Bureau, source: str) -> Step:
        def step() -> None:
            self.raise_finding(b, b.manager, source, None)

        return step
