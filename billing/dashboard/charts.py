"""Bar charts by month, laid out in Python and drawn as SVG by a template
(``admin/billing/includes/bar_chart.html``): no JavaScript, no charting library.

Pure functions over plain values, so the geometry is testable without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext, pgettext

WIDTH = 640
HEIGHT = 240
LEFT = 76  # room for the value axis labels
RIGHT = 8
TOP = 12
BOTTOM = 40  # room for the month labels
PALETTE = ("#417690", "#e0a030", "#79aec8", "#b05030")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | int]
    color: str = ""


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class MonthLabel:
    x: float
    month: str
    year: str


@dataclass(frozen=True)
class LegendEntry:
    label: str
    color: str


@dataclass(frozen=True)
class TableRow:
    month: str
    values: list[str]
    total: str


@dataclass(frozen=True)
class BarChart:
    """A stacked bar per month; also the same numbers as a table (for screen readers
    and for copying)."""

    title: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    baseline: float
    rects: list[Rect]
    ticks: list[Tick]
    months: list[MonthLabel]
    legend: list[LegendEntry]
    table_rows: list[TableRow]
    is_empty: bool


def nice_step(maximum: Decimal | int, ticks: int = 4) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ step with which ``ticks`` steps reach ``maximum``."""
    maximum = Decimal(maximum)
    if maximum <= 0:
        return 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * ticks >= maximum:
                return step
        magnitude *= 10


def month_label(month: dt.date) -> str:
    """The month under its bar: "10月" in Japanese."""
    return pgettext("chart axis", "%(month)d") % {"month": month.month}


def full_month_label(month: dt.date) -> str:
    """ "2026年10月" in Japanese."""
    return gettext("%(year)d-%(month)02d") % {"year": month.year, "month": month.month}


def bar_chart(
    *,
    title: str,
    months: Sequence[dt.date],
    series: Sequence[Series],
    fmt: Callable[[Decimal | int], str] = lambda v: f"{int(v):,}",
) -> BarChart:
    """Stacked bars, one per month, one segment per series."""
    colors = [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    totals = [sum((Decimal(s.values[i]) for s in series), Decimal(0)) for i in range(len(months))]
    maximum = max(totals, default=Decimal(0))
    step = nice_step(maximum)
    top = step * max(1, -(-int(maximum) // step))  # ceil to a whole step
    plot_height = HEIGHT - TOP - BOTTOM
    plot_width = WIDTH - LEFT - RIGHT
    baseline = TOP + plot_height
    slot = plot_width / max(len(months), 1)
    bar_width = slot * 0.62

    rects: list[Rect] = []
    labels: list[MonthLabel] = []
    rows: list[TableRow] = []
    for i, month in enumerate(months):
        x = LEFT + slot * i + (slot - bar_width) / 2
        y = baseline
        for s, color in zip(series, colors, strict=True):
            value = Decimal(s.values[i])
            if value <= 0:
                continue
            height = float(value) / top * plot_height
            y -= height
            rects.append(
                Rect(
                    round(x, 1),
                    round(y, 1),
                    round(bar_width, 1),
                    round(height, 1),
                    color,
                    f"{full_month_label(month)} {s.label}: {fmt(value)}",
                )
            )
        show_year = i == 0 or month.month == 1
        labels.append(
            MonthLabel(round(x + bar_width / 2, 1), month_label(month), f"{month.year}" if show_year else "")
        )
        rows.append(
            TableRow(
                full_month_label(month),
                [fmt(Decimal(s.values[i])) for s in series],
                fmt(totals[i]),
            )
        )
    ticks = [
        Tick(round(baseline - plot_height * k * step / top, 1), fmt(k * step)) for k in range(top // step + 1)
    ]
    return BarChart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        baseline=baseline,
        rects=rects,
        ticks=ticks,
        months=labels,
        legend=[LegendEntry(s.label, c) for s, c in zip(series, colors, strict=True)],
        table_rows=rows,
        is_empty=maximum <= 0,
    )
