"""The server-side chart layout: values land inside the plot, on a shared time axis, clamped to 0-100 %."""

from __future__ import annotations

from datetime import date

from app.charts import percent_chart


def test_points_lie_inside_the_plot_and_follow_time_and_value():
    chart = percent_chart({"Empathy": [(date(2026, 3, 5), 80.0), (date(2026, 3, 1), 40.0)],
                           "Optimism": [(date(2026, 3, 3), 100.0)]}, width=600, height=200)
    empathy, optimism = chart.lines
    (x1, y1), (x2, y2) = empathy.points
    assert x1 == chart.left and x2 == chart.left + chart.plot_width  # first and last day span the axis
    assert y2 < y1  # higher values are drawn higher
    assert optimism.points == [(chart.left + chart.plot_width / 2, chart.top)]
    assert empathy.values == [("2026-03-01", 40.0), ("2026-03-05", 80.0)]
    assert empathy.css_class != optimism.css_class
    assert [tick.label for tick in chart.x_ticks] == ["01 Mar", "03 Mar", "05 Mar"]


def test_one_day_is_centred_and_values_are_clamped():
    chart = percent_chart({"A": [(date(2026, 1, 1), 150.0)], "B": [(date(2026, 1, 1), -5.0)]})
    (a,), (b,) = chart.lines[0].points, chart.lines[1].points
    assert a[0] == b[0] == chart.left + chart.plot_width / 2
    assert a[1] == chart.top and b[1] == chart.top + chart.plot_height


def test_no_values_draw_no_lines():
    chart = percent_chart({"A": []})
    assert chart.lines == [] and chart.x_ticks == [] and len(chart.y_ticks) == 5


def test_many_days_get_at_most_six_labels():
    chart = percent_chart({"A": [(date(2026, 1, day), 50.0) for day in range(1, 31)]})
    assert len(chart.x_ticks) == 6 and chart.x_ticks[0].label == "01 Jan" and chart.x_ticks[-1].label == "30 Jan"
