"""Reading a line: the body the verifier cuts from a JCS line is the body `event_hash` hashes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from ledger.errors import VerificationError
from ledger.integrity.canonical import canonical_bytes
from ledger.integrity.chain import body_bytes, body_hash, event_hash
from ledger.integrity.verify.lines import body_of, read_envelope
from tests.support.strategies import envelopes


@given(envelopes())
def test_the_cut_body_is_the_jcs_body_and_hashes_to_the_event_hash(
    env: dict[str, Any],
) -> None:
    line = canonical_bytes(env)
    parsed, body = read_envelope(env["seq"], line)
    assert parsed == env
    assert body == body_bytes(env) == body_of(env, line)
    assert body_hash(body) == event_hash(env) == bytes.fromhex(env["hash"])


@given(envelopes())
def test_a_line_that_is_not_jcs_is_refused(env: dict[str, Any]) -> None:
    line = canonical_bytes(env).replace(b'{"actor"', b'{ "actor"', 1)
    with pytest.raises(VerificationError, match="not the JCS form") as caught:
        read_envelope(3, line)
    assert caught.value.seq == 3
