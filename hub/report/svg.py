"""Small inline SVG charts, drawn here so the report page needs nothing from the network.

Every drawn data point is an element with class `point` and `data-value` (a bar segment or a
line's dot) and a `<title>` for its tooltip: the page is readable by people and checkable by
tests that look at the rendered DOM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "stacked_bars", "line"]

WIDTH, HEIGHT = 560, 170
LEFT, RIGHT, TOP, BOTTOM = 52, 10, 20, 22  # room for the axis labels


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the class that colours it (the page's stylesheet)
    values: list[float]


def _nice_max(value: float) -> float:
    """A round axis top at or above `value` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= value)


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    return f"{value:,.0f}" if value == int(value) or value >= 100 else f"{value:,.1f}"


def _frame(kind: str, title: str, top: float, labels: list[str], unit: str, body: list[str]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" data-chart="{escape(kind)}" data-points="{len(labels)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i in range(3):  # three gridlines: 0, half, top
        value = top * i / 2
        y = TOP + plot_h - plot_h * i / 2
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>'
        )
    if labels:
        y = HEIGHT - 6
        parts.append(f'<text class="axis" x="{LEFT}" y="{y}">{escape(labels[0])}</text>')
        if len(labels) > 1:
            last = escape(labels[-1])
            parts.append(f'<text class="axis" x="{WIDTH - RIGHT}" y="{y}" text-anchor="end">{last}</text>')
    else:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no runs</text>'
        )
    parts.append(f'<text class="unit" x="{LEFT}" y="{TOP - 8}">{escape(unit)}</text>')
    parts += body
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(kind: str, title: str, labels: list[str], series: list[Series], unit: str = "") -> str:
    """One bar per label (a run), its series stacked bottom up."""
    n = len(labels)
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(n, 1)
    bar = max(min(slot * 0.8, 28), 1.5)
    body = []
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar) / 2
        base = 0.0
        for s in series:
            value = s.values[i]
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * base / top - h
            tip = f"{label}: {_fmt(value)} {s.name}"
            body.append(
                f'<rect class="point {escape(s.css)}" data-series="{escape(s.name)}" data-value="{value:g}" '
                f'x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(h, 0):.1f}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            base += value
    return _frame(kind, title, top, labels, unit, body)


def line(kind: str, title: str, labels: list[str], values: list[float], css: str, unit: str = "") -> str:
    """A line through one dot per label."""
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(values), 1)
    xy = [(LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * v / top) for i, v in enumerate(values)]
    body = []
    if len(xy) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        body.append(f'<polyline class="line {escape(css)}" points="{path}"/>')
    for (x, y), value, label in zip(xy, values, labels, strict=True):
        body.append(
            f'<circle class="point {escape(css)}" data-value="{value:g}" cx="{x:.1f}" cy="{y:.1f}" r="3.5">'
            f"<title>{escape(f'{label}: {_fmt(value)} {unit}')}</title></circle>"
        )
    return _frame(kind, title, top, labels, unit, body)
