"""The demo's recorder: the clock, the agenda of dated steps, the cast, and recording commands."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from ledger.clock import FixedClock
from ledger.domain import Command, add_months
from ledger.domain.units import HQ_CODE
from ledger.integrity.canonical import JSONValue
from ledger.service import CommandBatch, Service
from ledger.service.vault import SigningSession
from ledger.store import EventStore
from projections.runner import catch_up
from web.demo.scale import LAST_DAY, DemoRandom, Scale, demo_password
from web.demo.story import ADMIN_ID, GIVEN, GIVEN_ONE, MEDIA_TEXT, SURNAMES

STEP = timedelta(seconds=20)  # clock advance per recorded command

Step = Callable[[], None]


@dataclass(slots=True)
class Bureau:
    """A bureau of the demo and the people who keep its records."""

    code: str
    name_zh: str
    name_en: str
    author: str
    approver: str
    owner: str
    manager: str


class Recorder:
    """One run of the demo: the cast, an agenda of dated steps, and the clock."""

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
        self.bureaus: list[Bureau] = []
        self.auditors: list[str] = []
        self.hq_manager = "hq.manager"

    def at(self, day: date, step: Step) -> None:
        """Put `step` on the agenda for `day` (dropped after the last day)."""
        if day <= LAST_DAY:
            self.order += 1
            heapq.heappush(self.agenda, (max(day, self.today), self.order, step))

    def later(self, low: int, high: int, step: Step) -> None:
        """Put `step` on the agenda `low` to `high` days after the current day."""
        self.at(self.today + timedelta(days=self.rng.between(low, high)), step)

    def record(self, command: Command, actor: str, *, sign: bool = False) -> None:
        """Record `command` as `actor` at the next moment of the current day."""
        moment = max(self.moment + STEP, datetime.combine(self.today, time(8), UTC))
        if self.batch is not None and moment.date() != self.moment.date():
            self.batch.flush()  # recorded_at stays on the story's day
        self.moment = moment
        if self.clock is not None:
            self.clock.current = self.moment
        stamped = with_time(command, self.moment)
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
        # Bulk: stored in the transaction of the day's commands that name it.
        put = self.batch.put_blob if self.batch is not None else self.store.put_blob
        digest = put(data)
        return {
            "blob": digest,
            "size": len(data),
            "name": name,
            "media_type": MEDIA_TEXT,
        }

    def name(self) -> str:
        """Return a new printed Chinese name (three characters once two run short)."""
        crowded = len(self.names) >= len(SURNAMES) * len(GIVEN) // 2
        while True:
            candidate = self.rng.pick(SURNAMES) + self.rng.pick(GIVEN)
            if crowded:  # large networks: more people than two-character names
                candidate += self.rng.pick(GIVEN_ONE)
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def play(self) -> None:
        """Take the steps on the agenda day by day, then close the signing sessions."""
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


def with_time(command: Command, moment: datetime) -> Command:
    """Return `command` with `occurred_at` set to `moment`."""
    return replace(command, occurred_at=moment)
