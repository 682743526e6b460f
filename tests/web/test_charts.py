"""An indicator's trend chart: valid SVG a screen reader can name, missed periods
marked by shape and colour, the target stepping where it changed, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import pairwise

import pytest

from projections.queries import IndicatorView, MeasurementView
from web.charts import ChartLabels, ChartPoint, chart_points, trend_rows, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
LABELS = ChartLabels(
    title="On-time reports",
    description="Monthly share of reports filed on time against the target.",
    period="Period",
    value="Measured",
    target="Target",
    met="Met",
    missed="Missed",
    no_target="No target",
    no_data="No measurements yet",
    measure="%",
)


def _measured(
    period: str, value: str, target: str | None, met: bool | None
) -> MeasurementView:
    return MeasurementView(
        period=period,
        value=value,
        first_value=value,
        corrections=0,
        note=None,
        correction_reason=None,
        recorded_by="dave",
        target=target,
        met=met,
    )


SERIES = chart_points(
    [
        _measured("2026-01", "96.00", "95.00", True),
        _measured("2026-02", "93.50", "95.00", False),
        _measured("2026-03", "97.00", "98.00", False),
        _measured("2026-04", "99.00", "98.00", True),
    ]
)


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314  # our own output, parsed to check it
    assert root.tag == f"{SVG}svg"
    return root


def _class(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def _points(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if "point" in _class(el)]


def _point_x(el: ET.Element) -> float:
    if el.tag == f"{SVG}circle":
        return float(el.get("cx", "nan"))
    return float(el.get("d", "M nan").removeprefix("M").split()[0])  # a triangle's apex


def _pairs(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in text.split())]


def test_the_chart_is_valid_svg_named_for_screen_readers() -> None:
    root = _parse(trend_svg(SERIES, LABELS, chart_id="kpi-1"))
    assert root.get("role") == "img"
    named = (root.get("aria-labelledby") or "").split()
    assert named == ["kpi-1-title", "kpi-1-desc"]
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert desc is not None
    assert (title.get("id"), title.text) == ("kpi-1-title", "On-time reports")
    assert (desc.get("id"), desc.text) == ("kpi-1-desc", LABELS.description)
    assert all(el.get("style") is None for el in root.iter())
    assert not any(el.tag.endswith("script") for el in root.iter())
    texts = {el.text for el in root.iter(f"{SVG}text")}
    assert {"2026-01", "2026-04", "Period", "%", "Measured", "Target"} <= texts
    ticks = [el.text for el in root.iter(f"{SVG}text") if el.get("dy") == "4"]
    assert ticks == ["92", "94", "96", "98", "100"]  # round steps around 93.5 .. 99


def test_one_point_per_period_and_missed_periods_differ_in_shape_and_colour() -> None:
    root = _parse(trend_svg(SERIES, LABELS, chart_id="kpi-1"))
    points = _points(root)
    assert len(points) == 4
    missed = [p for p in points if "missed" in _class(p)]
    met = [p for p in points if "met" in _class(p)]
    assert len(missed) == 2
    assert len(met) == 2
    assert {p.tag for p in missed} == {f"{SVG}path"}
    assert {p.tag for p in met} == {f"{SVG}circle"}
    assert {p.get("fill") for p in missed}.isdisjoint({p.get("fill") for p in met})
    tips = [p.findtext(f"{SVG}title") for p in points]
    assert tips[1] == "2026-02: 93.50 (Target 95.00) · Missed"
    assert tips[0] == "2026-01: 96.00 (Target 95.00) · Met"
    line = root.find(f"{SVG}polyline[@class='values']")
    assert line is not None
    assert len(_pairs(line.get("points", ""))) == 4


def test_the_target_steps_where_it_changed() -> None:
    root = _parse(trend_svg(SERIES, LABELS, chart_id="kpi-1"))
    steps = [el for el in root.iter(f"{SVG}polyline") if "target" in _class(el)]
    assert len(steps) == 1
    corners = _pairs(steps[0].get("points", ""))
    heights = [y for _, y in corners]
    assert len(set(heights)) == 2  # 95 then 98
    assert heights[0] > heights[-1]  # the higher target is drawn higher up
    rises = [(a, b) for a, b in pairwise(corners) if a[0] == b[0] and a[1] != b[1]]
    assert len(rises) == 1  # one vertical step
    xs = [_point_x(p) for p in _points(root)]
    assert xs[1] < rises[0][0][0] < xs[2]  # between February and March
    assert corners[0][0] < xs[0] < xs[-1] < corners[-1][0]  # spans every period


def test_a_period_without_target_breaks_the_target_line() -> None:
    points = (
        ChartPoint(period="2026-Q1", value="4", target="5", met=False),
        ChartPoint(period="2026-Q2", value="6", target=None, met=None),
        ChartPoint(period="2026-Q3", value="7", target="5", met=True),
    )
    root = _parse(trend_svg(points, LABELS, chart_id="q"))
    steps = [el for el in root.iter(f"{SVG}polyline") if "target" in _class(el)]
    assert len(steps) == 2
    unknown = [p for p in _points(root) if not _class(p) & {"met", "missed"}]
    assert len(unknown) == 1
    assert unknown[0].findtext(f"{SVG}title") == "2026-Q2: 6 · No target"


def test_text_stays_text() -> None:
    hostile = '<script>alert("x")</script> & 质量'
    labels = ChartLabels(
        title=hostile,
        description=hostile,
        period=hostile,
        value="v",
        target="t",
        met="m",
        missed="x",
        no_target="n",
        no_data=hostile,
        measure=hostile,
    )
    points = (ChartPoint(period=hostile, value="1", target="2", met=False),)
    for svg in (
        trend_svg(points, labels, chart_id="c1"),
        trend_svg((), labels, chart_id="c1"),
    ):
        assert "<script>" not in svg
        root = _parse(svg)
        assert not any(el.tag.endswith("script") for el in root.iter())
        assert root.findtext(f"{SVG}title") == hostile
    with pytest.raises(ValueError, match="plain id"):
        trend_svg(points, labels, chart_id='x" onload="alert(1)')


def test_an_empty_series_says_so() -> None:
    root = _parse(trend_svg((), LABELS, chart_id="empty"))
    assert _points(root) == []
    assert [el.text for el in root.iter(f"{SVG}text")] == ["No measurements yet"]
    assert root.findtext(f"{SVG}title") == "On-time reports"
    assert trend_rows((), LABELS) == []
    broken = (ChartPoint(period="2026-01", value="n/a"),)
    assert _points(_parse(trend_svg(broken, LABELS, chart_id="e2"))) == []


def test_the_table_beside_the_chart_has_the_same_numbers() -> None:
    rows = trend_rows(SERIES, LABELS)
    assert [(r.period, r.value, r.target, r.verdict, r.missed) for r in rows] == [
        ("2026-01", "96.00", "95.00", "Met", False),
        ("2026-02", "93.50", "95.00", "Missed", True),
        ("2026-03", "97.00", "98.00", "Missed", True),
        ("2026-04", "99.00", "98.00", "Met", False),
    ]
    flat = trend_rows([ChartPoint(period="2026", value="3")], LABELS)
    assert (flat[0].target, flat[0].verdict, flat[0].missed) == ("", "No target", False)


def test_three_years_of_months_keep_every_point_and_a_readable_axis() -> None:
    months = [f"{2024 + k // 12}-{k % 12 + 1:02d}" for k in range(36)]
    view = IndicatorView(
        indicator_id="B1-OTR",
        unit="B1",
        owner="dave",
        name="按时上报率",
        measure="%",
        direction="higher_is_better",
        frequency="monthly",
        method="count",
        target="95.00",
        effective_from="2024-01",
        status="active",
        retired_reason=None,
        since_seq=1,
        measurements=tuple(
            _measured(m, f"{90 + k % 10}.00", "95.00", 90 + k % 10 >= 95)
            for k, m in enumerate(months)
        ),
    )
    points = chart_points(view)
    assert [p.period for p in points] == months
    root = _parse(trend_svg(points, LABELS, chart_id="long"))
    assert len(_points(root)) == 36
    assert len([p for p in _points(root) if "missed" in _class(p)]) == 20
    axis = root.find(f"{SVG}g[@class='x-ticks']")
    assert axis is not None
    shown = [t.text for t in axis]
    assert len(shown) <= 12
    assert shown[-1] == "2026-12"  # the latest period is always labelled
    xs = [float(t.get("x", "0")) for t in axis]
    gaps = [b - a for a, b in pairwise(xs)]
    assert min(gaps) >= 7 * len("2026-12")  # labels never overlap
