"""The demo's controlled documents: drafts, reviews, approvals, distribution, revisions, withdrawals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ledger.domain import documents as doc
from ledger.integrity.canonical import JSONValue
from web.demo.recorder import Recorder, Step
from web.demo.scale import LAST_DAY
from web.demo.story import BUREAU_DOCS, HQ_DOCS


@dataclass(slots=True)
class Doc:
    """A controlled document of the story."""

    doc_id: str
    unit: str
    title: str
    kind: str
    author: str
    approver: str
    revision: str = "A"
    withdraw: bool = False


class Documents:
    """Plans each document's life and records its steps."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.docs: list[Doc] = []
        self.count = 0  # documents drafted

    def plan(self) -> None:
        """Put every document's first draft on the agenda."""
        for index, (suffix, title, kind) in enumerate(HQ_DOCS):
            d = Doc(
                f"{self.rec.hq}-{suffix}",
                self.rec.hq,
                title,
                kind,
                "hq.author",
                "hq.approver",
            )
            self.docs.append(d)
            self.rec.at(
                self.rec.first + timedelta(days=1 + index), self.doc_step_draft(d)
            )
        years = max(1, self.rec.scale.months // 12)
        for bi, b in enumerate(self.rec.bureaus):
            count = self.rec.scale.start_docs + self.rec.scale.new_docs_per_year * years
            for n in range(count):
                suffix, title, kind = BUREAU_DOCS[n % len(BUREAU_DOCS)]
                if n >= len(BUREAU_DOCS):
                    suffix = f"{suffix}-{n // len(BUREAU_DOCS) + 1}"
                d = Doc(f"{b.code}-{suffix}", b.code, title, kind, b.author, b.approver)
                d.withdraw = bi == 0 and n == 1
                self.docs.append(d)
                if n < self.rec.scale.start_docs:
                    day = self.rec.first + timedelta(days=self.rec.rng.between(1, 20))
                else:
                    span = (LAST_DAY - self.rec.first).days
                    day = self.rec.first + timedelta(
                        days=self.rec.rng.between(30, span)
                    )
                self.rec.at(day, self.doc_step_draft(d))

    def doc_content(self, d: Doc, note: str) -> dict[str, JSONValue]:
        text = (
            f"{d.doc_id} {d.title}\n修订 Revision {d.revision}\n{note}\n"
            f"适用单位 Unit: {d.unit}\n"
        )
        return self.rec.blob(f"{d.doc_id}-{d.revision}.txt", text)

    def doc_step_draft(self, d: Doc) -> Step:
        def step() -> None:
            content = self.doc_content(d, "初稿 First draft")
            self.rec.record(
                doc.DraftDocument(
                    doc_id=d.doc_id,
                    unit=d.unit,
                    title=d.title,
                    kind=d.kind,
                    content=content,
                    review_interval_months=12,
                    retention_years=10,
                ),
                d.author,
            )
            self.count += 1
            if self.rec.rng.percent(20):
                self.rec.later(1, 3, self.doc_step_update(d, submit=True))
            else:
                self.rec.later(1, 3, self.doc_step_submit(d))

        return step

    def doc_step_update(self, d: Doc, *, submit: bool) -> Step:
        def step() -> None:
            content = self.doc_content(
                d, f"修改稿 Amended {self.rec.today.isoformat()}"
            )
            self.rec.record(
                doc.UpdateDocumentDraft(doc_id=d.doc_id, content=content), d.author
            )
            if submit:
                self.rec.later(1, 2, self.doc_step_submit(d))

        return step

    def doc_step_submit(self, d: Doc) -> Step:
        def step() -> None:
            self.rec.record(doc.SubmitDocument(doc_id=d.doc_id), d.author)
            self.rec.later(2, 5, self.doc_step_review(d))

        return step

    def doc_step_review(self, d: Doc) -> Step:
        def step() -> None:
            if self.rec.rng.percent(15):
                self.rec.record(
                    doc.ReviewDocument(
                        doc_id=d.doc_id,
                        outcome="changes_requested",
                        comment="请补充记录要求 Please add the record requirements",
                    ),
                    d.approver,
                )
                self.rec.later(2, 4, self.doc_step_update(d, submit=True))
                return
            self.rec.record(
                doc.ReviewDocument(
                    doc_id=d.doc_id, outcome="endorsed", comment="同意 Endorsed"
                ),
                d.approver,
            )
            self.rec.later(1, 3, self.doc_step_approve(d))

        return step

    def doc_step_approve(self, d: Doc) -> Step:
        def step() -> None:
            self.rec.record(doc.ApproveDocument(doc_id=d.doc_id), d.approver, sign=True)
            self.rec.later(1, 5, self.doc_step_effective(d))

        return step

    def doc_step_effective(self, d: Doc) -> Step:
        def step() -> None:
            self.rec.record(
                doc.MakeDocumentEffective(doc_id=d.doc_id, effective_on=self.rec.today),
                d.approver,
            )
            targets = (
                [b.code for b in self.rec.bureaus]
                if d.unit == self.rec.hq
                else [d.unit]
            )
            self.rec.record(
                doc.DistributeDocument(doc_id=d.doc_id, units=targets), d.author
            )
            if d.withdraw:
                self.rec.later(60, 120, self.doc_step_withdraw(d))
            elif self.rec.rng.percent(35):
                self.rec.later(90, 400, self.doc_step_revise(d))
            else:
                self.rec.later(365, 370, self.doc_step_periodic(d))

        return step

    def doc_step_periodic(self, d: Doc) -> Step:
        def step() -> None:
            self.rec.record(
                doc.CompletePeriodicReview(
                    doc_id=d.doc_id,
                    reviewed_on=self.rec.today,
                    comment="定期评审、继续适用 Periodic review: still suitable",
                ),
                d.approver,
            )
            if self.rec.rng.percent(35):
                self.rec.later(30, 300, self.doc_step_revise(d))
            else:
                self.rec.later(365, 370, self.doc_step_periodic(d))

        return step

    def doc_step_revise(self, d: Doc) -> Step:
        def step() -> None:
            d.revision = chr(ord(d.revision) + 1)
            content = self.doc_content(d, "换版 New revision")
            self.rec.record(
                doc.DraftDocument(
                    doc_id=d.doc_id,
                    unit=d.unit,
                    title=d.title,
                    kind=d.kind,
                    content=content,
                ),
                d.author,
            )
            self.rec.later(1, 3, self.doc_step_submit(d))

        return step

    def doc_step_withdraw(self, d: Doc) -> Step:
        def step() -> None:
            self.rec.record(
                doc.WithdrawDocument(
                    doc_id=d.doc_id,
                    reason="业务取消、表格不再使用 The service ended; the form is no longer used",
                ),
                d.approver,
            )

        return step
