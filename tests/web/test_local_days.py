"""Days shown to the reader are the agency's days (QMS_TIMEZONE, China Time here), not
the UTC day of the moment: a finding raised at 01:05 on 6 January China time (17:05
UTC on the 5th) reads "raised 6 Jan" on its page, in the register and its CSV, and an
action done then reads done on the 6th."""

from __future__ import annotations

from flask.testing import FlaskClient

from ledger.clock import FixedClock
from ledger.service import Service
from ledger.store import EventStore
from tests.support.webapp import (
    client,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)
from tests.web.test_findings import raise_finding, service, to_actions_done

__all__ = [
    "client",
    "people_signer",
    "people_store",
    "people_template",
    "service",
    "web_app",
]


def _just_after_local_midnight(clock: FixedClock) -> None:
    """Move the clock from 08:00 UTC on 5 Jan to 17:05 UTC: 01:05 on 6 Jan in China."""
    moment = clock.advance(hours=9, minutes=5)
    assert moment.isoformat() == "2026-01-05T17:05:00+00:00"


def test_a_finding_raised_after_local_midnight_shows_the_local_day(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    _just_after_local_midnight(clock)
    raise_finding(service, people_store)
    client.set_cookie("qms_lang", "en")
    sign_in(client, "mia")
    page = client.get("/findings/F-1").get_data(as_text=True)
    assert "<dd>6 Jan 2026 · carol</dd>" in page
    assert "5 Jan 2026 · carol" not in page
    register = client.get("/findings").get_data(as_text=True)
    assert '<td class="af-day">6 Jan 2026</td>' in register
    exported = client.get("/findings?format=csv").get_data(as_text=True)
    assert "2026-01-06" in exported
    assert "2026-01-05" not in exported
    client.set_cookie("qms_lang", "zh_CN")
    page = client.get("/findings/F-1").get_data(as_text=True)
    assert "<dd>2026年1月6日 · carol</dd>" in page


def test_an_action_done_after_local_midnight_shows_the_local_day(
    client: FlaskClient, service: Service, people_store: EventStore, clock: FixedClock
) -> None:
    _just_after_local_midnight(clock)
    to_actions_done(service, people_store)
    client.set_cookie("qms_lang", "en")
    sign_in(client, "mia")
    page = client.get("/findings/F-1").get_data(as_text=True)
    assert " · 6 Jan 2026</td>" in page
    assert "5 Jan 2026" not in page
