"""What the indicator pages offer: decided from the indicator's status and the person's
roles, a manager's scope reaching the units below."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from flask import Flask

from projections import queries as q
from tests.support.webapp import people_signer, people_store, people_template, web_app
from web.views import area_actions as acts

__all__ = ["people_signer", "people_store", "people_template", "web_app"]

VIEW = q.IndicatorView(
    indicator_id="KPI-1",
    unit="B1",
    owner="dave",
    name="n",
    measure="%",
    direction="higher_is_better",
    frequency="monthly",
    method="m",
    target="95",
    effective_from="2025-10",
    status="active",
    retired_reason=None,
    since_seq=1,
)
MEASURED = replace(
    VIEW,
    measurements=(
        q.MeasurementView(
            period="2025-10",
            value="97",
            first_value="97",
            corrections=0,
            note=None,
            correction_reason=None,
            recorded_by="dave",
            target="95",
            met=True,
        ),
    ),
)


def test_who_may_do_what(web_app: Flask) -> None:
    with web_app.test_request_context():
        owner = acts.indicator_actions(MEASURED, "dave", (("owner", "B1"),))
        assert owner == acts.IndicatorActions(
            record_measurement=True, correct_measurement=True
        )
        other_owner = acts.indicator_actions(MEASURED, "ann", (("owner", "B1"),))
        assert not other_owner.any
        manager = acts.indicator_actions(MEASURED, "mia", (("manager", "B1"),))
        assert manager == acts.IndicatorActions(
            change_target=True, correct_measurement=True, retire=True
        )
        hq = acts.indicator_actions(VIEW, "hank", (("manager", "HQ"),))
        assert hq.change_target  # HQ's scope reaches B1
        assert not hq.correct_measurement  # nothing measured to correct
        assert not acts.indicator_actions(VIEW, "x", (("manager", "B2"),)).any
        assert not acts.indicator_actions(VIEW, "x", (("viewer", "B1"),)).any
        retired = replace(MEASURED, status="retired")
        assert not acts.indicator_actions(retired, "mia", (("manager", "B1"),)).any
        assert acts.may_define_indicator((("manager", "B2"),))
        assert not acts.may_define_indicator((("owner", "B1"),))
        assert acts.may_hold_review((("manager", "HQ"),))
        assert not acts.may_hold_review((("auditor", "HQ"),))


def test_agency_today_is_the_agency_date(web_app: Flask) -> None:
    with web_app.test_request_context():
        late = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 1 April 01:00 in Beijing
        assert acts.agency_today(late).isoformat() == "2026-04-01"
