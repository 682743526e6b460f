"""The ledger time format: four-digit years, the same bytes as before for every year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.integrity.envelope import format_time, parse_time, valid_time


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000000Z"),
        (
            datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC),
            "0999-12-31T23:59:59.000005Z",
        ),
        (
            datetime(2026, 3, 1, 7, 30, tzinfo=timezone(timedelta(hours=8))),
            "2026-02-28T23:30:00.000000Z",
        ),
    ],
)
def test_format_time_writes_four_digit_years_in_utc(
    moment: datetime, text: str
) -> None:
    assert format_time(moment) == text
    assert valid_time(text)
    assert parse_time(text) == moment


@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))  # noqa: DTZ001  # hypothesis bounds are naive
def test_format_time_keeps_the_bytes_of_every_four_digit_year(moment: datetime) -> None:
    assert format_time(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_format_time_refuses_a_naive_time_and_a_year_beyond_9999() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2026, 1, 1))  # noqa: DTZ001  # naive on purpose
    with pytest.raises(OverflowError):
        format_time(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))))
