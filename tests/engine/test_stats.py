"""Exact point ranges and graph warnings from the state search."""

from __future__ import annotations

from app.engine.stats import scenario_stats


def test_loop_cannot_collect_the_same_choice_twice(make_scenario):
    scenario = make_scenario("""
        id: s
        title: S
        nodes:
          hub:
            choices:
              - {id: farm, text: Farm, points: 10, goto: hub}
              - {id: other, text: Other, points: 3, goto: hub}
              - {id: out, text: Out, points: -1, goto: end}
          end:
            ending: success
        """)
    stats = scenario_stats(scenario)
    assert (stats.max_points, stats.min_points) == (12, 0)  # 10 + 3 - 1; min -1 floored at 0
    assert (stats.nodes, stats.endings) == (2, 1)


def test_conditions_and_variables_limit_what_is_reachable(make_scenario):
    scenario = make_scenario("""
        id: s
        title: S
        variables:
          trust: {initial: 0, min: 0, max: 2}
        nodes:
          a:
            choices:
              - {id: warm, text: Warm, points: 4, change: {trust: 1}, goto: b}
              - {id: cold, text: Cold, points: 1, goto: b}
          b:
            choices:
              - {id: bonus, text: Bonus, points: 50, if: trust >= 2, goto: end}
              - {id: plain, text: Plain, points: 6, goto: end}
          end:
            ending: success
        """)
    stats = scenario_stats(scenario)
    assert stats.max_points == 10  # trust never reaches 2, so the 50 is out of reach
    assert stats.min_points == 7
    assert stats.stuck == {}


def test_reply_range_counts_once_even_in_a_loop(make_scenario):
    scenario = make_scenario("""
        id: s
        title: S
        nodes:
          w:
            reply:
              points: 2
              look_for: [{phrases: [sure], points: 3}]
              avoid: [{phrases: [never], points: -9}]
              goto: d
          d:
            choices:
              - {text: Again, goto: w}
              - {text: Stop, goto: end}
          end:
            ending: partial
        """)
    stats = scenario_stats(scenario)
    assert (stats.max_points, stats.min_points) == (5, 0)


def test_graph_warnings(make_scenario):
    scenario = make_scenario("""
        id: s
        title: S
        nodes:
          a:
            choices:
              - {text: Go, goto: end}
              - {text: Trap, goto: pit}
          pit:
            choices:
              - {text: Round, goto: pit}
          island:
            ending: success
          end:
            ending: success
        """)
    stats = scenario_stats(scenario)
    assert stats.unreachable == ["island"]
    assert stats.traps == ["pit"]
    assert stats.ending_reachable


def test_case_study_range(make_scenario):
    scenario = make_scenario("""
        id: c
        title: C
        kind: case_study
        case: Text.
        questions:
          - {ask: One?, points: 5, options: [{text: A, correct: true}, {text: B}]}
          - {ask: Two?, reply: {points: 1, look_for: [{phrases: [x], points: 4}]}}
        """)
    stats = scenario_stats(scenario)
    assert (stats.nodes, stats.endings, stats.max_points, stats.min_points) == (2, 0, 10, 1)


def test_too_branchy_gives_up_without_numbers(make_scenario, monkeypatch):
    import app.engine.stats as stats_module
    monkeypatch.setattr(stats_module, "STATE_LIMIT", 5)
    scenario = make_scenario("""
        id: s
        title: S
        variables: {n: {initial: 0, min: 0, max: 100}}
        nodes:
          a:
            choices:
              - {text: Up, change: {n: 1}, goto: a}
              - {text: Done, if: n > 50, goto: end}
          end:
            ending: success
        """)
    stats = stats_module.scenario_stats(scenario)
    assert stats.too_branchy
    assert stats.max_points is None and stats.min_points is None
