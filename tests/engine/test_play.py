"""The engine plays scenarios by the spec's scoring and outcome rules."""

from __future__ import annotations

import pytest

from app.engine.play import Action, ActionRefused, Playthrough, play

LOOP = """
id: loop
title: Loop
variables:
  mood: {initial: 2, min: 0, max: 3, show: true}
  calls: {initial: 0}
pass_points: 10
nodes:
  hub:
    say: What now?
    choices:
      - id: listen
        text: Listen
        points: 5
        skills: {empathy: 1}
        change: {mood: 1, calls: 1}
        feedback: Good listening.
        goto: hub
      - id: reset
        text: Start over
        set: {mood: 9}
        change: {mood: -1}
        goto: hub
      - id: blame
        text: Blame the courier
        points: -20
        if: mood < 3
        goto: angry
      - id: close
        text: Close
        if: visited(hub) and mood >= 3
        goto: done
      - id: partial
        text: Half-way
        goto: half
  angry:
    ending: failure
    debrief: Blame never helps.
  half:
    ending: partial
  done:
    ending: success
"""


def test_choice_points_and_skills_count_once_even_through_a_loop(make_scenario):
    scenario = make_scenario(LOOP)
    result = play(scenario, ["listen", "listen", "listen"])
    assert [step.points for step in result.steps] == [5, 0, 0]
    assert [step.skills for step in result.steps] == [{"empathy": 1}, {}, {}]
    assert result.points == 5
    assert result.skills == {"empathy": 1}
    assert all(step.feedback == ("Good listening.",) for step in result.steps)


def test_variable_changes_apply_every_time_and_are_clamped(make_scenario):
    scenario = make_scenario(LOOP)
    result = play(scenario, ["listen", "listen", "listen"])
    assert result.variables == {"mood": 3, "calls": 3}


def test_set_applies_before_change_and_both_clamp(make_scenario):
    scenario = make_scenario(LOOP)
    result = play(scenario, ["reset"])
    # set mood 9 -> clamped to 3, then change -1 -> 2
    assert result.variables["mood"] == 2


def test_conditions_decide_what_is_offered(make_scenario):
    scenario = make_scenario(LOOP)
    start = Playthrough(scenario)
    assert [choice.id for choice in start.offered()] == ["listen", "reset", "blame", "partial"]
    after = play(scenario, ["listen"])
    assert [choice.id for choice in after.offered()] == ["listen", "reset", "close", "partial"]


def test_a_choice_not_offered_is_refused_and_changes_nothing(make_scenario):
    scenario = make_scenario(LOOP)
    playthrough = play(scenario, ["listen"])
    before = (playthrough.points, dict(playthrough.variables), len(playthrough.steps))
    with pytest.raises(ActionRefused) as refused:
        playthrough.apply(Action.parse("blame"))
    assert "'blame' is not offered" in str(refused.value)
    assert "hub" in str(refused.value) and "listen" in str(refused.value)
    assert refused.value.offered == ["listen", "reset", "close", "partial"]
    assert (playthrough.points, playthrough.variables, len(playthrough.steps)) == before


def test_outcomes(make_scenario):
    scenario = make_scenario(LOOP)
    assert Playthrough(scenario).outcome == "unfinished"
    assert play(scenario, ["listen", "close"]).outcome == "completed"  # success below pass_points (5 < 10)
    assert play(scenario, ["partial"]).outcome == "completed"
    failed = play(scenario, ["blame"])
    assert failed.outcome == "failed" and failed.ending == "failure"


def test_total_is_floored_at_zero_but_steps_keep_their_sign(make_scenario):
    failed = play(make_scenario(LOOP), ["listen", "reset", "reset", "blame"])
    assert [step.points for step in failed.steps] == [5, 0, 0, -20]
    assert failed.raw_points == -15
    assert failed.points == 0


def test_no_action_after_the_finish(make_scenario):
    finished = play(make_scenario(LOOP), ["partial"])
    with pytest.raises(ActionRefused, match="finished"):
        finished.apply(Action.parse("listen"))


PASSING = """
id: passing
title: Passing
pass_points: 5
nodes:
  a:
    choices:
      - {id: good, text: Good, points: 5, goto: win}
      - {id: weak, text: Weak, points: 1, goto: win}
  win:
    ending: success
"""


def test_passed_needs_success_and_pass_points(make_scenario):
    scenario = make_scenario(PASSING)
    assert play(scenario, ["good"]).outcome == "passed"
    assert play(scenario, ["weak"]).outcome == "completed"


def test_a_step_with_no_choice_offered_ends_as_completed(make_scenario):
    scenario = make_scenario("""
        id: stuck
        title: Stuck
        variables: {x: {initial: 0}}
        nodes:
          a:
            choices:
              - {text: Go, set: {x: 1}, goto: b}
          b:
            choices:
              - {text: Only when zero, if: x == 0, goto: end}
          end:
            ending: success
        """)
    result = play(scenario, ["c1"])
    assert result.finished and result.stuck
    assert result.outcome == "completed"
    assert result.ending is None


