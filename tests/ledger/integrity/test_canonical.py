"""ledger.canonical: the JCS bytes every hash and signature is computed over."""

from __future__ import annotations

import json
from collections import OrderedDict
from types import MappingProxyType

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.integrity.canonical import (
    MAX_SAFE_INTEGER,
    CanonicalizationError,
    JSONValue,
    canonical_bytes,
    check_integers,
)
from tests.support.strategies import (
    SPECIAL_CHARS,
    ascii_key_json_values,
    json_values,
    reordered,
    safe_integers,
    unsafe_integers,
    with_lone_surrogate,
)


class TestAgainstReference:
    """The fast path must give exactly the bytes of the reference implementation."""

    @given(json_values)
    def test_equals_rfc8785_reference(self, value: JSONValue) -> None:
        assert canonical_bytes(value) == rfc8785.dumps(value)

    @given(ascii_key_json_values)
    def test_fast_path_values_equal_rfc8785_reference(self, value: JSONValue) -> None:
        assert canonical_bytes(value) == rfc8785.dumps(value)

    @given(st.lists(st.sampled_from(SPECIAL_CHARS), max_size=30).map("".join))
    def test_special_characters_equal_reference(self, text: str) -> None:
        assert canonical_bytes(text) == rfc8785.dumps(text)
        assert canonical_bytes({text: text}) == rfc8785.dumps({text: text})
        assert canonical_bytes({"k": [text]}) == rfc8785.dumps({"k": [text]})

    @given(safe_integers)
    def test_safe_integers_equal_reference(self, number: int) -> None:
        assert canonical_bytes(number) == rfc8785.dumps(number) == str(number).encode()


class TestProperties:
    @given(st.data(), json_values)
    def test_deterministic_across_key_insertion_order(
        self, data: st.DataObject, value: JSONValue
    ) -> None:
        shuffled = data.draw(reordered(value))
        assert shuffled == value
        assert canonical_bytes(shuffled) == canonical_bytes(value)

    @given(json_values)
    def test_round_trips_through_a_json_parser(self, value: JSONValue) -> None:
        out = canonical_bytes(value)
        assert json.loads(out.decode("utf-8")) == value

    @given(json_values)
    def test_is_idempotent(self, value: JSONValue) -> None:
        out = canonical_bytes(value)
        assert canonical_bytes(json.loads(out)) == out

    @given(json_values)
    def test_output_has_no_insignificant_whitespace(self, value: JSONValue) -> None:
        out = canonical_bytes(value)
        # Whitespace can only appear inside strings, where controls are escaped.
        assert b"\n" not in out
        assert b"\r" not in out
        assert b"\t" not in out

    @given(json_values)
    def test_tuples_and_ordered_dicts_canonicalize_like_lists_and_dicts(
        self, value: JSONValue
    ) -> None:
        assert canonical_bytes((value, value)) == canonical_bytes([value, value])
        assert canonical_bytes(OrderedDict(b=value, a=1)) == canonical_bytes(
            {"a": 1, "b": value}
        )


class TestRfc8785Examples:
    def test_key_sorting_example_of_section_3_2_3(self) -> None:
        """Keys sort by UTF-16 code units: U+1F600 (D83D DE00) before U+FB33."""
        value = {
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\U0001f600": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis",
        }
        expected = (
            '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
            '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
            '"\U0001f600":"Emoji: Grinning Face",'
            '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'
        ).encode()
        assert canonical_bytes(value) == expected
        assert canonical_bytes(value) == rfc8785.dumps(value)

    def test_string_and_literal_example_of_section_3_2_2(self) -> None:
        """The non-number members of the RFC's sample object."""
        value = {
            "literals": [None, True, False],
            "string": '\u20ac$\u000f\nA\'B"\\\\"/',
        }
        expected = (
            '{"literals":[null,true,false],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        ).encode()
        assert canonical_bytes(value) == expected

    def test_integers_are_plain_decimals(self) -> None:
        value = [0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 1000000]
        assert canonical_bytes(value) == (
            b"[0,-1,9007199254740991,-9007199254740991,1000000]"
        )

    def test_controls_use_short_escapes_or_lowercase_u_escapes(self) -> None:
        text = "\b\t\n\f\r\x00\x1f\x7f\u2028"
        assert canonical_bytes(text) == (
            '"\\b\\t\\n\\f\\r\\u0000\\u001f\x7f\u2028"'.encode()
        )

    def test_non_ascii_is_raw_utf8(self) -> None:
        assert canonical_bytes({"note": "entry — ünïcode 😀"}) == (
            '{"note":"entry — ünïcode 😀"}'.encode()
        )


class TestRejects:
    @given(unsafe_integers)
    def test_out_of_range_integer(self, number: int) -> None:
        with pytest.raises(CanonicalizationError):
            canonical_bytes(number)
        with pytest.raises(CanonicalizationError):
            canonical_bytes({"data": [number]})

    @given(with_lone_surrogate())
    def test_lone_surrogate_in_a_string(self, text: str) -> None:
        with pytest.raises(CanonicalizationError):
            canonical_bytes(text)
        with pytest.raises(CanonicalizationError):
            canonical_bytes({"k": text})

    @given(with_lone_surrogate())
    def test_lone_surrogate_in_a_key(self, text: str) -> None:
        with pytest.raises(CanonicalizationError):
            canonical_bytes({text: 1})

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(b"bytes", id="bytes"),
            pytest.param({1: "x"}, id="integer-key"),
            pytest.param(float("nan"), id="nan"),
            pytest.param(object(), id="object"),
            pytest.param(MappingProxyType({"a": 1}), id="mapping-proxy"),
        ],
    )
    def test_values_json_does_not_have(self, value: object) -> None:
        with pytest.raises(CanonicalizationError):
            canonical_bytes(value)  # type: ignore[arg-type]  # deliberately not JSON


class TestCheckIntegers:
    @given(json_values)
    def test_accepts_every_format_v1_value(self, value: JSONValue) -> None:
        check_integers(value)

    @given(unsafe_integers)
    def test_rejects_an_unsafe_integer_anywhere(self, number: int) -> None:
        for value in (number, [1, number], {"a": {"b": (number,)}}):
            with pytest.raises(CanonicalizationError, match="outside"):
                check_integers(value)

    @pytest.mark.parametrize("number", [0.0, 1.5, -2.25, float("inf")])
    def test_rejects_a_float_anywhere(self, number: float) -> None:
        for value in (number, [number], {"quantity": number}):
            with pytest.raises(CanonicalizationError, match="not an integer"):
                check_integers(value)  # type: ignore[arg-type]  # floats are not JSONValue

    def test_bounds_are_inclusive(self) -> None:
        check_integers([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER])
        with pytest.raises(CanonicalizationError):
            check_integers(MAX_SAFE_INTEGER + 1)
        with pytest.raises(CanonicalizationError):
            check_integers(-MAX_SAFE_INTEGER - 1)

    def test_booleans_are_not_integers(self) -> None:
        check_integers([True, False, None, "x"])

    def test_rejects_a_type_json_does_not_have(self) -> None:
        with pytest.raises(CanonicalizationError, match="bytes is not JSON"):
            check_integers({"blob": b"x"})


def test_spec_vector_line_is_its_own_canonical_form(spec_line: bytes) -> None:
    """Each exported line is JCS of the envelope it holds (ledger format section 6)."""
    envelope = json.loads(spec_line)
    assert canonical_bytes(envelope) == spec_line
    assert rfc8785.dumps(envelope) == spec_line
