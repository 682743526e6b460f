"""The indicators register and page: define, change the target, record, correct, retire;
the chart inline with its table; who may do what; one event per form; stale versions."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.clock import FixedClock
from ledger.domain import indicators as ind
from ledger.service import Service
from ledger.store import EventStore
from projections.runner import InlineProjector
from tests.support.webapp import (
    client,
    csrf_token,
    people_signer,
    people_store,
    people_template,
    sign_in,
    web_app,
)

__all__ = ["client", "people_signer", "people_store", "people_template", "web_app"]

HIDDEN = re.compile(r'name="(command_id|version)" type="hidden" value="([^"]*)"')
XSS = "<script>alert(1)</script>"


def hidden(page: TestResponse) -> dict[str, str]:
    """The CSRF token, command id and version of the form on `page`."""
    found = dict(HIDDEN.findall(page.get_data(as_text=True)))
    return {"csrf_token": csrf_token(page), **found}


def post_form(
    client: FlaskClient, url: str, data: dict[str, str]
) -> tuple[TestResponse, dict[str, str]]:
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    sent = {**hidden(page), **data}
    return client.post(url, data=sent), sent


@pytest.fixture
def service(people_store: EventStore, clock: FixedClock) -> Service:
    return Service(
        people_store, projectors=[InlineProjector()], clock=clock, scrypt_n=2**10
    )


@pytest.fixture
def kpi(service: Service) -> str:
    """KPI-1 of B1, owned by dave, with two monthly values, one missing its target."""
    service.handle(
        ind.DefineIndicator(
            indicator_id="KPI-1",
            unit="B1",
            owner="dave",
            name="On-time calibration",
            measure="%",
            direction="higher_is_better",
            target="95",
            frequency="monthly",
            method="Calibrations done on time / due",
            effective_from="2025-10",
        ),
        "mia",
    )
    service.handle(
        ind.RecordMeasurement(indicator_id="KPI-1", period="2025-10", value="97"),
        "dave",
    )
    service.handle(
        ind.RecordMeasurement(indicator_id="KPI-1", period="2025-11", value="90"),
        "dave",
    )
    return "KPI-1"


DEFINE = {
    "indicator_id": "KPI-9",
    "unit": "B1",
    "owner": "dave",
    "name": "Complaints answered in time",
    "measure": "%",
    "direction": "higher_is_better",
    "target": "90",
    "frequency": "monthly",
    "method": "Answered within 5 days / received",
    "effective_from": "2026-01",
}


def test_define_happy_path(client: FlaskClient, people_store: EventStore) -> None:
    sign_in(client, "mia")
    before = people_store.size()
    answer, _ = post_form(client, "/indicators/new", DEFINE)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/indicators/KPI-9")
    assert people_store.size() == before + 1
    assert people_store.read_stream("indicator/KPI-9")[0].type == "indicator.defined"
    page = client.get("/indicators/KPI-9").get_data(as_text=True)
    assert "KPI-9" in page
    assert "Complaints answered in time" in page
    assert "banner-success" in page


def test_define_rule_violation_keeps_input(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    before = people_store.size()
    answer, _ = post_form(
        client, "/indicators/new", {**DEFINE, "target": "lots", "owner": "nobody"}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "error-summary" in text
    assert 'id="target-error"' in text
    assert 'value="Complaints answered in time"' in text
    assert people_store.size() == before


def test_define_service_rule_beside_field(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    before = people_store.size()
    answer, _ = post_form(client, "/indicators/new", {**DEFINE, "owner": "nobody"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="owner-error"' in text
    assert "请从列出的人员中选择" in text  # "nobody" was not offered
    assert people_store.size() == before


def test_define_without_csrf_is_400(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    page = client.get("/indicators/new")
    data = {**DEFINE, **dict(HIDDEN.findall(page.get_data(as_text=True)))}
    before = people_store.size()
    assert client.post("/indicators/new", data=data).status_code == 400
    assert people_store.size() == before


def test_define_needs_manager(client: FlaskClient, people_store: EventStore) -> None:
    sign_in(client, "vic")
    assert client.get("/indicators/new").status_code == 403
    page = client.get("/indicators")
    assert "/indicators/new" not in page.get_data(as_text=True)


def test_define_in_a_unit_not_offered_is_the_fields_error(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    before = people_store.size()
    answer, _ = post_form(
        client, "/indicators/new", {**DEFINE, "unit": "B2", "owner": "zoe"}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="unit-error"' in text
    assert "请从列出的单位中选择" in text
    assert people_store.size() == before


def test_define_offers_the_units_and_owners_the_manager_may_pick(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")  # manager of B1
    page = client.get("/indicators/new").get_data(as_text=True)
    units = re.search(r'<select[^>]*name="unit".*?</select>', page, re.S)
    owners = re.search(r'<select[^>]*name="owner".*?</select>', page, re.S)
    assert units
    assert owners
    assert re.findall(r'value="([^"]*)"', units.group(0)) == ["B1"]
    assert re.findall(r'value="([^"]*)"', owners.group(0)) == ["", "dave"]
    sign_in(client, "hank")  # manager of headquarters: the bureaus too
    page = client.get("/indicators/new").get_data(as_text=True)
    units = re.search(r'<select[^>]*name="unit".*?</select>', page, re.S)
    owners = re.search(r'<select[^>]*name="owner".*?</select>', page, re.S)
    assert units
    assert owners
    assert re.findall(r'value="([^"]*)"', units.group(0)) == ["B1", "B2", "HQ"]
    # dave is the one person with the owner role (B1); zoe has none
    assert re.findall(r'value="([^"]*)"', owners.group(0)) == ["", "dave"]
    before = people_store.size()
    answer, _ = post_form(
        client, "/indicators/new", {**DEFINE, "unit": "B2", "owner": "dave"}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="owner-error"' in text
    assert "B2" in text.split('id="owner-error"')[1].split("</p>")[0]
    assert people_store.size() == before


def test_double_submit_records_once(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    answer, sent = post_form(client, "/indicators/new", DEFINE)
    assert answer.status_code == 302
    size = people_store.size()
    again = client.post("/indicators/new", data=sent)
    assert again.status_code == 302
    assert people_store.size() == size


def test_page_shows_chart_table_and_escapes(
    client: FlaskClient, kpi: str, service: Service
) -> None:
    service.handle(
        ind.ChangeTarget(
            indicator_id=kpi, target="96", effective_from="2025-12", reason=XSS
        ),
        "mia",
    )
    sign_in(client, "vic")
    page = client.get(f"/indicators/{kpi}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in text
    assert 'class="trend-chart"' in text
    assert "style=" not in text
    assert "2025-11" in text
    assert "badge-missed" in text
    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # a viewer is offered nothing
    assert "/indicators/KPI-1/measure" not in text
    assert "/indicators/KPI-1/target" not in text


def test_owner_records_measurement(
    client: FlaskClient, kpi: str, people_store: EventStore
) -> None:
    sign_in(client, "dave")
    page = client.get(f"/indicators/{kpi}").get_data(as_text=True)
    assert "/indicators/KPI-1/measure" in page
    assert "/indicators/KPI-1/retire" not in page
    answer, _ = post_form(
        client,
        f"/indicators/{kpi}/measure",
        {"period": "2025-12", "value": "99", "note": XSS},
    )
    assert answer.status_code == 302
    assert people_store.read_stream("indicator/KPI-1")[-1].type == "indicator.measured"
    text = client.get(f"/indicators/{kpi}").get_data(as_text=True)
    assert "测量值已登记。" in text
    assert XSS not in text


def test_measurement_twice_is_422(
    client: FlaskClient, kpi: str, people_store: EventStore
) -> None:
    sign_in(client, "dave")
    before = people_store.size()
    answer, _ = post_form(
        client, f"/indicators/{kpi}/measure", {"period": "2025-11", "value": "99"}
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="period-error"' in text
    assert "请改为更正该记录" in text
    assert people_store.size() == before


def test_measure_needs_owner(
    client: FlaskClient, kpi: str, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    assert client.get(f"/indicators/{kpi}/measure").status_code == 403


def test_correct_and_change_target_and_retire(
    client: FlaskClient, kpi: str, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    answer, _ = post_form(
        client,
        f"/indicators/{kpi}/correct",
        {"period": "2025-11", "value": "96", "reason": "typo"},
    )
    assert answer.status_code == 302
    answer, _ = post_form(
        client,
        f"/indicators/{kpi}/target",
        {"target": "97", "effective_from": "2026-01", "reason": "raised"},
    )
    assert answer.status_code == 302
    page = client.get(f"/indicators/{kpi}").get_data(as_text=True)
    assert "typo" in page
    assert "raised" in page
    answer, _ = post_form(client, f"/indicators/{kpi}/retire", {"reason": "replaced"})
    assert answer.status_code == 302
    types = [e.type for e in people_store.read_stream("indicator/KPI-1")]
    assert types[-3:] == [
        "indicator.measurement_corrected",
        "indicator.target_changed",
        "indicator.retired",
    ]
    page = client.get(f"/indicators/{kpi}").get_data(as_text=True)
    assert "/indicators/KPI-1/retire" not in page
    assert "replaced" in page


def test_correction_needs_reason(
    client: FlaskClient, kpi: str, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    before = people_store.size()
    answer, _ = post_form(
        client,
        f"/indicators/{kpi}/correct",
        {"period": "2025-11", "value": "96", "reason": ""},
    )
    assert answer.status_code == 422
    assert 'id="reason-error"' in answer.get_data(as_text=True)
    assert people_store.size() == before


def test_stale_version_is_409(
    client: FlaskClient, kpi: str, service: Service, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    page = client.get(f"/indicators/{kpi}/target")
    sent = {
        **hidden(page),
        "target": "97",
        "effective_from": "2026-01",
        "reason": "raised",
    }
    service.handle(
        ind.RecordMeasurement(indicator_id=kpi, period="2025-12", value="99"), "dave"
    )
    before = people_store.size()
    answer = client.post(f"/indicators/{kpi}/target", data=sent)
    assert answer.status_code == 409
    assert people_store.size() == before


def test_another_units_indicator_is_not_there_for_a_manager(
    client: FlaskClient, kpi: str, service: Service, people_store: EventStore
) -> None:
    sign_in(client, "mia")  # manager of B1: B2's indicators are not hers
    page = client.get(f"/indicators/{kpi}/retire")
    sent = {**hidden(page), "reason": "x"}
    service.handle(
        ind.DefineIndicator(
            indicator_id="KPI-3",
            unit="B2",
            owner="zoe",
            name="B2 objective",
            measure="%",
            direction="higher_is_better",
            target="1",
            frequency="yearly",
            method="count",
            effective_from="2025",
        ),
        "hank",
    )
    assert client.get("/indicators/KPI-3/retire").status_code == 404
    assert client.get("/indicators/KPI-3").status_code == 404
    before = people_store.size()
    sent["version"] = "1"
    assert client.post("/indicators/KPI-3/retire", data=sent).status_code == 404
    assert people_store.size() == before


def test_unknown_indicator_is_404(client: FlaskClient) -> None:
    sign_in(client, "vic")
    assert client.get("/indicators/NOPE").status_code == 404


def test_register_search_sort_csv(
    client: FlaskClient, kpi: str, service: Service
) -> None:
    service.handle(
        ind.DefineIndicator(
            indicator_id="KPI-2",
            unit="B2",
            owner="zoe",
            name="Audit days",
            measure="d",
            direction="lower_is_better",
            target="10",
            frequency="quarterly",
            method="count",
            effective_from="2025-Q1",
        ),
        "hank",
    )
    sign_in(client, "vic")  # a viewer of B1 reads B1's indicators only
    text = client.get("/indicators").get_data(as_text=True)
    assert "KPI-1" in text
    assert "KPI-2" not in text
    sign_in(client, "hank")
    text = client.get("/indicators").get_data(as_text=True)
    assert "KPI-1" in text
    assert "KPI-2" in text
    text = client.get("/indicators?q=calibration").get_data(as_text=True)
    assert "KPI-1" in text
    assert "KPI-2" not in text
    text = client.get("/indicators?unit=B2").get_data(as_text=True)
    assert "KPI-2" in text
    assert "On-time calibration" not in text
    text = client.get("/indicators?sort=id&desc=1").get_data(as_text=True)
    assert text.index("KPI-2") < text.index("KPI-1")
    assert client.get("/indicators?sort=colour").status_code == 400
    csv_answer = client.get("/indicators?format=csv&unit=B1")
    assert csv_answer.mimetype == "text/csv"
    assert "KPI-1" in csv_answer.get_data(as_text=True)
    assert "KPI-2" not in csv_answer.get_data(as_text=True)


def test_measurements_due_on_own_page(client: FlaskClient, kpi: str) -> None:
    sign_in(client, "dave")
    text = client.get("/me").get_data(as_text=True)
    assert "/indicators/KPI-1/measure?period=" in text


def test_as_of_shows_earlier_state_without_forms(
    client: FlaskClient, kpi: str, service: Service, clock: FixedClock
) -> None:
    clock.advance(days=2)
    service.handle(
        ind.RecordMeasurement(indicator_id=kpi, period="2025-12", value="99"), "dave"
    )
    sign_in(client, "dave")
    now = client.get(f"/indicators/{kpi}").get_data(as_text=True)
    assert "2025-12" in now
    then = client.get(f"/indicators/{kpi}?as_of=2026-01-06")
    text = then.get_data(as_text=True)
    assert then.status_code == 200
    assert "banner-as-of" in text
    assert "2025-12" not in text
    assert "2025-11" in text
    assert "/indicators/KPI-1/measure" not in text
    register = client.get("/indicators?as_of=2026-01-06").get_data(as_text=True)
    assert "banner-as-of" in register
    assert "/indicators/new" not in register


def test_define_escapes_the_name_everywhere(
    client: FlaskClient, people_store: EventStore
) -> None:
    sign_in(client, "mia")
    answer, _ = post_form(client, "/indicators/new", {**DEFINE, "name": XSS})
    assert answer.status_code == 302
    for url in ("/indicators", "/indicators/KPI-9", "/dashboard", "/reports/status"):
        text = client.get(url).get_data(as_text=True)
        assert XSS not in text, url
        assert "&lt;script&gt;" in text, url


def test_measure_on_a_stale_form_is_409(
    client: FlaskClient, kpi: str, service: Service, people_store: EventStore
) -> None:
    sign_in(client, "dave")
    page = client.get(f"/indicators/{kpi}/measure")
    sent = {**hidden(page), "period": "2026-01", "value": "99"}
    service.handle(
        ind.ChangeTarget(
            indicator_id=kpi, target="96", effective_from="2026-01", reason="up"
        ),
        "mia",
    )
    before = people_store.size()
    answer = client.post(f"/indicators/{kpi}/measure", data=sent)
    assert answer.status_code == 409
    assert "up" in answer.get_data(as_text=True)  # what changed meanwhile
    assert people_store.size() == before