REPLY = """
id: reply
title: Reply
language: tr
nodes:
  ask:
    choices:
      - {id: again, text: Again, goto: write}
  write:
    reply:
      prompt: Ne söylersiniz?
      min_words: 3
      max_chars: 60
      points: 2
      look_for:
        - {phrases: ["iade*", "yapabilirim"], points: 5, skills: {positive-language: 1}, feedback: İyi.}
        - {phrases: ["hemen"], points: 1}
      avoid:
        - {phrases: ["yapamam"], points: -4, feedback: Ne yapabileceğinizi söyleyin.}
      goto: decide
  decide:
    choices:
      - {id: loop, text: Once more, goto: write}
      - {id: finish, text: Finish, goto: end}
  end:
    ending: success
"""


def test_reply_earns_base_plus_each_matching_group_once(make_scenario):
    scenario = make_scenario(REPLY)
    result = play(scenario, ["again", "reply:İADENİZİ HEMEN yapabilirim, iade ederim"])
    step = result.steps[1]
    assert step.points == 2 + 5 + 1
    assert step.skills == {"positive-language": 1}
    assert step.feedback == ("İyi.",)
    assert step.matched == ("iade*", "hemen")


def test_reply_avoid_group_subtracts(make_scenario):
    result = play(make_scenario(REPLY), ["again", "reply:bunu maalesef yapamam efendim"])
    assert result.steps[1].points == 2 - 4
    assert result.steps[1].feedback == ("Ne yapabileceğinizi söyleyin.",)
    assert result.steps[1].avoided == ("yapamam",)


def test_a_reply_node_scores_once_per_attempt(make_scenario):
    result = play(make_scenario(REPLY), ["again", "reply:iade ederim hemen", "loop", "reply:iade ederim hemen"])
    assert [step.points for step in result.steps] == [0, 8, 0, 0]
    assert result.steps[3].feedback == ("İyi.",)  # feedback is still shown


@pytest.mark.parametrize("text, reason", [
    ("iki kelime", "write at least 3"),
    ("uzun " * 20, "longer than 60 characters"),
])
def test_reply_outside_its_limits_is_refused_and_changes_nothing(make_scenario, text, reason):
    playthrough = play(make_scenario(REPLY), ["again"])
    with pytest.raises(ActionRefused, match=reason):
        playthrough.apply(Action("reply", text))
    assert len(playthrough.steps) == 1 and playthrough.position == "write"


def test_a_choice_is_refused_where_a_reply_is_expected(make_scenario):
    playthrough = play(make_scenario(REPLY), ["again"])
    with pytest.raises(ActionRefused, match="reply"):
        playthrough.apply(Action.parse("loop"))


CASE = """
id: case
title: Case
kind: case_study
case: A coffee chain's loyalty card.
questions:
  - id: q1
    ask: Which metric?
    points: 5
    options:
      - {text: Retention rate, correct: true, feedback: Yes.}
      - {text: Calls answered, feedback: That measures staff.}
  - id: q2
    ask: Propose a change.
    reply: {min_words: 3, points: 4, look_for: [{phrases: [measure], points: 2}]}
"""


def test_case_study_questions_are_answered_in_order(make_scenario):
    scenario = make_scenario(CASE)
    result = play(scenario, ["1", "reply:I would measure repeat visits"])
    assert [step.node for step in result.steps] == ["q1", "q2"]
    assert [step.points for step in result.steps] == [5, 6]
    assert result.steps[0].feedback == ("Yes.",)
    assert result.finished and result.outcome == "passed"  # no pass_points: every option question correct


def test_case_study_wrong_option_completes_without_passing(make_scenario):
    result = play(make_scenario(CASE), ["2", "reply:one two three"])
    assert result.steps[0].points == 0 and result.steps[0].correct is False
    assert result.outcome == "completed"


def test_case_study_with_pass_points_uses_the_total(make_scenario):
    scenario = make_scenario(CASE.replace("case: A", "pass_points: 6\ncase: A"))
    assert play(scenario, ["2", "reply:we measure it weekly"]).outcome == "passed"  # 0 + 6
    assert play(scenario, ["1", "reply:one two three"]).outcome == "passed"  # 5 + 4 >= 6


def test_case_study_refuses_out_of_range_option(make_scenario):
    playthrough = Playthrough(make_scenario(CASE))
    with pytest.raises(ActionRefused, match="from 1 to 2"):
        playthrough.apply(Action.parse("3"))
    with pytest.raises(ActionRefused):
        playthrough.apply(Action.parse("reply:some words here"))


def test_action_parse_round_trips():
    assert Action.parse("reply:Hello: world") == Action("reply", "Hello: world")
    assert Action.parse("2") == Action("answer", "2")
    assert Action.parse("c1") == Action("choose", "c1")
    assert str(Action.parse("reply:x")) == "reply:x"
