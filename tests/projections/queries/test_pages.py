"""A register page is the slice of the whole register a clerk asked for: searched, sorted, counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pytest

from ledger.clock import FixedClock
from ledger.store import EventStore
from projections import queries as q
from projections.errors import RegisterRequestError
from tests.support.projections import feed
from tests.support.simulation import choices

# register page function, whole register, sort key -> attribute, searched attributes
REGISTERS: dict[
    str, tuple[Callable[..., Any], Callable[..., Any], dict[str, str], tuple[str, ...]]
] = {
    "documents": (
        q.document_page,
        q.document_register,
        {
            "id": "doc_id",
            "title": "title",
            "kind": "kind",
            "unit": "unit",
            "status": "status",
            "next_review_due": "next_review_due",
        },
        ("doc_id", "title"),
    ),
    "findings": (
        q.finding_page,
        q.finding_register,
        {
            "id": "finding_id",
            "classification": "classification",
            "unit": "unit",
            "status": "status",
            "due_on": "due_on",
            "raised_on": "raised_on",
        },
        ("finding_id", "description"),
    ),
    "audits": (
        q.audit_page,
        q.audit_list,
        {
            "id": "audit_id",
            "programme": "programme",
            "unit": "unit",
            "status": "status",
            "planned_start": "planned_start",
        },
        ("audit_id", "scope"),
    ),
    "reviews": (
        q.review_page,
        q.review_list,
        {"id": "review_id", "unit": "unit", "held_on": "held_on"},
        ("review_id",),
    ),
    "indicators": (
        q.indicator_page,
        q.indicator_list,
        {"id": "indicator_id", "name": "name", "unit": "unit", "status": "status"},
        ("indicator_id", "name"),
    ),
}


@pytest.fixture
def history(store: EventStore, clock: FixedClock) -> datetime:
    """A random valid history; returns a moment in its middle."""
    feed(store, clock, choices(160, seed=11))
    middle = clock.now()
    feed(store, clock, choices(160, seed=12))
    return middle


def _expected(
    views: Sequence[Any],
    sort_attr: str | None,
    key_attr: str,
    descending: bool,
    words: Sequence[str],
    searched: Sequence[str],
) -> list[str]:
    """The ids of the whole register searched and sorted as the page promises."""
    found = [
        v
        for v in views
        if all(
            any(w.lower() in str(getattr(v, a) or "").lower() for a in searched)
            for w in words
        )
    ]
    found.sort(key=lambda v: getattr(v, key_attr), reverse=descending)
    if sort_attr is not None:
        present = [v for v in found if getattr(v, sort_attr) is not None]
        absent = [v for v in found if getattr(v, sort_attr) is None]
        present.sort(key=lambda v: getattr(v, sort_attr), reverse=descending)
        found = present + absent
    return [getattr(v, key_attr) for v in found]


@pytest.mark.parametrize("register", sorted(REGISTERS))
def test_pages_are_slices_of_the_whole_register(
    store: EventStore, history: datetime, register: str
) -> None:
    page_of, whole_of, sorts, searched = REGISTERS[register]
    key_attr = sorts["id"]
    for as_of in (None, history):
        whole = whole_of(store.engine, store, as_of=as_of)
        assert whole, f"the history holds no {register}"
        # Search words: a word of the first record's searched text, and a word no record has.
        first_text = next(
            str(getattr(whole[0], a)) for a in searched if getattr(whole[0], a)
        )
        for words in ((), (first_text.split()[0][:4],), ("no-such-record-anywhere",)):
            for sort in ("", *sorts):
                for descending in (False, True):
                    expected = _expected(
                        whole,
                        sorts[sort] if sort else None,
                        key_attr,
                        descending,
                        words,
                        searched,
                    )
                    request = q.PageRequest(
                        search=" ".join(words),
                        sort=sort,
                        descending=descending,
                        per_page=3,
                    )
                    shown: list[str] = []
                    page = page_of(store.engine, store, request, as_of=as_of)
                    assert page.total == len(expected)
                    if (
                        not words
                        and as_of is None
                        and register in ("documents", "findings")
                    ):
                        assert page.pages > 1  # the slices are really cut
                    for number in range(1, page.pages + 1):
                        page = page_of(
                            store.engine,
                            store,
                            q.PageRequest(
                                search=request.search,
                                sort=sort,
                                descending=descending,
                                page=number,
                                per_page=3,
                            ),
                            as_of=as_of,
                        )
                        assert len(page.items) <= 3
                        shown.extend(getattr(v, key_attr) for v in page.items)
                    assert shown == expected, (register, words, sort, descending)
                    everything = page_of(
                        store.engine,
                        store,
                        q.PageRequest(
                            search=request.search,
                            sort=sort,
                            descending=descending,
                            per_page=None,
                        ),
                        as_of=as_of,
                    )
                    assert [getattr(v, key_attr) for v in everything.items] == expected


def test_filters_apply_before_the_page_is_cut(
    store: EventStore, history: datetime
) -> None:
    whole = q.finding_register(store.engine, store, open_only=True)
    page = q.finding_page(
        store.engine, store, q.PageRequest(per_page=None), open_only=True
    )
    assert [f.finding_id for f in page.items] == [f.finding_id for f in whole]
    assert all(f.status != "closed" for f in page.items)
    major = q.finding_page(
        store.engine, store, q.PageRequest(per_page=None), classification="major"
    )
    assert {f.classification for f in major.items} <= {"major"}
    assert major.total == sum(
        1
        for f in q.finding_register(store.engine, store)
        if f.classification == "major"
    )


def test_search_words_are_text_not_patterns(
    store: EventStore, history: datetime
) -> None:
    for pattern in ("%", "_", "\\", "%_%"):
        page = q.document_page(store.engine, store, q.PageRequest(search=pattern))
        assert page.total == 0, pattern
        assert page.items == ()
        assert page.pages == 1
        assert page.first_index == 0


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"page": 0}, "page"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": q.PER_PAGE_MAX + 1}, "per_page"),
        ({"search": "x" * (q.SEARCH_MAX + 1)}, "search"),
    ],
)
def test_a_request_out_of_range_names_its_field(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(RegisterRequestError) as caught:
        q.PageRequest(**arguments)
    assert caught.value.field == field


@pytest.mark.parametrize("register", sorted(REGISTERS))
def test_an_unknown_sort_key_names_the_sort_field(
    store: EventStore, register: str
) -> None:
    page_of = REGISTERS[register][0]
    with pytest.raises(RegisterRequestError, match="sort by one of") as caught:
        page_of(
            store.engine, store, q.PageRequest(sort="valid_to; DROP TABLE documents")
        )
    assert caught.value.field == "sort"
