"""A reproducible demonstration ledger, recorded through the real write service.

`fill_demo` fills an empty ledger (only the genesis event and, optionally, the
first administrator) with two years of QMS records ending 2026-10-31: a
headquarters and bureaus with Chinese and English names, about thirty people in
every role, controlled documents with approvals and revisions, internal audits,
findings with corrective actions, monthly indicators and yearly management
reviews. Every record goes through `Service.handle`, so every rule, permission and
e-signature of the product is exercised; the same seed gives the same records.

Time is driven by a `FixedClock` shared with the service and the store: it moves
day by day, so `recorded_at` follows the story and `occurred_at` is the same day.
The demo passwords are `demo_password(user_id, seed)`.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from ledger.clock import FixedClock
from ledger.domain import Command, add_months
from ledger.domain import audits as au
from ledger.domain import documents as doc
from ledger.domain import findings as fi
from ledger.domain import indicators as ind
from ledger.domain import reviews as rv
from ledger.domain import units as un
from ledger.domain import users as us
from ledger.domain.units import HQ_CODE
from ledger.errors import EventRejectedError
from ledger.integrity.canonical import JSONValue
from ledger.integrity.envelope import format_time, stream_kind
from ledger.service import CommandBatch, Service
from ledger.service.vault import SigningSession
from ledger.store import EventStore
from projections.reports import build_report
from projections.runner import catch_up

LAST_DAY = date(2026, 10, 31)
ADMIN_ID = "admin"
ADMIN_NAME = "王建国"
MEDIA_TEXT = "text/plain; charset=utf-8"
_STEP = timedelta(seconds=20)  # clock advance per recorded command

BUREAUS: tuple[tuple[str, str, str], ...] = (
    ("BJ", "北京分局", "Beijing Bureau"),
    ("SH", "上海分局", "Shanghai Bureau"),
    ("GZ", "广州分局", "Guangzhou Bureau"),
    ("CD", "成都分局", "Chengdu Bureau"),
    ("WH", "武汉分局", "Wuhan Bureau"),
    ("XA", "西安分局", "Xi'an Bureau"),
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
_GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰",
    "娟", "涛", "明", "超", "霞", "平", "刚", "秀英", "桂英", "建华", "志强",
    "晓东", "海燕", "雪梅", "国庆", "文博", "子涵", "思远", "立新", "红梅", "玉兰",
)  # fmt: skip
_GIVEN_ONE = tuple(g for g in _GIVEN if len(g) == 1)
_HQ_DOCS: tuple[tuple[str, str, str], ...] = (
    ("QM-01", "质量手册 Quality manual", "manual"),
    ("QP-01", "文件控制程序 Document control procedure", "procedure"),
    ("QP-02", "内部审核程序 Internal audit procedure", "procedure"),
    ("QP-03", "纠正措施程序 Corrective action procedure", "procedure"),
)
_BUREAU_DOCS: tuple[tuple[str, str, str], ...] = (
    ("QP-01", "检验检测工作程序 Testing procedure", "procedure"),
    ("WI-01", "样品管理作业指导书 Sample handling instruction", "instruction"),
    ("FM-01", "检验原始记录表 Raw test record form", "form"),
    (
        "WI-02",
        "仪器设备期间核查作业指导书 Intermediate check instruction",
        "instruction",
    ),
    ("QP-02", "客户投诉处理程序 Complaint handling procedure", "procedure"),
    ("FM-02", "内部质量控制记录表 Internal quality control form", "form"),
    ("WI-03", "检验方法验证作业指导书 Method verification instruction", "instruction"),
    ("QP-03", "外部供应品控制程序 Purchased supplies procedure", "procedure"),
    (
        "WI-04",
        "测量不确定度评定作业指导书 Measurement uncertainty instruction",
        "instruction",
    ),
    ("FM-03", "设备维护保养记录表 Equipment maintenance form", "form"),
    ("RC-01", "人员培训记录 Training record", "record"),
    ("QP-04", "能力验证管理程序 Proficiency testing procedure", "procedure"),
)
_CLAUSES = (
    "4.4",
    "6.1",
    "7.1.5",
    "7.2",
    "7.5.3",
    "8.4",
    "8.5.1",
    "8.7",
    "9.1.3",
    "10.2",
)
_PROBLEMS = (
    "原始记录缺少复核签名 Raw records lack the checker's signature",
    "仪器期间核查超期 Intermediate checks of instruments were overdue",
    "样品标识不清 Samples were not identified clearly",
    "培训记录不完整 Training records were incomplete",
    "作业指导书未受控 An uncontrolled copy of an instruction was in use",
    "客户投诉未在时限内答复 A complaint was not answered in time",
    "环境温湿度记录缺失 Temperature and humidity records were missing",
    "供应商评价未按期进行 Supplier evaluation was not done on time",
)
_METHODS = ("5 Whys 五问法", "鱼骨图 Fishbone diagram", "故障树 Fault tree analysis")
_SOURCES = ("complaint", "supervision", "external_audit", "management_review")
_CLASSES = ("major", "minor", "observation", "opportunity")
_DUE_DAYS = {"major": 30, "minor": 60, "observation": 90, "opportunity": 120}
_INDICATORS: tuple[tuple[str, str, str, str, str, int, int], ...] = (
    # suffix, name, measure, direction, target, low/high value in hundredths
    (
        "OTR",
        "检验报告按时出具率 On-time report rate",
        "%",
        "higher_is_better",
        "95.00",
        9100,
        10000,
    ),
    (
        "CPL",
        "客户投诉率 Complaints per 1000 reports",
        "‰",
        "lower_is_better",
        "2.00",
        40,
        320,
    ),
)


@dataclass(frozen=True, slots=True)
class Scale:
    """How much the demo records (the story is the same at every scale)."""

    bureaus: int
    months: int
    start_docs: int  # controlled documents per bureau at the start
    new_docs_per_year: int  # further documents per bureau and year
    findings_per_month: int  # findings per bureau and month outside audits
    audit_findings: int  # most findings one internal audit raises


SIZES: dict[str, Scale] = {
    "tiny": Scale(
        bureaus=6,
        months=8,
        start_docs=2,
        new_docs_per_year=2,
        findings_per_month=0,
        audit_findings=3,
    ),
    "small": Scale(
        bureaus=6,
        months=24,
        start_docs=4,
        new_docs_per_year=8,
        findings_per_month=2,
        audit_findings=4,
    ),
    "large": Scale(
        bureaus=320,
        months=120,
        start_docs=6,
        new_docs_per_year=8,
        findings_per_month=2,
        audit_findings=5,
    ),
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What the demo recorded."""

    seed: int
    size: str
    first_day: date
    last_day: date
    events: int  # events the demo appended
    ledger_size: int
    units: int
    users: int
    documents: int
    audits: int
    findings: int
    indicators: int
    reviews: int
    signatures: int
    admin: str


