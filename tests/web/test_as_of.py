"""The "as it stood on" field: what a person may type, the moment it means, the ledger then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from ledger.clock import FixedClock
from ledger.store import EventStore
from tests.support.webapp import people_signer, people_store, people_template, web_app
from web.as_of import parse_moment, read_as_of

__all__ = ["people_signer", "people_store", "people_template", "web_app"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "moment", "day_only"),
    [
        ("2026-03-31 14:30", datetime(2026, 3, 31, 6, 30, tzinfo=UTC), False),
        ("2026-03-31T14:30", datetime(2026, 3, 31, 6, 30, tzinfo=UTC), False),
        ("2026-03-31 14:30:15", datetime(2026, 3, 31, 6, 30, 15, tzinfo=UTC), False),
        (" 2026-03-31 9:05 ", datetime(2026, 3, 31, 1, 5, tzinfo=UTC), False),
        ("2026-03-31", datetime(2026, 3, 31, 15, 59, 59, 999999, tzinfo=UTC), True),
    ],
)
def test_a_typed_moment_is_read_in_the_agency_s_time(
    text: str, moment: datetime, day_only: bool
) -> None:
    assert parse_moment(text, SHANGHAI) == (moment, day_only)


@pytest.mark.parametrize(
    "text",
    [
        "31/03/2026",
        "2026-02-30",
        "2026-03-31 25:00",
        "2026-03-31 14",
        "yesterday",
        "2026-3-1",
    ],
)
def test_what_names_no_moment_is_refused(text: str) -> None:
    assert parse_moment(text, SHANGHAI) is None


def _read(app: Flask, value: str) -> tuple[object, str | None]:
    with app.test_request_context(f"/?as_of={value}"):
        return read_as_of()


def test_the_ledger_as_known_then(
    web_app: Flask, people_store: EventStore, clock: FixedClock
) -> None:
    now = clock.now()
    size = people_store.size()
    clock.advance(hours=2)
    local = now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    as_of, error = _read(web_app, local)
    assert error is None
    assert as_of is not None
    assert as_of.size == size  # type: ignore[attr-defined]
    assert as_of.root  # type: ignore[attr-defined]
    assert _read(web_app, "2000-01-01")[0].size == 0  # type: ignore[union-attr]


def test_a_wrong_or_future_moment_says_what_to_type(
    web_app: Flask, clock: FixedClock
) -> None:
    as_of, error = _read(web_app, "31.03.2026")
    assert as_of is None
    assert error is not None
    assert "2026-03-31" in error
    future = (
        (clock.now() + timedelta(days=3))
        .astimezone(SHANGHAI)
        .strftime("%Y-%m-%d %H:%M")
    )
    as_of, error = _read(web_app, future)
    assert as_of is None
    assert error is not None
    today = clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%d")
    as_of, error = _read(web_app, today)
    assert error is None
    assert as_of is not None
