"""Hypothesis: random command sequences on the pure record rules.

Any command either yields events or fails with EventRejectedError /
NotAuthorizedError; the state after the events is what the command intended, a
replay from scratch gives the same state, and the effective revision never changes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import documents as d
from ledger.domain import findings as f
from ledger.domain import indicators as i
from ledger.errors import EventRejectedError, NotAuthorizedError
from tests.support.records import Record, blob, replay

PEOPLE = st.sampled_from(["alice", "bob", "carol"])
DOC = "QP-07"


def _doc_commands() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(
            d.DraftDocument,
            doc_id=st.just(DOC),
            unit=st.just("B1"),
            title=st.sampled_from(["Records", "Control"]),
            kind=st.just("procedure"),
            content=st.sampled_from(["a", "b", "c"]).map(blob),
        ),
        st.builds(
            d.UpdateDocumentDraft,
            doc_id=st.just(DOC),
            title=st.sampled_from(["T1", "T2", None]),
            content=st.sampled_from(["x", "y"]).map(blob) | st.none(),
        ),
        st.builds(d.SubmitDocument, doc_id=st.just(DOC)),
        st.builds(
            d.ReviewDocument,
            doc_id=st.just(DOC),
            outcome=st.sampled_from(["endorsed", "changes_requested"]),
            comment=st.sampled_from(["", "fix"]),
        ),
        st.builds(d.ApproveDocument, doc_id=st.just(DOC)),
        st.builds(
            d.MakeDocumentEffective,
            doc_id=st.just(DOC),
            effective_on=st.dates(date(2026, 1, 1), date(2027, 1, 1)),
        ),
        st.builds(
            d.WithdrawDocument,
            doc_id=st.just(DOC),
            reason=st.sampled_from(["", "obsolete"]),
        ),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_doc_commands(), PEOPLE), max_size=25))
def test_document_sequences_stay_consistent(steps: list[tuple[Any, str]]) -> None:
    rec = Record(d, d.DocumentState())
    frozen: dict[str, Any] = {}
    for command, actor in steps:
        before = rec.state
        try:
            rec.do(command, actor)
        except (EventRejectedError, NotAuthorizedError):
            assert rec.state == before
            continue
        state = rec.state
        if isinstance(command, d.ApproveDocument):
            rev = state.revisions[state.working]
            assert rev.status == "approved"
            assert rev.approved_by == actor != rev.author
        if isinstance(command, d.MakeDocumentEffective):
            assert state.effective == state.working
            frozen[state.effective] = state.revisions[state.effective].content
        if isinstance(command, d.WithdrawDocument):
            assert state.effective is None
        for rev_name, content in frozen.items():
            assert state.revisions[rev_name].content == content
    assert replay(d, d.DocumentState(), rec.events) == rec.state


def _finding_commands() -> st.SearchStrategy[Any]:
    fid = st.just("F-1")
    plan = st.builds(
        f.ActionPlan,
        action_id=st.sampled_from(["A1", "A2", "A3"]),
        description=st.just("do"),
        owner=PEOPLE,
        due_on=st.just(date(2026, 5, 1)),
    )
    return st.one_of(
        st.builds(
            f.RaiseFinding,
            finding_id=fid,
            unit=st.just("B1"),
            source=st.just("complaint"),
            classification=st.just("minor"),
            criterion=st.just({"clause": "8.2"}),
            description=st.just("d"),
            evidence=st.just([blob()]),
            due_on=st.just(date(2026, 6, 1)),
        ),
        st.builds(f.ContainFinding, finding_id=fid, action=st.just("stop")),
        st.builds(
            f.AnalyseCause, finding_id=fid, cause=st.just("c"), method=st.just("m")
        ),
        st.builds(
            f.PlanActions,
            finding_id=fid,
            actions=st.lists(plan, min_size=1, max_size=2),
        ),
        st.builds(
            f.CompleteAction,
            finding_id=fid,
            action_id=st.sampled_from(["A1", "A2", "A3"]),
        ),
        st.builds(
            f.VerifyEffectiveness,
            finding_id=fid,
            effective=st.booleans(),
            comment=st.just("seen"),
        ),
        st.builds(f.CloseFinding, finding_id=fid, closed_on=st.just(date(2026, 7, 1))),
        st.builds(
            f.ReopenFinding, finding_id=fid, reason=st.sampled_from(["", "again"])
        ),
        st.builds(
            f.ChangeDueDate,
            finding_id=fid,
            due_on=st.dates(date(2026, 1, 1), date(2026, 12, 31)),
            reason=st.sampled_from(["", "late"]),
        ),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_finding_commands(), PEOPLE), max_size=30))
def test_finding_sequences_stay_consistent(steps: list[tuple[Any, str]]) -> None:
    rec = Record(f, f.FindingState())
    for command, actor in steps:
        before = rec.state
        try:
            rec.do(command, actor)
        except (EventRejectedError, NotAuthorizedError):
            assert rec.state == before
            continue
        state = rec.state
        if isinstance(command, f.CloseFinding):
            assert before.status == "verified"
            assert before.verified_effective
        if isinstance(command, f.VerifyEffectiveness):
            assert actor != state.raised_by
            assert all(a.owner != actor for a in state.actions.values())
            assert state.status == (
                "verified" if command.effective else "cause_analysed"
            )
        if isinstance(command, f.CompleteAction):
            assert state.actions[command.action_id].done
            assert state.actions[command.action_id].owner == actor
        if isinstance(command, f.ChangeDueDate):
            assert state.due_on == command.due_on.isoformat()
    assert replay(f, f.FindingState(), rec.events) == rec.state


def _indicator_commands() -> st.SearchStrategy[Any]:
    iid = st.just("I-1")
    period = st.sampled_from(["2026-01", "2026-02", "2026-03"])
    value = st.decimals(min_value=0, max_value=100, places=2).map(str)
    return st.one_of(
        st.builds(i.RecordMeasurement, indicator_id=iid, period=period, value=value),
        st.builds(
            i.CorrectMeasurement,
            indicator_id=iid,
            period=period,
            value=value,
            reason=st.sampled_from(["", "typo"]),
        ),
        st.builds(
            i.ChangeTarget,
            indicator_id=iid,
            target=value,
            effective_from=period,
            reason=st.just("r"),
        ),
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(_indicator_commands(), max_size=20))
def test_indicator_values_follow_measurements_and_corrections(
    commands: list[Any],
) -> None:
    rec = Record(i, i.IndicatorState(), user_units={"olga": "B1"})
    rec.do(
        i.DefineIndicator(
            indicator_id="I-1",
            unit="B1",
            owner="olga",
            name="n",
            measure="%",
            direction="lower_is_better",
            target="1.00",
            frequency="monthly",
            method="m",
            effective_from="2026-01",
        ),
        "mia",
    )
    expected: dict[str, str] = {}
    for command in commands:
        try:
            rec.do(command, "olga")
        except EventRejectedError:
            continue
        if isinstance(command, (i.RecordMeasurement, i.CorrectMeasurement)):
            expected[command.period] = command.value
    assert dict(rec.state.values) == expected
    measured = [e for e in rec.events if e.type == "indicator.measured"]
    assert len({e.data["period"] for e in measured}) == len(measured)