class DemoRandom:
    """A small deterministic generator (splitmix64) for reproducible demos."""

    _MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        digest = hashlib.sha256(f"qms-demo:{seed}".encode()).digest()
        self.state = int.from_bytes(digest[:8], "big")

    def next(self) -> int:
        """Return the next 64-bit value."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & self._MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._MASK
        return z ^ (z >> 31)

    def between(self, low: int, high: int) -> int:
        """Return an integer in [low, high]."""
        return low + self.next() % (high - low + 1)

    def percent(self, chance: int) -> bool:
        """Return True with a chance of `chance` percent."""
        return self.next() % 100 < chance

    def pick(self, items: Sequence[str]) -> str:
        """Return one of `items`."""
        return items[self.next() % len(items)]


def demo_password(user_id: str, seed: int = 1) -> str:
    """Return the demo password of `user_id` (seed 1: `demo-<user_id>`)."""
    return f"demo-{user_id}" if seed == 1 else f"demo-{seed}-{user_id}"


@dataclass(slots=True)
class _Bureau:
    code: str
    name_zh: str
    name_en: str
    author: str
    approver: str
    owner: str
    manager: str


@dataclass(slots=True)
class _Doc:
    doc_id: str
    unit: str
    title: str
    kind: str
    author: str
    approver: str
    revision: str = "A"
    withdraw: bool = False


@dataclass(slots=True)
class _Finding:
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


Step = Callable[[], None]


class _Demo:
    """One run of the demo: people, an agenda of dated steps, and the clock."""

    def __init__(
        self,
        service: Service,
        store: EventStore,
        scale: Scale,
        seed: int,
        clock: FixedClock | None,
        progress: Callable[[int, int], None] | None,
        *,
        bulk: bool = False,
    ) -> None:
        self.service, self.store, self.scale, self.seed = service, store, scale, seed
        self.clock, self.progress = clock, progress
        # Bulk: a day's commands per transaction, and the read models caught up
        # before each management review and at the end. Either way each person
        # signs within one signing session (password checked at the first signing).
        self.batch: CommandBatch | None = service.batch(projectors=()) if bulk else None
        self.sessions: dict[str, SigningSession] = {}
        self.rng = DemoRandom(seed)
        self.first = add_months(LAST_DAY + timedelta(days=1), -scale.months)
        self.today = self.first
        self.moment = datetime.combine(self.first, time(8), UTC)
        self.agenda: list[tuple[date, int, Step]] = []
        self.order = 0
        self.events = self.signatures = 0
        self.hq = HQ_CODE
        self.admin = ADMIN_ID
        self.names: set[str] = set()
        self.people: dict[str, str] = {}
        self.bureaus: list[_Bureau] = []
        self.auditors: list[str] = []
        self.hq_manager = "hq.manager"
        self.docs: list[_Doc] = []
        self.finding_seq: dict[int, int] = {}
        self.audit_ids: set[str] = set()
        self.values: dict[tuple[str, date], int] = {}
        self.documents = 0
        self.findings = self.audits = self.reviews = self.indicators = 0
        self.reopened = self.due_changed = False

    # ------------------------------------------------------------------ plumbing

    def at(self, day: date, step: Step) -> None:
        """Put `step` on the agenda for `day` (dropped after the last day)."""
        if day <= LAST_DAY:
            self.order += 1
            heapq.heappush(self.agenda, (max(day, self.today), self.order, step))

    def later(self, low: int, high: int, step: Step) -> None:
        self.at(self.today + timedelta(days=self.rng.between(low, high)), step)

    def record(self, command: Command, actor: str, *, sign: bool = False) -> None:
        """Record `command` as `actor` at the next moment of the current day."""
        moment = max(self.moment + _STEP, datetime.combine(self.today, time(8), UTC))
        if self.batch is not None and moment.date() != self.moment.date():
            self.batch.flush()  # recorded_at stays on the story's day
        self.moment = moment
        if self.clock is not None:
            self.clock.current = self.moment
        stamped = _with_time(command, self.moment)
        session = self.session(actor) if sign else None
        if self.batch is not None:
            self.events += self.batch.handle(stamped, actor, session=session)
        else:
            self.events += len(self.service.handle(stamped, actor, session=session))
        self.signatures += int(sign)

    def session(self, actor: str) -> SigningSession:
        """Return the actor's signing session (password checked at the first signing)."""
        found = self.sessions.get(actor)
        if found is None:
            found = self.service.signing_session(actor, demo_password(actor, self.seed))
            self.sessions[actor] = found
        return found

    def catch_up(self) -> None:
        """Append what the batch holds and bring the read models up to date."""
        if self.batch is not None:
            self.batch.flush()
            catch_up(self.store.engine, self.store)

    def blob(self, name: str, text: str) -> dict[str, JSONValue]:
        """Store a text attachment and return its blob reference."""
        data = text.encode("utf-8")
        digest = self.store.put_blob(data)
        return {
            "blob": digest,
            "size": len(data),
            "name": name,
            "media_type": MEDIA_TEXT,
        }

    def name(self) -> str:
        """Return a new printed Chinese name (three characters once two run short)."""
        crowded = len(self.names) >= len(_SURNAMES) * len(_GIVEN) // 2
        while True:
            candidate = self.rng.pick(_SURNAMES) + self.rng.pick(_GIVEN)
            if crowded:  # large networks: more people than two-character names
                candidate += self.rng.pick(_GIVEN_ONE)
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def run(self) -> None:
        """Record the whole story, day by day."""
        self.setup()
        total = (LAST_DAY - self.first).days + 1
        while self.agenda:
            day, _, step = heapq.heappop(self.agenda)
            if day != self.today:
                self.today = day
                if self.progress is not None:
                    self.progress((day - self.first).days, total)
            step()
        self.catch_up()
        for session in self.sessions.values():
            session.close()
        if self.progress is not None:
            self.progress(total, total)

    # ------------------------------------------------------------------ people

    def setup(self) -> None:
        """Units, people, roles and passwords on the first day; then the plans."""
        self.adopt_or_create_admin()
        if len(self.bureaus) == 0:
            for index in range(self.scale.bureaus):
                if index < len(BUREAUS):
                    code, zh, en = BUREAUS[index]
                else:
                    n = index + 1
                    code, zh, en = f"B{n:03d}", f"第{n:03d}分局", f"Bureau {n:03d}"
                self.record(
                    un.CreateUnit(
                        code=code, name_zh=zh, name_en=en, kind="bureau", parent=self.hq
                    ),
                    self.admin,
                )
                low = code.lower()
                self.bureaus.append(
                    _Bureau(
                        code,
                        zh,
                        en,
                        f"{low}.author",
                        f"{low}.approver",
                        f"{low}.owner",
                        f"{low}.manager",
                    )
                )
        self.auditors = ["hq.auditor1", "hq.auditor2", "hq.auditor3"]
        hq_people: list[tuple[str, list[str]]] = [
            (self.hq_manager, ["manager"]),
            ("hq.author", ["author"]),
            ("hq.approver", ["approver"]),
            *[(a, ["auditor"]) for a in self.auditors],
            ("hq.viewer", ["viewer"]),
            ("hq.certifier", ["certifier"]),
        ]
        for user_id, roles in hq_people:
            self.enrol(user_id, self.hq, [(r, self.hq) for r in roles])
        for b in self.bureaus:
            self.enrol(b.author, b.code, [("author", b.code)])
            self.enrol(b.approver, b.code, [("approver", b.code)])
            self.enrol(b.owner, b.code, [("owner", b.code)])
            self.enrol(b.manager, b.code, [("manager", b.code), ("owner", b.code)])
        self.plan_documents()
        self.plan_indicators()
        self.plan_audits()
        self.plan_findings()
        self.plan_reviews()

    def adopt_or_create_admin(self) -> None:
        """Use the first administrator of an empty ledger, or create one."""
        if not self.store.is_initialized():
            self.store.initialize()
        _refuse_non_empty(self.store)
        directory = self.service.directory()
        hqs = [c for c, u in directory.units.items() if u.kind == "headquarters"]
        if directory.users:
            (entry,) = directory.users.values()
            self.admin, self.hq = entry.user_id, entry.unit
            return
        self.hq = hqs[0] if hqs else HQ_CODE
        if self.clock is not None:
            self.clock.current = self.moment
        self.events += len(
            self.service.create_first_admin(
                ADMIN_ID,
                ADMIN_NAME,
                self.hq,
                "总局",
                "Headquarters",
                demo_password(ADMIN_ID, self.seed),
                email=f"{ADMIN_ID}@qms.example",
            )
        )
        self.names.add(ADMIN_NAME)

    def enrol(self, user_id: str, unit: str, roles: list[tuple[str, str]]) -> None:
        """Register a person, grant roles and let them choose their demo password."""
        temporary = f"temporary-{user_id}-{self.seed}"
        name = self.name()
        self.people[user_id] = name
        self.record(
            us.RegisterUser(
                user_id=user_id,
                name=name,
                unit=unit,
                email=f"{user_id}@qms.example",
                temporary_password=temporary,
            ),
            self.admin,
        )
        for role, scope in roles:
            self.record(
                us.GrantRole(user_id=user_id, role=role, scope=scope), self.admin
            )
        self.events += len(
            self.service.change_password(
                user_id, temporary, demo_password(user_id, self.seed)
            )
        )

    # ------------------------------------------------------------------ documents

    def plan_documents(self) -> None:
        for index, (suffix, title, kind) in enumerate(_HQ_DOCS):
            d = _Doc(
                f"{self.hq}-{suffix}", self.hq, title, kind, "hq.author", "hq.approver"
            )
            self.docs.append(d)
            self.at(self.first + timedelta(days=1 + index), self.doc_step_draft(d))
        years = max(1, self.scale.months // 12)
        for bi, b in enumerate(self.bureaus):
            count = self.scale.start_docs + self.scale.new_docs_per_year * years
            for n in range(count):
                suffix, title, kind = _BUREAU_DOCS[n % len(_BUREAU_DOCS)]
                if n >= len(_BUREAU_DOCS):
                    suffix = f"{suffix}-{n // len(_BUREAU_DOCS) + 1}"
                d = _Doc(
                    f"{b.code}-{suffix}", b.code, title, kind, b.author, b.approver
                )
                d.withdraw = bi == 0 and n == 1
                self.docs.append(d)
                if n < self.scale.start_docs:
                    day = self.first + timedelta(days=self.rng.between(1, 20))
                else:
                    span = (LAST_DAY - self.first).days
                    day = self.first + timedelta(days=self.rng.between(30, span))
                self.at(day, self.doc_step_draft(d))

    def doc_content(self, d: _Doc, note: str) -> dict[str, JSONValue]:
        text = (
            f"{d.doc_id} {d.title}\n修订 Revision {d.revision}\n{note}\n"
            f"适用单位 Unit: {d.unit}\n"
        )
        return self.blob(f"{d.doc_id}-{d.revision}.txt", text)

    def doc_step_draft(self, d: _Doc) -> Step:
        def step() -> None:
            content = self.doc_content(d, "初稿 First draft")
            self.record(
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
            self.documents += 1
            if self.rng.percent(20):
                self.later(1, 3, self.doc_step_update(d, submit=True))
            else:
                self.later(1, 3, self.doc_step_submit(d))

        return step

    def doc_step_update(self, d: _Doc, *, submit: bool) -> Step:
        def step() -> None:
            content = self.doc_content(d, f"修改稿 Amended {self.today.isoformat()}")
            self.record(
                doc.UpdateDocumentDraft(doc_id=d.doc_id, content=content), d.author
            )
            if submit:
                self.later(1, 2, self.doc_step_submit(d))

        return step

    def doc_step_submit(self, d: _Doc) -> Step:
        def step() -> None:
            self.record(doc.SubmitDocument(doc_id=d.doc_id), d.author)
            self.later(2, 5, self.doc_step_review(d))

        return step

    def doc_step_review(self, d: _Doc) -> Step:
        def step() -> None:
            if self.rng.percent(15):
                self.record(
                    doc.ReviewDocument(
                        doc_id=d.doc_id,
                        outcome="changes_requested",
                        comment="请补充记录要求 Please add the record requirements",
                    ),
                    d.approver,
                )
                self.later(2, 4, self.doc_step_update(d, submit=True))
                return
            self.record(
                doc.ReviewDocument(
                    doc_id=d.doc_id, outcome="endorsed", comment="同意 Endorsed"
                ),
                d.approver,
            )
            self.later(1, 3, self.doc_step_approve(d))

        return step

    def doc_step_approve(self, d: _Doc) -> Step:
        def step() -> None:
            self.record(doc.ApproveDocument(doc_id=d.doc_id), d.approver, sign=True)
            self.later(1, 5, self.doc_step_effective(d))

        return step

    def doc_step_effective(self, d: _Doc) -> Step:
        def step() -> None:
            self.record(
                doc.MakeDocumentEffective(doc_id=d.doc_id, effective_on=self.today),
                d.approver,
            )
            targets = [b.code for b in self.bureaus] if d.unit == self.hq else [d.unit]
            self.record(
                doc.DistributeDocument(doc_id=d.doc_id, units=targets), d.author
            )
            if d.withdraw:
                self.later(60, 120, self.doc_step_withdraw(d))
            elif self.rng.percent(35):
                self.later(90, 400, self.doc_step_revise(d))
            else:
                self.later(365, 370, self.doc_step_periodic(d))

        return step

    def doc_step_periodic(self, d: _Doc) -> Step:
        def step() -> None:
            self.record(
                doc.CompletePeriodicReview(
                    doc_id=d.doc_id,
                    reviewed_on=self.today,
                    comment="定期评审、继续适用 Periodic review: still suitable",
                ),
                d.approver,
            )
            if self.rng.percent(35):
                self.later(30, 300, self.doc_step_revise(d))
            else:
                self.later(365, 370, self.doc_step_periodic(d))

        return step

    def doc_step_revise(self, d: _Doc) -> Step:
        def step() -> None:
            d.revision = chr(ord(d.revision) + 1)
            content = self.doc_content(d, "换版 New revision")
            self.record(
                doc.DraftDocument(
                    doc_id=d.doc_id,
                    unit=d.unit,
                    title=d.title,
                    kind=d.kind,
                    content=content,
                ),
                d.author,
            )
            self.later(1, 3, self.doc_step_submit(d))

        return step

    def doc_step_withdraw(self, d: _Doc) -> Step:
        def step() -> None:
            self.record(
                doc.WithdrawDocument(
                    doc_id=d.doc_id,
                    reason="业务取消、表格不再使用 The service ended; the form is no longer used",
                ),
                d.approver,
            )

        return step

    # ------------------------------------------------------------------ findings

    def new_finding(self, b: _Bureau, raiser: str, classification: str) -> _Finding:
        year = self.today.year
        n = self.finding_seq.get(year, 0) + 1
        self.finding_seq[year] = n
        self.findings += 1
        f = _Finding(
            f"{year}-{n:04d}", b.code, raiser, b.owner, b.manager, classification
        )
        if self.findings % 7 == 3:
            f.stall = self.rng.pick(("raised", "contained", "actions_planned"))
        f.reopen = not self.reopened and self.findings >= 4 and f.stall is None
        self.reopened = self.reopened or f.reopen
        f.due_change = not self.due_changed and self.findings >= 2
        self.due_changed = self.due_changed or f.due_change
        return f

    def raise_finding(
        self, b: _Bureau, raiser: str, source: str, audit: str | None
    ) -> str:
        classification = _CLASSES[self.findings % len(_CLASSES)]
        f = self.new_finding(b, raiser, classification)
        problem = self.rng.pick(_PROBLEMS)
        evidence = self.blob(
            f"evidence-{f.finding_id}.txt",
            f"{f.finding_id} {b.name_zh} {b.name_en}\n{problem}\n"
            f"{self.today.isoformat()}\n",
        )
        criterion = {"clause": f"ISO 9001:2015 {self.rng.pick(_CLAUSES)}"}
        self.record(
            fi.RaiseFinding(
                finding_id=f.finding_id,
                unit=b.code,
                source=source,
                classification=classification,
                criterion=criterion,
                description=problem,
                evidence=[evidence],
                due_on=self.today + timedelta(days=_DUE_DAYS[classification]),
                audit=audit,
            ),
            raiser,
        )
        if f.due_change:
            self.later(5, 10, self.finding_step_due(f))
        if f.stall != "raised":
            self.later(1, 3, self.finding_step_contain(f))
        return f.finding_id

    def finding_step_due(self, f: _Finding) -> Step:
        def step() -> None:
            self.record(
                fi.ChangeDueDate(
                    finding_id=f.finding_id,
                    due_on=self.today + timedelta(days=120),
                    reason="需采购新设备、交货期延长 New equipment must be bought; delivery takes longer",
                ),
                f.manager,
            )

        return step

    def finding_step_contain(self, f: _Finding) -> Step:
        def step() -> None:
            self.record(
                fi.ContainFinding(
                    finding_id=f.finding_id,
                    action="立即隔离受影响的记录并复核 Affected records isolated and re-checked",
                ),
                f.owner,
            )
            if f.stall != "contained":
                self.later(3, 10, self.finding_step_cause(f))

        return step

    def finding_step_cause(self, f: _Finding) -> Step:
        def step() -> None:
            self.record(
                fi.AnalyseCause(
                    finding_id=f.finding_id,
                    cause="程序未规定复核职责 The procedure does not assign the check",
                    method=self.rng.pick(_METHODS),
                ),
                f.manager,
            )
            self.later(2, 7, self.finding_step_plan(f))

        return step

    def finding_step_plan(self, f: _Finding) -> Step:
        def step() -> None:
            count = self.rng.between(1, 2)
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
                        due_on=self.today + timedelta(days=self.rng.between(14, 40)),
                    )
                )
            self.record(
                fi.PlanActions(finding_id=f.finding_id, actions=plans), f.manager
            )
            if f.stall != "actions_planned":
                for action_id in list(f.open_actions):
                    self.later(7, 35, self.finding_step_complete(f, action_id))

        return step

    def finding_step_complete(self, f: _Finding, action_id: str) -> Step:
        def step() -> None:
            evidence = self.blob(
                f"action-{f.finding_id}-{action_id}.txt",
                f"{f.finding_id} {action_id}\n培训签到表及修订后的程序 "
                f"Training attendance and the revised procedure\n{self.today}\n",
            )
            self.record(
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
                self.later(7, 20, self.finding_step_verify(f))

        return step

    def verifier(self, f: _Finding) -> str:
        candidates = [a for a in self.auditors if a != f.raiser]
        return self.rng.pick(candidates)

    def finding_step_verify(self, f: _Finding) -> Step:
        def step() -> None:
            effective = not self.rng.percent(10)
            comment = (
                "抽查三个月记录、未再发生 Three months of records checked; no recurrence"
                if effective
                else "问题再次发生、措施无效 The problem recurred; the actions were not effective"
            )
            self.record(
                fi.VerifyEffectiveness(
                    finding_id=f.finding_id, effective=effective, comment=comment
                ),
                self.verifier(f),
                sign=True,
            )
            if effective:
                self.later(1, 5, self.finding_step_close(f))
            else:
                self.later(3, 10, self.finding_step_cause(f))

        return step

    def finding_step_close(self, f: _Finding) -> Step:
        def step() -> None:
            self.record(
                fi.CloseFinding(finding_id=f.finding_id, closed_on=self.today),
                self.verifier(f),
            )
            if f.reopen:
                f.reopen = False
                self.later(20, 40, self.finding_step_reopen(f))

        return step

    def finding_step_reopen(self, f: _Finding) -> Step:
        def step() -> None:
            self.record(
                fi.ReopenFinding(
                    finding_id=f.finding_id,
                    reason="外部审核发现同类问题 The external audit found the same problem",
                ),
                f.manager,
            )
            self.later(3, 10, self.finding_step_cause(f))

        return step

    def plan_findings(self) -> None:
        """Findings from complaints, supervision and external audits, each month."""
        month = self.first
        while month <= LAST_DAY:
            for b in self.bureaus:
                for _ in range(self.scale.findings_per_month):
                    day = month + timedelta(days=self.rng.between(0, 27))
                    source = self.rng.pick(_SOURCES)
                    self.at(day, self.finding_from(b, source))
            month = add_months(month, 1)

    def finding_from(self, b: _Bureau, source: str) -> Step:
        def step() -> None:
            self.raise_finding(b, b.manager, source, None)

        return step

    # ------------------------------------------------------------------ audits

    def plan_audits(self) -> None:
        """Each bureau is audited once a year by headquarters auditors."""
        span = (LAST_DAY - self.first).days
        per_year = min(span, 365)
        for start in range(0, span, 365):
            for bi, b in enumerate(self.bureaus):
                offset = (
                    start + 20 + (bi * (per_year - 60)) // max(1, len(self.bureaus))
                )
                self.at(
                    self.first + timedelta(days=offset), self.audit_step_plan(b, bi)
                )

    def audit_step_plan(self, b: _Bureau, index: int) -> Step:
        def step() -> None:
            audit_id = f"{self.today.year}-{b.code}"
            while audit_id in self.audit_ids:
                audit_id += "X"
            self.audit_ids.add(audit_id)
            lead = self.auditors[(index + self.today.year) % len(self.auditors)]
            team = [a for a in self.auditors if a != lead][:1]
            begin = self.today + timedelta(days=14)
            self.record(
                au.PlanAudit(
                    audit_id=audit_id,
                    programme=str(self.today.year),
                    unit=b.code,
                    scope="质量管理体系全要素 Whole quality management system",
                    criteria=["ISO 9001:2015", f"{self.hq}-QM-01 A"],
                    lead_auditor=lead,
                    team=team,
                    planned_start=begin,
                    planned_end=begin + timedelta(days=2),
                ),
                lead,
            )
            self.audits += 1
            self.at(begin, self.audit_step_start(audit_id, b, lead))

        return step

    def audit_step_start(self, audit_id: str, b: _Bureau, lead: str) -> Step:
        def step() -> None:
            self.record(au.StartAudit(audit_id=audit_id, started_on=self.today), lead)
            self.later(1, 2, self.audit_step_findings(audit_id, b, lead))

        return step

    def audit_step_findings(self, audit_id: str, b: _Bureau, lead: str) -> Step:
        def step() -> None:
            count = self.rng.between(1, self.scale.audit_findings)
            found = [
                self.raise_finding(b, lead, "internal_audit", audit_id)
                for _ in range(count)
            ]
            self.later(2, 4, self.audit_step_report(audit_id, lead, found))

        return step

    def audit_step_report(self, audit_id: str, lead: str, found: list[str]) -> Step:
        def step() -> None:
            self.record(
                au.ReportAudit(
                    audit_id=audit_id,
                    summary=f"体系运行基本有效、发现{len(found)}项 "
                    f"The system is broadly effective; {len(found)} findings",
                    findings=found,
                ),
                lead,
                sign=True,
            )
            self.later(30, 60, self.audit_step_close(audit_id, lead))

        return step

    def audit_step_close(self, audit_id: str, lead: str) -> Step:
        def step() -> None:
            self.record(au.CloseAudit(audit_id=audit_id, closed_on=self.today), lead)

        return step

    # ------------------------------------------------------------------ indicators

    def plan_indicators(self) -> None:
        period0 = self.first.strftime("%Y-%m")
        months = self.scale.months
        for bi, b in enumerate(self.bureaus):
            for ii, (suffix, name, measure, direction, target, low, high) in enumerate(
                _INDICATORS
            ):
                indicator_id = f"{b.code}-{suffix}"
                self.record(
                    ind.DefineIndicator(
                        indicator_id=indicator_id,
                        unit=b.code,
                        owner=b.owner,
                        name=name,
                        measure=measure,
                        direction=direction,
                        target=target,
                        frequency="monthly",
                        method="月度统计 Monthly count from the report register",
                        effective_from=period0,
                    ),
                    b.manager,
                )
                self.indicators += 1
                for m in range(months):
                    period = add_months(self.first, m)
                    day = add_months(self.first, m + 1) + timedelta(
                        days=self.rng.between(2, 7)
                    )
                    value = self.rng.between(low, high)
                    self.values[(indicator_id, period)] = value
                    self.at(day, self.measure_step(indicator_id, b, period, value))
                if bi == 0 and ii == 0:
                    change = add_months(self.first, months // 2)
                    self.at(change, self.target_step(indicator_id, b, change))
                if (bi, ii) in ((1, 0), (2, 1)):
                    m = months // 3 + bi
                    fix = add_months(self.first, m + 1) + timedelta(days=12)
                    period = add_months(self.first, m)
                    self.at(fix, self.correct_step(indicator_id, b, period, bi == 1))

    def measure_step(
        self, indicator_id: str, b: _Bureau, period: date, hundredths: int
    ) -> Step:
        def step() -> None:
            self.record(
                ind.RecordMeasurement(
                    indicator_id=indicator_id,
                    period=period.strftime("%Y-%m"),
                    value=_decimal(hundredths),
                    note="",
                ),
                b.owner,
            )

        return step

    def target_step(self, indicator_id: str, b: _Bureau, day: date) -> Step:
        def step() -> None:
            self.record(
                ind.ChangeTarget(
                    indicator_id=indicator_id,
                    target="97.00",
                    effective_from=day.strftime("%Y-%m"),
                    reason="连续一年达标、提高目标 Target met for a year; raised",
                ),
                b.manager,
            )

        return step

    def correct_step(
        self, indicator_id: str, b: _Bureau, period: date, by_owner: bool
    ) -> Step:
        def step() -> None:
            self.record(
                ind.CorrectMeasurement(
                    indicator_id=indicator_id,
                    period=period.strftime("%Y-%m"),
                    value=_decimal(
                        self.values[(indicator_id, period)] + (-110 if by_owner else 35)
                    ),
                    reason="统计遗漏了补发的报告 Late-issued reports were left out of the count",
                ),
                b.owner if by_owner else b.manager,
            )

        return step

    # ------------------------------------------------------------------ reviews

    def plan_reviews(self) -> None:
        for year in range(self.first.year, LAST_DAY.year + 1):
            day = date(year, 3, 20)
            if self.first <= day:
                self.at(day, self.review_step(year))

    def review_step(self, year: int) -> Step:
        def step() -> None:
            # The review looked at the status report as known now; its digest pins
            # exactly that report (ISO 9001 9.3 inputs, REQUIREMENTS R19).
            self.catch_up()
            moment = self.service.clock.now()
            report = build_report(
                self.store.engine, self.store, as_of=moment, unit=self.hq
            )
            attendees = [
                self.hq_manager,
                *self.auditors,
                *(b.manager for b in self.bureaus),
            ]
            owner = self.bureaus[year % len(self.bureaus)].manager
            self.record(
                rv.HoldManagementReview(
                    review_id=f"MR-{year}",
                    unit=self.hq,
                    held_on=self.today,
                    attendees=attendees,
                    inputs=[
                        {
                            "report": "qms-status",
                            "unit": self.hq,
                            "as_of": format_time(moment),
                            "size": report.size,
                            "sha256": report.sha256(),
                        }
                    ],
                    decisions=[
                        f"{year - 1}年度质量目标基本实现 The {year - 1} objectives were broadly met",
                        "加强仪器期间核查 Strengthen intermediate checks",
                    ],
                    actions=[
                        rv.ReviewAction(
                            description="组织计量专项培训 Hold metrology training",
                            owner=owner,
                            due_on=self.today + timedelta(days=90),
                        )
                    ],
                ),
                self.hq_manager,
            )
            self.reviews += 1

        return step


def _decimal(hundredths: int) -> str:
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _with_time(command: Command, moment: datetime) -> Command:
    """Return `command` with `occurred_at` set to `moment`."""
    return replace(command, occurred_at=moment)


_FIRST_ADMIN_TYPES = frozenset(
    {"user.registered", "user.role_granted", "user.esign_key_issued", "unit.created"}
)


def _refuse_non_empty(store: EventStore) -> None:
    """Raise unless the ledger holds at most the genesis and the first administrator.

    Raises:
        EventRejectedError: a QMS record exists already.
    """
    users: set[str] = set()
    for event in store.read():
        kind = stream_kind(event.stream)
        if kind == "ledger":
            continue
        if kind == "user":
            users.add(event.stream)
        if (
            kind in ("unit", "user")
            and event.type in _FIRST_ADMIN_TYPES
            and (
                event.type != "unit.created" or event.data.get("kind") == "headquarters"
            )
            and len(users) <= 1
        ):
            continue
        message = (
            "the demo fills an empty ledger only; "
            f"event {event.seq} ({event.type} on {event.stream}) exists: "
            "run the demo on a new ledger (a new QMS_INSTANCE or database; "
            "a demo that was stopped leaves its records behind)"
        )
        raise EventRejectedError(message, {"ledger": [message]})


def demo_start(size: str = "small", *, scale: Scale | None = None) -> datetime:
    """Return the moment the demo of `size` starts (for a FixedClock made beforehand).

    Raises:
        EventRejectedError: `size` is unknown.
    """
    scale = scale or _scale(size)
    first = add_months(LAST_DAY + timedelta(days=1), -scale.months)
    return datetime.combine(first, time(8), UTC)


def _scale(size: str) -> Scale:
    scale = SIZES.get(size)
    if scale is None:
        message = f"size must be one of {', '.join(SIZES)}"
        raise EventRejectedError(message, {"size": [message]})
    return scale


def fill_demo(
    service: Service,
    store: EventStore,
    *,
    seed: int = 1,
    size: str = "small",
    progress: Callable[[int, int], None] | None = None,
    clock: FixedClock | None = None,
    scale: Scale | None = None,
    bulk: bool | None = None,
) -> DemoSummary:
    """Fill an empty ledger with a reproducible two-year QMS story.

    `clock` must be the clock the service and the store read (default: the
    service's clock when it is a `FixedClock`); it is moved day by day from the
    first day to 2026-10-31. Without a fixed clock `recorded_at` is the real time
    and only `occurred_at` follows the story. `progress(done, total)` counts days.
    `scale` replaces the preset of `size` (the summary still names `size`).

    Each person signs within one signing session of the demo's run: the password
    is checked (the key unsealed) at their first signing, as 21 CFR 11.200(a)(1)(i)
    allows for a series of signings in one continuous period of access.

    `bulk` (default: for `large` only) records a day's commands per transaction
    through `Service.batch` with the same rules and skips the inline projections:
    the read models are caught up before each management review (which pins the
    status report) and at the end.

    Raises:
        EventRejectedError: the ledger holds QMS records already, or `size` is unknown.
        NotAuthorizedError: a rule refused a step (a defect of the demo).
        StorageError: the database failed.
    """
    scale = scale or _scale(size)
    if clock is None and isinstance(service.clock, FixedClock):
        clock = service.clock
    if bulk is None:
        bulk = size == "large"
    demo = _Demo(service, store, scale, seed, clock, progress, bulk=bulk)
    demo.run()
    directory = service.directory()
    return DemoSummary(
        seed=seed,
        size=size,
        first_day=demo.first,
        last_day=LAST_DAY,
        events=demo.events,
        ledger_size=store.size(),
        units=len(directory.units),
        users=len(directory.users),
        documents=demo.documents,
        audits=demo.audits,
        findings=demo.findings,
        indicators=demo.indicators,
        reviews=demo.reviews,
        signatures=demo.signatures,
        admin=demo.admin,
    )


__all__ = [
    "SIZES",
    "DemoRandom",
    "DemoSummary",
    "Scale",
    "demo_password",
    "demo_start",
    "fill_demo",
]
