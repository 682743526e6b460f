"""ledger.envelope: the shape and formats of an event envelope, and the time format."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.integrity.envelope import (
    GENESIS_PREV_HEX,
    MEMBERS,
    NewEvent,
    RecordedEvent,
    envelope_problem,
    format_time,
    parse_time,
    stream_kind,
)
from tests.support.strategies import chains, envelopes, instants

Mutation = Callable[[dict[str, Any]], None]


def _set(member: str, value: object) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        env[member] = value

    return mutate


def _drop(member: str) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        del env[member]

    return mutate


def _set_in(member: str, key: str, value: object) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        env[member] = {**env[member], key: value}

    return mutate


def _drop_in(member: str, key: str) -> Mutation:
    def mutate(env: dict[str, Any]) -> None:
        env[member] = {k: v for k, v in env[member].items() if k != key}

    return mutate


# (mutation, a word the reason must contain to name what is wrong)
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "missing-seq": (_drop("seq"), "missing seq"),
    "missing-sig": (_drop("sig"), "missing sig"),
    "extra-member": (_set("extra", 1), "unexpected extra"),
    "seq-zero": (_set("seq", 0), "seq"),
    "seq-negative": (_set("seq", -1), "seq"),
    "seq-bool": (_set("seq", True), "seq"),
    "seq-string": (_set("seq", "1"), "seq"),
    "seq-float": (_set("seq", 1.0), "seq"),
    "seq-too-big": (_set("seq", 2**53), "seq"),
    "version-zero": (_set("version", 0), "version"),
    "schema-string": (_set("schema", "1"), "schema"),
    "stream-not-string": (_set("stream", 7), "stream"),
    "type-not-string": (_set("type", None), "type"),
    "sig-not-string": (_set("sig", b"x"), "sig"),
    "stream-bad-chars": (_set("stream", "document/QP 07"), "stream"),
    "stream-non-ascii": (_set("stream", "document/QP-\u00e9"), "stream"),
    "stream-no-slash": (_set("stream", "document"), "stream"),
    "stream-too-short": (_set("stream", "d/"), "stream"),
    "stream-empty-kind": (_set("stream", "/QP-07"), "stream"),
    "stream-empty-id": (_set("stream", "document/"), "stream"),
    "stream-too-long": (_set("stream", "document/" + "x" * 192), "stream"),
    "type-no-verb": (_set("type", "document"), "type"),
    "type-uppercase": (_set("type", "document.Approved"), "type"),
    "type-kind-differs": (_set("type", "finding.raised"), "does not match the kind"),
    "actor-empty": (_set("actor", ""), "actor"),
    "actor-control-char": (_set("actor", "u-alice\n"), "actor"),
    "actor-too-long": (_set("actor", "u" * 201), "actor"),
    "occurred-no-z": (_set("occurred_at", "2026-01-05T08:00:00.000000"), "occurred_at"),
    "occurred-3-digits": (
        _set("occurred_at", "2026-01-05T08:00:00.000Z"),
        "occurred_at",
    ),
    "recorded-offset": (
        _set("recorded_at", "2026-01-05T08:00:00.000000+00:00"),
        "recorded_at",
    ),
    "recorded-no-fraction": (
        _set("recorded_at", "2026-01-05T08:00:00Z"),
        "recorded_at",
    ),
    "recorded-space": (
        _set("recorded_at", "2026-01-05 08:00:00.000000Z"),
        "recorded_at",
    ),
    "prev-uppercase-hex": (_set("prev", "AB" * 32), "prev"),
    "prev-short": (_set("prev", "ab" * 31), "prev"),
    "hash-uppercase-hex": (_set("hash", "0F" * 32), "hash"),
    "key-uppercase-hex": (_set("key", "04747AA6434C663E"), "key"),
    "key-long": (_set("key", "04747aa6434c663e00"), "key"),
    "sig-short": (_set("sig", "AAAA"), "sig"),
    "sig-unpadded": (_set("sig", "A" * 88), "sig"),
    "sig-not-base64": (_set("sig", "!" * 86 + "=="), "sig"),
    "data-not-object": (_set("data", [1, 2]), "data"),
    "data-float": (_set_in("data", "quantity", 98.5), "data"),
    "data-unsafe-integer": (_set_in("data", "limit", 2**53), "data"),
    "data-unsafe-negative": (_set_in("data", "limit", -(2**53)), "data"),
    "meta-not-object": (_set("meta", "cmd-1"), "meta"),
    "meta-non-string": (_set_in("meta", "causation", 7), "meta"),
    "meta-null": (_set_in("meta", "correlation", None), "meta"),
    "meta-no-command-id": (_drop_in("meta", "command_id"), "command_id"),
    "meta-empty-command-id": (_set_in("meta", "command_id", ""), "command_id"),
}


@pytest.fixture
def spec_envelope(spec_lines: list[bytes]) -> dict[str, Any]:
    """A valid envelope from the spec vector (seq 35, the richest one)."""
    return dict(json.loads(spec_lines[34]))


def test_spec_vector_line_has_no_problem(spec_line: bytes) -> None:
    assert envelope_problem(json.loads(spec_line)) is None


def test_spec_vector_line_round_trips_through_recorded_event(spec_line: bytes) -> None:
    envelope = json.loads(spec_line)
    event = RecordedEvent.from_dict(envelope)
    assert event.to_dict() == envelope
    assert event.seq == envelope["seq"]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_envelope_problem_names_the_member(
    name: str, spec_envelope: dict[str, Any]
) -> None:
    mutate, word = MUTATIONS[name]
    mutate(spec_envelope)
    problem = envelope_problem(spec_envelope)
    assert problem is not None
    assert word in problem


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_from_dict_refuses_a_malformed_envelope(
    name: str, spec_envelope: dict[str, Any]
) -> None:
    mutate, word = MUTATIONS[name]
    mutate(spec_envelope)
    with pytest.raises(ValueError, match=word):
        RecordedEvent.from_dict(spec_envelope)


def test_missing_and_extra_members_are_both_listed(
    spec_envelope: dict[str, Any],
) -> None:
    del spec_envelope["hash"]
    del spec_envelope["actor"]
    spec_envelope["zeta"] = 1
    spec_envelope["alpha"] = 2
    assert envelope_problem(spec_envelope) == (
        "envelope members: missing actor, hash; unexpected alpha, zeta"
    )


def test_members_are_those_of_the_spec_table() -> None:
    assert frozenset(
        {
            "seq", "stream", "version", "type", "schema", "data", "meta", "actor",
            "occurred_at", "recorded_at", "prev", "key", "hash", "sig",
        }
    ) == MEMBERS  # fmt: skip


def test_largest_safe_integers_are_accepted(spec_envelope: dict[str, Any]) -> None:
    spec_envelope["seq"] = 2**53 - 1
    spec_envelope["data"] = {"a": 2**53 - 1, "b": -(2**53 - 1), "c": [True, None]}
    assert envelope_problem(spec_envelope) is None


@given(envelopes())
def test_generated_envelopes_have_no_problem(envelope: dict[str, Any]) -> None:
    assert envelope_problem(envelope) is None
    assert RecordedEvent.from_dict(envelope).to_dict() == envelope


@given(chains(max_size=6))
def test_generated_chains_have_no_problem(events: list[dict[str, Any]]) -> None:
    assert events[0]["prev"] == GENESIS_PREV_HEX
    for env in events:
        assert envelope_problem(env) is None


class TestTime:
    @given(instants)
    def test_format_then_parse_round_trips(self, moment: datetime) -> None:
        text = format_time(moment)
        assert parse_time(text) == moment
        assert format_time(parse_time(text)) == text

    @given(
        instants,
        st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    )
    def test_format_converts_any_zone_to_utc(
        self, moment: datetime, zone: timezone
    ) -> None:
        local = moment.astimezone(zone)
        assert format_time(local) == format_time(moment)
        assert format_time(local).endswith("Z")

    def test_format_is_rfc3339_utc_with_six_fraction_digits(self) -> None:
        moment = datetime(2026, 1, 5, 8, 0, 1, 7, tzinfo=UTC)
        assert format_time(moment) == "2026-01-05T08:00:01.000007Z"
        beijing = timezone(timedelta(hours=8))
        assert format_time(datetime(2026, 1, 5, 16, 0, tzinfo=beijing)) == (
            "2026-01-05T08:00:00.000000Z"
        )

    def test_format_rejects_a_naive_datetime(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            format_time(datetime(2026, 1, 5, 8, 0))  # noqa: DTZ001  # the point of the test

    def test_parse_returns_an_aware_utc_datetime(self) -> None:
        moment = parse_time("2026-01-05T08:01:01.007919Z")
        assert moment.tzinfo is UTC
        assert moment == datetime(2026, 1, 5, 8, 1, 1, 7919, tzinfo=UTC)

    @pytest.mark.parametrize(
        "text",
        [
            "2026-01-05T08:00:00.000000",
            "2026-01-05T08:00:00.000Z",
            "2026-01-05T08:00:00Z",
            "2026-01-05T08:00:00.000000+00:00",
            "2026-01-05T08:00:00.000000z",
            "2026-01-05 08:00:00.000000Z",
            "2026-1-5T08:00:00.000000Z",
            "",
        ],
    )
    def test_parse_rejects_other_formats(self, text: str) -> None:
        with pytest.raises(ValueError, match="6 fraction digits"):
            parse_time(text)


def test_stream_kind_is_the_part_before_the_first_slash() -> None:
    assert stream_kind("document/QP-07") == "document"
    assert stream_kind("ledger/keys/x") == "ledger"


def test_new_event_defaults() -> None:
    event = NewEvent(
        stream="document/QP-07", type="document.drafted", data={}, actor="u"
    )
    assert event.schema == 1
    assert event.occurred_at is None
    assert dict(event.meta) == {}
