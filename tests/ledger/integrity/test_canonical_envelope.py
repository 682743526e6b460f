"""Envelope bytes assembled from canonical members equal the reference JCS bytes.

The store canonicalizes each member of an envelope once and assembles the body and
the full envelope from those bytes (`canonical_object`); the verifier cuts the body
out of a canonical line. Both must give exactly the bytes of the reference
implementation (`rfc8785`), for any envelope the format allows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import EventRejectedError, VerificationError
from ledger.integrity.canonical import (
    CanonicalizationError,
    JSONValue,
    canonical_bytes,
    canonical_object,
    canonical_payload,
    check_integers,
)
from ledger.integrity.envelope import NewEvent, valid_time
from ledger.integrity.verify import verify_lines
from ledger.store import EventStore
from tests.support.chainbuilder import ChainBuilder
from tests.support.strategies import (
    SPECIAL_CHARS,
    actors,
    envelopes,
    json_keys,
    json_objects,
    json_strings,
    json_values,
    kinds,
    ledger_times,
    stream_ids,
    unsafe_integers,
    verbs,
)

_BODY_EXCLUDED = ("hash", "sig")

# Actors may be any text without control characters: non-ASCII, quotes, backslashes.
_any_actors = st.one_of(
    actors,
    st.text(
        alphabet=st.one_of(
            st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]),
            st.sampled_from(["\u2028", "\ufeff", "\U0001f600", '"', "\\", "/"]),
        ),
        min_size=1,
        max_size=20,
    ),
)
# meta: string values under any keys, non-ASCII ones included.
_any_metas = st.dictionaries(json_keys, json_strings, max_size=4).map(
    lambda extra: {**extra, "command_id": "cmd-1"}
)


@st.composite
def _any_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """Return a well-formed envelope whose data, meta and actor stress JCS."""
    env = draw(envelopes())
    env["data"] = draw(json_objects)
    env["meta"] = draw(_any_metas)
    env["actor"] = draw(_any_actors)
    return env


def _members(env: dict[str, Any]) -> dict[str, bytes]:
    return {name: canonical_bytes(value) for name, value in env.items()}


class TestCanonicalObject:
    @given(_any_envelopes())
    def test_envelope_from_members_equals_rfc8785(self, env: dict[str, Any]) -> None:
        assert canonical_object(_members(env)) == rfc8785.dumps(env)

    @given(_any_envelopes())
    def test_body_from_members_equals_rfc8785(self, env: dict[str, Any]) -> None:
        body = {k: v for k, v in env.items() if k not in _BODY_EXCLUDED}
        members = {k: v for k, v in _members(env).items() if k not in _BODY_EXCLUDED}
        assert canonical_object(members) == rfc8785.dumps(body)

    @given(
        st.dictionaries(
            st.text(
                alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)
            ).filter(lambda k: '"' not in k and "\\" not in k),
            json_values,
            max_size=8,
        )
    )
    def test_any_plain_ascii_keys_equal_rfc8785(self, obj: dict[str, Any]) -> None:
        members = {k: canonical_bytes(v) for k, v in obj.items()}
        assert canonical_object(members) == rfc8785.dumps(obj)

    @pytest.mark.parametrize("name", ['a"b', "a\\b", "caf\u00e9", "tab\t", "\x7f"])
    def test_refuses_names_that_need_escaping_or_sort_differently(
        self, name: str
    ) -> None:
        with pytest.raises(CanonicalizationError, match="member names"):
            canonical_object({name: b"1", "b": b"2"})


class TestCanonicalPayload:
    @given(json_values)
    def test_equals_rfc8785(self, value: JSONValue) -> None:
        assert canonical_payload(value) == rfc8785.dumps(value)

    @given(st.one_of(unsafe_integers, st.floats(allow_nan=False)))
    def test_refuses_what_check_integers_refuses_with_its_words(
        self, number: int | float
    ) -> None:
        value: Any = {"a": [1, {"b": number}]}
        with pytest.raises(CanonicalizationError) as expected:
            check_integers(value)
        with pytest.raises(CanonicalizationError) as got:
            canonical_payload(value)
        assert str(got.value) == str(expected.value)

    @pytest.mark.parametrize("code", [0xD800, 0xDFFF])
    def test_refuses_lone_surrogates(self, code: int) -> None:
        with pytest.raises(CanonicalizationError):
            canonical_payload({"text": f"a{chr(code)}b"})


class TestValidTime:
    @given(
        st.tuples(
            st.integers(0, 9999),
            st.integers(0, 99),
            st.integers(0, 99),
            st.integers(0, 99),
            st.integers(0, 99),
            st.integers(0, 99),
            st.integers(0, 999999),
        )
    )
    def test_agrees_with_strptime(self, parts: tuple[int, ...]) -> None:
        year, month, day, hour, minute, second, micro = parts
        text = (
            f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:"
            f"{second:02d}.{micro:06d}Z"
        )
        try:
            datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: DTZ007  # only the calendar is compared
            expected = True
        except ValueError:
            expected = False
        assert valid_time(text) is expected

    @given(ledger_times)
    def test_accepts_ledger_times(self, text: str) -> None:
        assert valid_time(text)


class TestVerifierLines:
    def test_escaped_non_ascii_key_in_an_ascii_line_is_not_canonical(self) -> None:
        chain = ChainBuilder()
        chain.add(data={"caf\u00e9": "cr\u00e8me", "\U0001f600": 1, "\ufb33": 2})
        chain.add()
        lines = chain.lines()
        assert verify_lines(lines, workers=1).size == 3
        escaped = json.dumps(
            chain.envs[1], ensure_ascii=True, sort_keys=True, separators=(",", ":")
        ).encode()
        assert escaped.isascii()
        with pytest.raises(VerificationError, match="not the JCS form") as info:
            verify_lines([lines[0], escaped, lines[2]], workers=1)
        assert info.value.seq == 2

    def test_data_holding_envelope_member_names_verifies(self) -> None:
        chain = ChainBuilder()
        first = chain.add(data={"title": "x"})
        chain.add(
            data={
                "hash": first["hash"],
                "sig": first["sig"],
                "nested": {"key": first["key"], "meta": {"command_id": "c"}},
                "version": 7,
            }
        )
        assert verify_lines(chain.lines(), workers=1).size == 3


_stores = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class TestStoredEnvelopes:
    @_stores
    @given(
        data=json_objects,
        kind=kinds,
        ident=stream_ids,
        verb=verbs,
        actor=_any_actors,
        meta=st.dictionaries(
            json_keys.filter(lambda k: k not in ("command_id", "causation")),
            json_strings,
            max_size=3,
        ),
        schema=st.integers(1, 5),
    )
    def test_appended_envelope_is_the_rfc8785_form(
        self,
        store: EventStore,
        data: dict[str, Any],
        kind: str,
        ident: str,
        verb: str,
        actor: str,
        meta: dict[str, str],
        schema: int,
    ) -> None:
        event = NewEvent(
            stream=f"{kind}/{ident}",
            type=f"{kind}.{verb}",
            data=data,
            actor=actor,
            meta=meta,
            schema=schema,
        )
        (recorded,) = store.append([event])
        env = recorded.to_dict()
        body = {k: v for k, v in env.items() if k not in _BODY_EXCLUDED}
        assert recorded.data == json.loads(json.dumps(data))
        assert recorded.hash == hashlib.sha256(rfc8785.dumps(body)).hexdigest()
        line = next(store.read_lines(recorded.seq, recorded.seq))
        assert line == rfc8785.dumps(env)
        assert next(store.read(recorded.seq, recorded.seq)) == recorded

    def test_appended_events_verify(self, store: EventStore) -> None:
        events = [
            NewEvent(
                stream="document/QP-07",
                type="document.drafted",
                data={"title": "".join(SPECIAL_CHARS[:-1]), "n": i, "list": (1, 2)},
                actor="u-\u00e9mile",
                meta={"\u00fc": "x"},
            )
            for i in range(5)
        ]
        recorded = store.append(events)
        assert [r.data["list"] for r in recorded] == [[1, 2]] * 5
        assert verify_lines(store.read_lines(), workers=1).size == store.size()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"actor": "u-\ud800"}, "actor"),
            ({"meta": {1: "x"}}, "meta"),
            ({"data": {"n": 1.5}}, "data"),
        ],
    )
    def test_unencodable_members_are_rejected(
        self, store: EventStore, overrides: dict[str, Any], field: str
    ) -> None:
        fields: dict[str, Any] = {
            "stream": "document/QP-07",
            "type": "document.drafted",
            "data": {"title": "x"},
            "actor": "u-alice",
            **overrides,
        }
        size = store.size()
        with pytest.raises(EventRejectedError) as info:
            store.append([NewEvent(**fields)])
        assert field in info.value.messages
        assert store.size() == size
