"""An indicator's trend as server-rendered SVG, and the same numbers as table rows.

Pure presentation: measurements per period, each with the target in force for it and
its verdict as the indicators register gives them (`MeasurementView.target`, `.met`),
go in; an SVG string comes out. The values are a line with a point per period, the
target a step line as it was in force each period, a missed period a red triangle
where a met one is a blue circle (shape and colour), the axes labelled. The chart
carries a `<title>` and `<desc>` named by `aria-labelledby`; every text is escaped.
No style attribute: only presentation attributes and classes, which the
Content-Security-Policy allows. Every word comes from `ChartLabels`, so the caller
translates them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from html import escape

from projections.queries import IndicatorView, MeasurementView

WIDTH = 640
HEIGHT = 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 16, 72  # the plot's margins
_MAX_X_LABELS = 12
_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

# Colours with at least 3:1 contrast on white for graphics, 4.5:1 for text.
_INK = "#0b0c0c"
_GRID = "#b1b4b6"
_VALUE = "#1d70b8"
_TARGET = "#505a5f"
_MISSED = "#d4351c"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartPoint:
    """One period: its measured value, the target in force then, and the verdict."""

    period: str
    value: str
    target: str | None = None
    met: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartLabels:
    """The chart's words, translated by the caller.

    `title` names the chart (e.g. the indicator's name), `description` says what it
    shows; `measure` is the unit of the values (e.g. "%"), may be empty.
    """

    title: str
    description: str
    period: str
    value: str
    target: str
    met: str
    missed: str
    no_target: str
    no_data: str
    measure: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendRow:
    """One row of the text table beside the chart."""

    period: str
    value: str
    target: str
    verdict: str
    missed: bool


def chart_points(
    source: IndicatorView | Iterable[MeasurementView],
) -> tuple[ChartPoint, ...]:
    """The points of an indicator's measurements, in the register's period order."""
    measurements = (
        source.measurements if isinstance(source, IndicatorView) else tuple(source)
    )
    return tuple(
        ChartPoint(period=m.period, value=m.value, target=m.target, met=m.met)
        for m in measurements
    )


def trend_rows(points: Sequence[ChartPoint], labels: ChartLabels) -> list[TrendRow]:
    """The accessible text table of the chart: one row per period, in order."""
    return [
        TrendRow(
            period=p.period,
            value=p.value,
            target=p.target if p.target is not None else "",
            verdict=_verdict(p, labels),
            missed=p.met is False,
        )
        for p in points
    ]


def trend_svg(
    points: Sequence[ChartPoint], labels: ChartLabels, *, chart_id: str
) -> str:
    """Return the SVG of the trend; `chart_id` (a letter, then letters, digits,
    '-' or '_') makes the ids of its title and description unique on the page.

    Raises:
        ValueError: `chart_id` is not such an id.
    """
    if not _ID_RE.fullmatch(chart_id):
        raise ValueError(f"chart id {chart_id!r} is not a plain id")
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' aria-labelledby="{title_id} {desc_id}" font-family="sans-serif"'
        f' font-size="12" fill="{_INK}">',
        f'<title id="{title_id}">{_esc(labels.title)}</title>',
        f'<desc id="{desc_id}">{_esc(labels.description)}</desc>',
    ]
    plotted = [
        (p, value, _number(p.target))
        for p in points
        if (value := _number(p.value)) is not None
    ]
    if not plotted:
        parts.append(
            f'<text class="no-data" x="{WIDTH // 2}" y="{HEIGHT // 2}"'
            f' text-anchor="middle">{_esc(labels.no_data)}</text></svg>'
        )
        return "".join(parts)
    numbers = [v for _, v, _ in plotted] + [t for _, _, t in plotted if t is not None]
    scale = _Scale(min(numbers), max(numbers), len(plotted))
    parts += _axes(scale, [p.period for p, _, _ in plotted], labels)
    parts += _target_steps(scale, [t for _, _, t in plotted])
    line = _pairs((scale.x(i), scale.y(v)) for i, (_, v, _) in enumerate(plotted))
    parts.append(
        f'<polyline class="values" fill="none" stroke="{_VALUE}" stroke-width="2"'
        f' points="{line}"/>'
    )
    parts += [
        _marker(point, scale.x(i), scale.y(value), labels)
        for i, (point, value, _) in enumerate(plotted)
    ]
    parts += _legend(labels)
    parts.append("</svg>")
    return "".join(parts)


class _Scale:
    """Where a period index and a value land in the plot."""

    def __init__(self, low: Decimal, high: Decimal, count: int) -> None:
        if high == low:  # a flat series still gets room above and below
            low, high = low - (abs(low) / 10 or 1), high + (abs(high) / 10 or 1)
        self.tick = _nice_step((high - low) / 4)
        self.low = (low / self.tick).to_integral_value(rounding=ROUND_FLOOR) * self.tick
        self.high = (high / self.tick).to_integral_value(
            rounding=ROUND_CEILING
        ) * self.tick
        self.count = count
        self.step = (WIDTH - _LEFT - _RIGHT) / count
        self.plot_bottom = HEIGHT - _BOTTOM

    def x(self, index: int) -> float:
        return _LEFT + self.step * (index + 0.5)

    def y(self, value: Decimal) -> float:
        share = float((value - self.low) / (self.high - self.low))
        return self.plot_bottom - share * (self.plot_bottom - _TOP)

    def ticks(self) -> list[Decimal]:
        count = int((self.high - self.low) / self.tick)
        return [self.low + self.tick * k for k in range(count + 1)]


def _nice_step(rough: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 times a power of ten at least `rough`."""
    power = Decimal(10) ** rough.adjusted()
    for factor in (1, 2, 5, 10):
        if power * factor >= rough:
            return power * factor
    return power * 10


def _axes(scale: _Scale, periods: Sequence[str], labels: ChartLabels) -> list[str]:
    bottom, right = scale.plot_bottom, WIDTH - _RIGHT
    parts = [
        f'<g class="axes" stroke="{_INK}" stroke-width="1">'
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{bottom}"/>'
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/></g>',
        '<g class="y-ticks" text-anchor="end">',
    ]
    for tick in scale.ticks():
        y = _fmt(scale.y(tick))
        parts.append(
            f'<line x1="{_LEFT}" y1="{y}" x2="{right}" y2="{y}" stroke="{_GRID}"'
            f' stroke-width="0.5"/>'
            f'<text x="{_LEFT - 6}" y="{y}" dy="4">{_esc(_tick_text(tick))}</text>'
        )
    parts.append("</g>")
    # as many period labels as fit side by side, counted back from the latest
    room = (WIDTH - _LEFT - _RIGHT) // (max(map(_text_width, periods)) + 10)
    every = math.ceil(len(periods) / max(1, min(room, _MAX_X_LABELS)))
    parts.append('<g class="x-ticks" text-anchor="middle">')
    for i, period in enumerate(periods):
        if (len(periods) - 1 - i) % every == 0:
            parts.append(
                f'<text x="{_fmt(scale.x(i))}" y="{bottom + 16}">{_esc(period)}</text>'
            )
    parts.append("</g>")
    parts.append(
        f'<text class="x-label" x="{(_LEFT + right) // 2}" y="{bottom + 34}"'
        f' text-anchor="middle">{_esc(labels.period)}</text>'
    )
    if labels.measure:
        middle = (_TOP + bottom) // 2
        parts.append(
            f'<text class="y-label" x="14" y="{middle}" text-anchor="middle"'
            f' transform="rotate(-90 14 {middle})">{_esc(labels.measure)}</text>'
        )
    return parts


def _target_steps(scale: _Scale, targets: Sequence[Decimal | None]) -> list[str]:
    """One stepped polyline per run of periods with a target in force."""
    runs: list[list[tuple[float, float]]] = []
    previous: Decimal | None = None
    half = scale.step / 2
    for i, target in enumerate(targets):
        if target is None:
            previous = None
            continue
        y = scale.y(target)
        if previous is None:
            runs.append([(scale.x(i) - half, y)])
        elif target != previous:
            runs[-1].append((scale.x(i) - half, scale.y(previous)))
            runs[-1].append((scale.x(i) - half, y))
        runs[-1].append((scale.x(i) + half, y))
        previous = target
    return [
        f'<polyline class="target" fill="none" stroke="{_TARGET}" stroke-width="2"'
        f' stroke-dasharray="6 4" points="{_pairs(run)}"/>'
        for run in runs
    ]


def _marker(point: ChartPoint, x: float, y: float, labels: ChartLabels) -> str:
    tip = f"{point.period}: {point.value}"
    if point.target is not None:
        tip += f" ({labels.target} {point.target})"
    tip += f" · {_verdict(point, labels)}"
    hint = f"<title>{_esc(tip)}</title>"
    if point.met is False:  # a triangle, red: never colour alone
        d = f"M{_fmt(x)} {_fmt(y - 7)}L{_fmt(x + 7)} {_fmt(y + 5)}L{_fmt(x - 7)} {_fmt(y + 5)}Z"
        return (
            f'<path class="point missed" d="{d}" fill="{_MISSED}" stroke="{_INK}"'
            f' stroke-width="1">{hint}</path>'
        )
    cls = "point met" if point.met else "point"
    fill = _VALUE if point.met else "#ffffff"
    return (
        f'<circle class="{cls}" cx="{_fmt(x)}" cy="{_fmt(y)}" r="5" fill="{fill}"'
        f' stroke="{_VALUE}" stroke-width="2">{hint}</circle>'
    )


def _legend(labels: ChartLabels) -> list[str]:
    """Value line, target line and missed marker, each with its word, side by side."""
    swatches = (
        f'<line x1="0" y1="0" x2="24" y2="0" stroke="{_VALUE}" stroke-width="2"/>'
        f'<circle cx="12" cy="0" r="4" fill="{_VALUE}"/>',
        f'<line x1="0" y1="0" x2="24" y2="0" stroke="{_TARGET}" stroke-width="2"'
        ' stroke-dasharray="6 4"/>',
        f'<path d="M12 -6L18 4L6 4Z" fill="{_MISSED}" stroke="{_INK}"'
        ' stroke-width="1"/>',
    )
    parts = [f'<g class="legend" transform="translate({_LEFT} {HEIGHT - 14})">']
    x = 0
    for swatch, word in zip(
        swatches, (labels.value, labels.target, labels.missed), strict=True
    ):
        parts.append(
            f'<g transform="translate({x} 0)">{swatch}'
            f'<text x="30" y="4">{_esc(word)}</text></g>'
        )
        x += 30 + _text_width(word) + 28
    parts.append("</g>")
    return ["".join(parts)]


def _text_width(text: str) -> int:
    """About how wide `text` is at 12 px: CJK characters are square, others narrower."""
    return sum(12 if ord(ch) >= 0x2E80 else 7 for ch in text)


def _verdict(point: ChartPoint, labels: ChartLabels) -> str:
    if point.met is None:
        return labels.no_target
    return labels.met if point.met else labels.missed


def _number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _tick_text(value: Decimal) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _pairs(points: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)


def _esc(text: str) -> str:
    return escape(text, quote=True)
