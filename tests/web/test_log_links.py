"""Every event in a record's history links to its tlog-proof file, which verifies."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.integrity.signing import SigningKey
from ledger.integrity.tlog_proof import verify_proof
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.origin import ORIGIN
from tests.support.service import draft
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

LINK = re.compile(r'<a class="proof-link" href="(/ledger/proof/(\d+))" download>')


def test_the_history_links_each_event_to_a_proof_that_verifies(
    client: FlaskClient,
    people_store: EventStore,
    people_signer: SigningKey,
    clock: FixedClock,
) -> None:
    service = Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )
    service.handle(draft(people_store, "QP-07"), "alice")
    sign_in(client, "alice")
    page = client.get("/documents/QP-07").get_data(as_text=True)
    links = LINK.findall(page)
    seqs = [e.seq for e in people_store.read_stream("document/QP-07")]
    assert sorted(int(seq) for _, seq in links) == seqs
    anonymous = client.application.test_client()  # the log needs no sign-in
    for href, seq in links:
        response = anonymous.get(href)
        assert response.status_code == 200
        event = next(people_store.read(int(seq), int(seq)))
        proof, checkpoint = verify_proof(
            response.get_data(as_text=True),
            bytes.fromhex(event.hash),
            ORIGIN,
            [people_signer.public_raw],
        )
        assert (proof.index, checkpoint.size) == (int(seq) - 1, people_store.size())
