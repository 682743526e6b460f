"""The demo ledger: recorded through the real service, verifiable, reproducible."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger.clock import FixedClock
from ledger.domain import units as un
from ledger.errors import EventRejectedError
from ledger.integrity.canonical import JSONValue
from ledger.integrity.envelope import stream_kind
from ledger.integrity.signing import SigningKey
from ledger.service import Service
from ledger.store import EventStore, create_engine_for, migrate
from ledger.store.verify import verify_store
from projections import queries as q
from projections.runner import InlineProjector
from projections.tables import create_all
from web.demo import Scale, demo_password, demo_start, fill_demo

ORIGIN = "demo.test.example/ledger"
CHEAP_SCRYPT = 2**10


@dataclass
class Demo:
    service: Service
    store: EventStore
    clock: FixedClock


DemoFactory = Callable[..., Demo]


@pytest.fixture
def make_demo(engine_url: str) -> Iterator[DemoFactory]:
    """Make a service on a fresh database of the dialect (one per call)."""
    engines: list[Engine] = []

    def make(url: str | None = None, scale: Scale | None = None) -> Demo:
        engine = create_engine_for(url or engine_url)
        engines.append(engine)
        migrate(engine)
        create_all(engine)
        clock = FixedClock(demo_start("tiny", scale=scale))
        store = EventStore(engine, SigningKey.generate(), ORIGIN, clock=clock)
        service = Service(
            store, projectors=[InlineProjector()], clock=clock, scrypt_n=CHEAP_SCRYPT
        )
        return Demo(service, store, clock)

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def demo(make_demo: DemoFactory) -> Demo:
    made = make_demo()
    summary = fill_demo(made.service, made.store, seed=1, size="tiny")
    assert summary.events == made.store.size() - 1
    return made


def test_the_demo_ledger_verifies(demo: Demo) -> None:
    head, _ = verify_store(demo.store)
    assert head.size == demo.store.size()
    assert demo.store.size() > 400


def test_units_carry_chinese_and_english_names(demo: Demo) -> None:
    units = {u.code: u for u in q.unit_tree(demo.store.engine, demo.store)}
    assert (units["HQ"].name_zh, units["HQ"].name_en) == ("总局", "Headquarters")
    assert (units["BJ"].name_zh, units["BJ"].name_en) == ("北京分局", "Beijing Bureau")
    bureaus = [u for u in units.values() if u.kind == "bureau"]
    assert len(bureaus) >= 6
    assert all(u.parent == "HQ" and u.name_zh.endswith("分局") for u in bureaus)


def test_people_hold_every_role_and_their_demo_passwords(demo: Demo) -> None:
    people = q.user_list(demo.store.engine, demo.store)
    assert len(people) >= 30
    roles = {r.role for p in people for r in p.roles}
    assert roles == {
        "admin",
        "author",
        "approver",
        "auditor",
        "owner",
        "manager",
        "viewer",
        "certifier",
    }
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.name) for p in people)
    assert demo.service.check_password("bj.approver", demo_password("bj.approver"))


def test_effective_documents_carry_signed_approvals(demo: Demo) -> None:
    e, s = demo.store.engine, demo.store
    effective = q.document_register(e, s, status="effective")
    assert len(effective) >= 10
    document = q.document(e, s, effective[0].doc_id)
    approved = [r for r in document.revisions if r.esig is not None]
    assert approved
    esig = approved[-1].esig
    assert esig is not None
    assert esig["meaning"] == "approved"
    assert esig["name"] == next(
        u.name for u in q.user_list(e, s) if u.user_id == approved[-1].approved_by
    )
    statuses = {d.status for d in q.document_register(e, s)}
    assert {"effective", "withdrawn"} <= statuses
    revised = [
        r for d in effective for r in q.document(e, s, d.doc_id).revisions
        if r.superseded_by
    ]  # fmt: skip
    assert revised


def test_findings_in_many_states_some_overdue(demo: Demo) -> None:
    found = q.finding_register(demo.store.engine, demo.store)
    assert {f.classification for f in found} == {
        "major",
        "minor",
        "observation",
        "opportunity",
    }
    assert len({f.status for f in found}) >= 3
    assert "closed" in {f.status for f in found}
    overdue = [f for f in found if f.is_open and f.due_on < "2026-10-31"]
    assert overdue
    assert any(f.reopened_count == 1 for f in found)
    audits = q.audit_list(demo.store.engine, demo.store)
    assert {"closed", "reported"} & {a.status for a in audits}


def test_indicators_have_measurements_and_corrections(demo: Demo) -> None:
    listed = q.indicator_list(demo.store.engine, demo.store)
    assert len(listed) == 12
    assert all(len(i.measurements) >= 7 for i in listed)
    corrected = [m for i in listed for m in i.measurements if m.corrections]
    assert len(corrected) == 2
    assert all(m.value != m.first_value and m.correction_reason for m in corrected)
    assert any(len(i.targets) == 2 for i in listed)
    assert q.review_list(demo.store.engine, demo.store)


def _masked(value: JSONValue) -> JSONValue:
    """Blank what differs between runs by design: keys, signatures, digests of them."""
    if isinstance(value, dict):
        return {
            k: "*"
            if k in {"key", "sig", "key_id", "public_key", "sha256"}
            else _masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _story(store: EventStore) -> list[tuple[str, str, str, JSONValue]]:
    return [
        (e.stream, e.type, e.actor, _masked(e.data))
        for e in store.read()
        if stream_kind(e.stream) != "ledger"
    ]


def _story_digest(store: EventStore) -> str:
    digest = hashlib.sha256()
    for e in store.read():
        if stream_kind(e.stream) == "ledger":
            continue
        row = [e.seq, e.stream, e.type, e.actor, e.occurred_at, e.recorded_at]
        row.append(_masked(e.data))
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


# The tiny demo of seed 1, event by event (keys and signatures blanked): a change
# here changes the demo data users and certifiers see.
TINY_SEED_1_STORY = "37707e59ba5c01f7f9cc8802e6bb37c1807b1abe4970d3a2378657fd7edc5760"


def test_the_tiny_demo_records_the_same_story_as_before(demo: Demo) -> None:
    assert demo.store.size() == 661
    assert _story_digest(demo.store) == TINY_SEED_1_STORY


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_same_seed_same_records(make_demo: DemoFactory, tmp_path: Path) -> None:
    first, second = make_demo(), make_demo(url=f"sqlite:///{tmp_path / 'again.db'}")
    fill_demo(first.service, first.store, seed=7, size="tiny")
    fill_demo(second.service, second.store, seed=7, size="tiny")
    assert _story(first.store) == _story(second.store)
    times = [(e.occurred_at, e.recorded_at) for e in first.store.read()][2:]
    assert times == [(e.occurred_at, e.recorded_at) for e in second.store.read()][2:]
    assert times[-1][0].startswith("2026-10")


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_more_bureaus_get_synthetic_names(make_demo: DemoFactory) -> None:
    scale = Scale(
        bureaus=8,
        months=2,
        start_docs=1,
        new_docs_per_year=0,
        findings_per_month=1,
        audit_findings=1,
    )
    made = make_demo(scale=scale)
    summary = fill_demo(made.service, made.store, size="large", scale=scale)
    assert summary.units == 9
    codes = {u.code: u.name_zh for u in q.unit_tree(made.store.engine, made.store)}
    assert codes["B008"] == "第008分局"
    verify_store(made.store)


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_the_demo_refuses_a_ledger_with_records(make_demo: DemoFactory) -> None:
    made = make_demo()
    made.service.create_first_admin(
        "root", "李总", "HQ", "总局", "Headquarters", "root-own-secret"
    )
    made.service.handle(
        un.CreateUnit(
            code="B1", name_zh="一分局", name_en="Bureau 1", kind="bureau", parent="HQ"
        ),
        "root",
    )
    with pytest.raises(EventRejectedError, match="empty ledger"):
        fill_demo(made.service, made.store, size="tiny")


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_the_demo_adopts_the_first_administrator(make_demo: DemoFactory) -> None:
    made = make_demo()
    made.service.create_first_admin(
        "root", "李总", "HQ", "总局", "Headquarters", "root-own-secret"
    )
    summary = fill_demo(made.service, made.store, size="tiny")
    assert summary.admin == "root"
    registered = [e for e in made.store.read() if e.type == "user.registered"]
    assert registered[1].actor == "root"
