"""`flask scenarios play` follows the spec's Play command section."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from app import create_app

SCENARIO = """\
id: late
title: Late delivery
variables:
  mood: {initial: 2, min: 0, max: 5, show: true}
pass_points: 10
nodes:
  opening:
    say: My order is late again!
    choices:
      - id: sorry
        text: I'm sorry, let me check.
        points: 5
        skills: {empathy: 2}
        change: {mood: 1}
        feedback: Naming the feeling helps.
        goto: check
      - id: blame
        text: Not our fault.
        points: -5
        change: {mood: -2}
        goto: angry
  check:
    reply:
      min_words: 3
      points: 2
      look_for: [{phrases: ["I will"], points: 3, feedback: A concrete promise.}]
      goto: done
  angry:
    ending: failure
  done:
    ending: success
    debrief: Well done.
"""


# The play command needs no database; keep the app from migrating or syncing one.
NO_DATABASE = {"SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://", "AUTO_MIGRATE": False,
               "SYNC_ON_START": False}


@pytest.fixture
def play_cli(content_library: Path):
    (content_library / "scenarios" / "late.yaml").write_text(SCENARIO, encoding="utf-8")
    app = create_app({"TESTING": True, "CONTENT_ROOT": str(content_library), **NO_DATABASE})
    runner = app.test_cli_runner(mix_stderr=False) if _supports_mix_stderr() else app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["scenarios", "play", str(content_library / "scenarios" / "late.yaml"), *args])
    return invoke


def _supports_mix_stderr() -> bool:
    import inspect

    from click.testing import CliRunner
    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def test_json_transcript_of_a_passing_path(play_cli):
    result = play_cli("sorry", "reply:I will send it today", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "id": "late",
        "outcome": "passed",
        "ending": "success",
        "points": 10,
        "skills": {"empathy": 2},
        "variables": {"mood": 3},
        "steps": [
            {"node": "opening", "action": "sorry", "points": 5, "skills": {"empathy": 2},
             "feedback": ["Naming the feeling helps."]},
            {"node": "check", "action": "reply:I will send it today", "points": 5, "skills": {},
             "feedback": ["A concrete promise."]},
        ],
    }


def test_failure_and_floor(play_cli):
    result = play_cli("blame", "--json")
    data = json.loads(result.stdout)
    assert (data["outcome"], data["ending"], data["points"]) == ("failed", "failure", 0)
    assert data["steps"][0]["points"] == -5


def test_unfinished_when_actions_run_out(play_cli):
    data = json.loads(play_cli("sorry", "--json").stdout)
    assert (data["outcome"], data["ending"]) == ("unfinished", None)


def test_text_transcript_for_people(play_cli):
    result = play_cli("sorry", "reply:I will send it today")
    assert result.exit_code == 0
    assert "My order is late again!" in result.stdout
    assert "feedback: Naming the feeling helps." in result.stdout
    assert "outcome: passed, points: 10" in result.stdout
    assert "Well done." in result.stdout


@pytest.mark.parametrize("actions, fragment", [
    (("nope",), "'nope' is not offered; offered: sorry, blame"),
    (("sorry", "reply:too short"), "write at least 3"),
    (("blame", "sorry"), "finished"),
    (("sorry", "sorry"), "reply:TEXT"),
])
def test_refused_action_exits_1_with_nothing_on_stdout(play_cli, actions, fragment):
    for extra in ((), ("--json",)):
        result = play_cli(*actions, *extra)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert fragment in result.stderr


def test_file_with_errors_is_not_played(play_cli, content_library):
    (content_library / "scenarios" / "late.yaml").write_text(SCENARIO.replace("goto: done", "goto: nowhere"))
    result = play_cli("sorry", "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "'goto' names node 'nowhere'" in result.stderr


def test_case_study_answers_by_option_number(content_library):
    path = content_library / "scenarios" / "case.yaml"
    path.write_text(textwrap.dedent("""\
        id: case
        title: Case
        kind: case_study
        case: Numbers.
        questions:
          - {id: q1, ask: Which?, points: 4, options: [{text: A}, {text: B, correct: true, feedback: Right.}]}
        """), encoding="utf-8")
    app = create_app({"TESTING": True, "CONTENT_ROOT": str(content_library), **NO_DATABASE})
    result = app.test_cli_runner().invoke(args=["scenarios", "play", str(path), "2", "--json"])
    data = json.loads(result.output)
    assert (data["outcome"], data["points"], data["ending"]) == ("passed", 4, None)
    assert data["steps"] == [{"node": "q1", "action": "2", "points": 4, "skills": {}, "feedback": ["Right."]}]
