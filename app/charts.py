"""Line charts laid out for SVG on the server: plain numbers in, coordinates out (no JavaScript library)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Line:
    """One series drawn as a polyline, with a dot per value."""

    label: str
    css_class: str
    points: list[tuple[float, float]]
    values: list[tuple[str, float]]

    @property
    def path(self) -> str:
        """The polyline's `points` attribute."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis."""

    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    """Everything the SVG template draws."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def percent_chart(series: dict[str, list[tuple[date, float]]], width: int = 640, height: int = 260,
                  palette: int = 8) -> LineChart:
    """Lay out series of (day, 0-100 %) values on a shared time axis and a 0-100 % value axis."""
    left, top, right, bottom = 44, 12, 12, 28
    plot_width, plot_height = width - left - right, height - top - bottom
    days = sorted({day for values in series.values() for day, _ in values})

    def y(value: float) -> float:
        return top + plot_height * (1 - max(0.0, min(100.0, value)) / 100)

    y_ticks = [Tick(y(value), f"{value}%") for value in (0, 25, 50, 75, 100)]
    if not days:
        return LineChart(width, height, left, top, plot_width, plot_height, [], [], y_ticks)
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)

    def x(day: date) -> float:
        if first == last:
            return left + plot_width / 2
        return left + plot_width * (day - first).days / span

    lines = [Line(label, f"series-{index % palette}", [(x(day), y(value)) for day, value in sorted(values)],
                  [(day.isoformat(), round(value, 1)) for day, value in sorted(values)])
             for index, (label, values) in enumerate(series.items()) if values]
    shown_days = days if len(days) <= 6 else [days[round(i * (len(days) - 1) / 5)] for i in range(6)]
    x_ticks = [Tick(x(day), day.strftime("%d %b")) for day in dict.fromkeys(shown_days)]
    return LineChart(width, height, left, top, plot_width, plot_height, lines, x_ticks, y_ticks)
