"""Random command sequences through the real service: a rebuild gives the same tables.

Hypothesis draws sequences of QMS commands (valid and invalid, by whoever it picks);
each goes through `Service.handle` with the read models updated in the same
transaction. A refused command must leave the ledger and the read models as they
were; after every sequence, dropping and rebuilding the read models from the ledger
must give exactly the tables the incremental updates gave, and the ledger verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.clock import FixedClock
from ledger.domain import Command
from ledger.domain import documents as d
from ledger.domain import findings as f
from ledger.domain import indicators as i
from ledger.errors import EventRejectedError, NotAuthorizedError, NotFoundError
from ledger.service import Service
from ledger.store import EventStore
from ledger.store.verify import verify_store
from projections.runner import InlineProjector, rebuild
from projections.tables import create_all
from tests.support.projections import dump
from tests.support.service import build_service, secret

DOCS = ("QP-01", "QP-02")
FINDINGS = ("2026-0001", "2026-0002")
INDICATORS = ("B1-OTR",)
ACTORS = ("alice", "bob", "carol", "dave", "erin", "mia", "vic")


def _blob(store: EventStore, text: str) -> dict[str, Any]:
    data = text.encode()
    return {
        "blob": store.put_blob(data),
        "size": len(data),
        "name": "f.txt",
        "media_type": "text/plain",
    }


def _commands(
    store: EventStore, today: date
) -> dict[str, Callable[[str, int], Command]]:
    """Command makers by name: (record id, a small number) -> command."""
    return {
        "draft": lambda rid, n: d.DraftDocument(doc_id=rid, unit="B1", title=f"Procedure {n}", kind="procedure", content=_blob(store, f"{rid} text {n}")),
        "update": lambda rid, n: d.UpdateDocumentDraft(doc_id=rid, content=_blob(store, f"{rid} edit {n}")),
        "submit": lambda rid, n: d.SubmitDocument(doc_id=rid),
        "endorse": lambda rid, n: d.ReviewDocument(doc_id=rid, outcome="endorsed"),
        "send_back": lambda rid, n: d.ReviewDocument(doc_id=rid, outcome="changes_requested", comment="clarify 4.2"),
        "approve": lambda rid, n: d.ApproveDocument(doc_id=rid),
        "effective": lambda rid, n: d.MakeDocumentEffective(doc_id=rid, effective_on=today),
        "withdraw": lambda rid, n: d.WithdrawDocument(doc_id=rid, reason="replaced by QP-09" if n % 2 else " "),
        "raise": lambda rid, n: f.RaiseFinding(
            finding_id=rid, unit="B1", source="complaint", classification=("major", "minor", "observation")[n % 3],
            criterion={"clause": "8.5.1"}, description="Sample labels missing", evidence=[_blob(store, f"photo {n}")],
            due_on=today + timedelta(days=30 - 40 * (n % 2)), audit=None,
        ),
        "contain": lambda rid, n: f.ContainFinding(finding_id=rid, action="Samples quarantined"),
        "analyse": lambda rid, n: f.AnalyseCause(finding_id=rid, cause="No label printer", method="5 whys"),
        "plan": lambda rid, n: f.PlanActions(finding_id=rid, actions=[f.ActionPlan(action_id=f"A{n}", description="Buy printer", owner="dave", due_on=today + timedelta(days=20))]),
        "complete": lambda rid, n: f.CompleteAction(finding_id=rid, action_id=f"A{n}", evidence=[_blob(store, f"receipt {n}")]),
        "move_due": lambda rid, n: f.ChangeDueDate(finding_id=rid, due_on=today + timedelta(days=60), reason="printer delivery late" if n % 2 else ""),
        "verify": lambda rid, n: f.VerifyEffectiveness(finding_id=rid, effective=n % 3 != 0, comment="checked 10 samples"),
        "close": lambda rid, n: f.CloseFinding(finding_id=rid, closed_on=today),
        "reopen": lambda rid, n: f.ReopenFinding(finding_id=rid, reason="labels missing again"),
        "define": lambda rid, n: i.DefineIndicator(
            indicator_id=rid, unit="B1", owner="dave", name="On-time reports", measure="%", direction="higher_is_better",
            target="95.00", frequency="monthly", method="count", effective_from="2026-01",
        ),
        "measure": lambda rid, n: i.RecordMeasurement(indicator_id=rid, period=f"2026-{1 + n % 6:02d}", value=f"{90 + n}.50"),
        "correct": lambda rid, n: i.CorrectMeasurement(indicator_id=rid, period=f"2026-{1 + n % 6:02d}", value=f"{91 + n}.00", reason="typo in the tally"),
        "retarget": lambda rid, n: i.ChangeTarget(indicator_id=rid, target=f"9{n % 10}.00", effective_from=f"2026-{1 + n % 6:02d}", reason="objective raised"),
    }  # fmt: skip


RECORD_OF = {
    **dict.fromkeys(("draft", "update", "submit", "endorse", "send_back", "approve", "effective", "withdraw"), DOCS),
    **dict.fromkeys(("raise", "contain", "analyse", "plan", "complete", "move_due", "verify", "close", "reopen"), FINDINGS),
    **dict.fromkeys(("define", "measure", "correct", "retarget"), INDICATORS),
}  # fmt: skip

# Who would normally do it (roles as in tests/ledger/test_service.py); a step picks
# someone else now and then, so refusals are exercised too.
USUAL = {
    **dict.fromkeys(("draft", "update", "submit"), "alice"),
    **dict.fromkeys(("endorse", "send_back", "approve", "effective", "withdraw"), "bob"),
    **dict.fromkeys(("raise", "verify", "close", "reopen"), "carol"),
    **dict.fromkeys(("contain", "analyse", "plan", "move_due", "complete", "measure", "correct"), "dave"),
    **dict.fromkeys(("define", "retarget"), "mia"),
}  # fmt: skip

step = st.tuples(
    st.sampled_from(sorted(RECORD_OF)),
    st.integers(0, 1),  # which record
    st.integers(0, 9),  # a small number the command uses
    st.one_of(
        st.none(), st.none(), st.none(), st.sampled_from(ACTORS)
    ),  # None: the usual actor
)


def _service(store: EventStore, clock: FixedClock) -> Service:
    create_all(store.engine)
    return build_service(store, clock, projectors=[InlineProjector()])


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=10, max_size=60))
def test_rebuild_equals_incremental_after_random_commands(
    store: EventStore, clock: FixedClock, steps: list[tuple[str, int, int, str]]
) -> None:
    """One ledger grows across the examples; after each, a rebuild changes no table."""
    service = getattr(store, "_test_service", None)
    if service is None:
        service = _service(store, clock)
        store._test_service = service  # type: ignore[attr-defined]  # kept across examples
    makers = _commands(store, clock.now().date())
    accepted = 0
    for name, which, n, anyone in steps:
        actor = anyone or USUAL[name]
        clock.advance(hours=7)
        records = RECORD_OF[name]
        command = makers[name](records[which % len(records)], n)
        before = (store.size(), dump(store.engine))
        try:
            service.handle(command, actor, password=secret(actor))
        except (EventRejectedError, NotAuthorizedError, NotFoundError):
            assert (store.size(), dump(store.engine)) == before
        else:
            accepted += 1
    event(f"accepted {accepted} of {len(steps)}")
    incremental = dump(store.engine)
    rebuild(store.engine, store)
    assert dump(store.engine) == incremental
    head, _ = verify_store(store, trusted_key_id=next(store.read(1, 1)).key, workers=1)
    assert head.size == store.size()
