"""The API against its own OpenAPI document, with schemathesis: every operation, a
bounded number of generated requests each, authenticated with a test token.

No answer is a 5xx, every answer conforms to the document (status, media type,
headers, body), and a request that is refused leaves the ledger as it was.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.store import EventStore

EXAMPLES = 2  # per operation and token: the whole run stays under a minute and a half
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("user_id", ["root", "alice"])
def test_every_operation_keeps_to_the_document(
    web_app: Flask, token_for: Callable[[str], str], user_id: str
) -> None:
    store: EventStore = web_app.extensions["qms.store"]
    headers = {"Authorization": f"Bearer {token_for(user_id)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", web_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50  # 14 reads and one POST per command

    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def run(case: Case) -> None:
            before = store.size()
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
            if response.status_code >= 400:
                assert store.size() == before, (
                    case.method,
                    case.path,
                    response.status_code,
                )

        run()
