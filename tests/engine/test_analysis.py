"""Analysis figures from plain records, including the empty and single-value cases."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.engine.analysis import (AttemptRecord, StepRecord, choice_counts, dropoff, histogram, regretted_choices,
                                 summarise)
from app.engine.charts import Bar, bar_chart


def test_no_attempts_gives_no_rates_rather_than_a_division_by_zero():
    summary = summarise([])
    assert summary.attempts == 0 and summary.completion_rate is None and summary.pass_rate is None
    assert summary.average_points is None and summary.distribution == () and summary.median_minutes is None


def test_unfinished_attempts_count_as_started_but_not_in_points_or_time():
    summary = summarise([AttemptRecord("finished", "passed", 12, 60.0, {"empathy": 2}),
                         AttemptRecord("active", "unfinished", 0),
                         AttemptRecord("abandoned", "unfinished", 0, None, {}, "check")])
    assert summary.completion_rate == 1 / 3 and summary.pass_rate == 1
    assert summary.average_points == 12 and summary.average_minutes == 1 and summary.average_skills == {"empathy": 2}


def test_histogram_of_equal_values_is_one_bar_and_ranges_cover_every_value():
    assert [(b.low, b.high, b.count) for b in histogram([5, 5, 5])] == [(5, 5, 3)]
    buckets = histogram([0, 1, 2, 3, 100], buckets=4)
    assert sum(b.count for b in buckets) == 5 and buckets[0].low == 0 and buckets[-1].high == 100
    assert all(b.low <= b.high for b in buckets)


def test_choices_replies_regrets_and_dropoff_are_counted_by_node():
    steps = [StepRecord("a", "kind", 10), StepRecord("a", "rude", -5), StepRecord("a", "rude", 0),
             StepRecord("b", "reply:I can't", -5)]
    assert choice_counts(steps) == {("a", "kind"): 1, ("a", "rude"): 2, ("b", "reply"): 1}
    assert regretted_choices(steps) == {("a", "rude"): 1}  # a reply's avoid penalty is not a choice
    assert dropoff([AttemptRecord("finished", "failed", 0, stopped_at="end"),
                    AttemptRecord("finished", "passed", 9)]) == {"end": 1}


def test_bar_chart_is_well_formed_with_one_bar_each_and_escaped_labels():
    svg = bar_chart("Outcomes <&>", [Bar("<b>passed</b>", 3, "3"), Bar("گوش", 0, "0")])
    tree = ET.fromstring(svg)
    bars = [g for g in tree.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "bar"]
    assert len(bars) == 2 and "<b>" not in svg
    widths = [float(g.find("{http://www.w3.org/2000/svg}rect").get("width")) for g in bars]
    assert widths[0] > 0 and widths[1] == 0
