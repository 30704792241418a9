"""`flask scenarios validate` follows the spec's "Validation command" section.

Runs against the fixture library in tests/engine/fixtures/library (configured as CONTENT_ROOT), with the
working directory set to it so relative paths are printed exactly as given.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app import create_app

FIXTURES = Path(__file__).resolve().parent.parent / "engine" / "fixtures"
LIBRARY = FIXTURES / "library"
LOOSE = FIXTURES / "loose"
SUMMARY = re.compile(r"^(\d+) errors, (\d+) warnings in (\d+) files$")


@pytest.fixture
def validate_cli(monkeypatch):
    monkeypatch.chdir(LIBRARY)
    app = create_app({
        "CONTENT_ROOT": str(LIBRARY),
        "TESTING": True,
        # Nothing here needs the database or a synced library.
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "SYNC_ON_START": False,
        "AUTO_MIGRATE": False,
        "SECRET_KEY": "test",
    })
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["scenarios", "validate", *args])
    return invoke


def stdout_lines(result) -> list[str]:
    return result.stdout.splitlines()


# -- text output ------------------------------------------------------------------------------------

def test_each_problem_is_one_line_then_the_summary(validate_cli):
    result = validate_cli("scenarios/errors/three-errors.yaml")
    path = "scenarios/errors/three-errors.yaml"
    assert stdout_lines(result) == [
        f"{path}:4:10: error: 'minutes' must be a whole number, but YAML read text; write a whole number like 5",
        f"{path}:10:9: error: unknown key 'colour' in a choice (expected one of: change, feedback, goto, id, "
        "if, points, set, skills, text)",
        f"{path}:11:18: error: undeclared variable 'patience'; declare it under 'variables'",
        "3 errors, 0 warnings in 1 files",
    ]
    assert result.exit_code == 1


def test_an_absolute_path_is_printed_as_given(validate_cli):
    given = str(LIBRARY / "scenarios" / "warnings" / "trap.yaml")
    result = validate_cli(given)
    assert stdout_lines(result) == [
        f"{given}:9:3: warning: node 'circle' is a trap: no ending can be reached from it",
        "0 errors, 1 warnings in 1 files",
    ]
    assert result.exit_code == 0


def test_a_relative_path_outside_the_working_folder_is_printed_as_given(validate_cli):
    given = "../loose/clash.yaml"
    result = validate_cli(given)
    assert stdout_lines(result) == [
        f"{given}:2:5: warning: id 'valid-roleplay' is also used by scenarios/valid/valid-roleplay.yaml "
        "in the library",
        "0 errors, 1 warnings in 1 files",
    ]
    assert result.exit_code == 0  # an id clash outside the library is only a warning


def test_files_of_a_folder_are_printed_as_found_under_it_in_path_order(validate_cli):
    result = validate_cli("scenarios/warnings")
    assert stdout_lines(result) == [
        "scenarios/warnings/empty-avoid-phrase.yaml:8:40: warning: this phrase is empty (it has no words), "
        "so it never matches",
        "scenarios/warnings/empty-phrase.yaml:8:31: warning: this phrase is empty (it has no words), "
        "so it never matches",
        "scenarios/warnings/never-reached.yaml:11:3: warning: node 'hidden' is never reached: the conditions "
        "on every way to it are false",
        "scenarios/warnings/pass-points.yaml:4:14: warning: 'pass_points' (50) is above the most points this "
        "scenario can give (10), so nobody can pass",
        "scenarios/warnings/stuck.yaml:11:3: warning: at node 'wait' no choice may be offered (for example when "
        "mood=0); the attempt would end there as completed",
        "scenarios/warnings/trap.yaml:9:3: warning: node 'circle' is a trap: no ending can be reached from it",
        "scenarios/warnings/unreachable.yaml:9:3: warning: node 'orphan' cannot be reached from the start",
        "0 errors, 7 warnings in 7 files",
    ]
    assert result.exit_code == 0  # warnings only


def test_a_folder_given_by_absolute_path_prints_absolute_paths(validate_cli):
    folder = LIBRARY / "scenarios" / "dup"
    result = validate_cli(str(folder))
    lines = stdout_lines(result)
    assert [line.split(":", 1)[0] for line in lines[:-1]] == [
        f"{folder}/b-second.yaml", f"{folder}/c-third.yaml", f"{folder}/shared-namespace.yaml"]
    assert lines[-1] == "3 errors, 0 warnings in 4 files"


def test_several_paths_are_reported_in_path_order_not_argument_order(validate_cli):
    result = validate_cli("scenarios/warnings/unreachable.yaml", "scenarios/warnings/trap.yaml",
                          "courses/missing-lesson.yaml")
    assert [line.split(":", 1)[0] for line in stdout_lines(result)[:-1]] == [
        "courses/missing-lesson.yaml", "scenarios/warnings/trap.yaml", "scenarios/warnings/unreachable.yaml"]
    assert stdout_lines(result)[-1] == "1 errors, 2 warnings in 3 files"
    assert result.exit_code == 1


def test_problems_in_a_file_are_in_line_order_errors_and_warnings_mixed(validate_cli):
    result = validate_cli("scenarios/order/mixed.yaml")
    assert stdout_lines(result) == [
        "scenarios/order/mixed.yaml:7:3: warning: node 'orphan' cannot be reached from the start",
        "scenarios/order/mixed.yaml:13:9: error: unknown key 'colour' in a choice (expected one of: change, "
        "feedback, goto, id, if, points, set, skills, text)",
        "1 errors, 1 warnings in 1 files",
    ]


def test_clean_files_exit_0_with_only_the_summary(validate_cli):
    result = validate_cli("scenarios/valid", "courses/valid-course.yaml", "courses/badges.yaml",
                          "courses/skills.yaml", "../loose/loose-course.yaml")
    assert stdout_lines(result) == ["0 errors, 0 warnings in 6 files"]
    assert result.exit_code == 0


def test_a_path_that_does_not_exist_exits_2(validate_cli):
    result = validate_cli("scenarios/valid/valid-roleplay.yaml", "scenarios/no-such-file.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_without_paths_the_configured_scenarios_and_courses_folders_are_checked(validate_cli):
    result = validate_cli()
    lines = stdout_lines(result)
    summary = SUMMARY.match(lines[-1])
    assert summary, lines[-1]
    errors, warnings, files = map(int, summary.groups())
    yaml_files = [p for folder in ("scenarios", "courses") for p in (LIBRARY / folder).rglob("*.yaml")]
    assert files == len(yaml_files)
    problems = lines[:-1]
    assert errors == sum(": error: " in line for line in problems) > 0
    assert warnings == sum(": warning: " in line for line in problems) > 0
    paths = [line.split(":", 1)[0] for line in problems]
    assert all(path.startswith(("scenarios/", "courses/")) for path in paths)
    assert paths == sorted(paths)
    assert "courses/missing-lesson.yaml:5:13: error: lesson file 'lessons/no-such-lesson.md' does not exist " \
           "(looked for it next to this course file)" in problems
    assert result.exit_code == 1


# -- --json ---------------------------------------------------------------------------------------

def test_json_lists_every_file_with_its_problems_and_stats(validate_cli):
    result = validate_cli("--json", "scenarios/valid", "scenarios/stats", "scenarios/errors/goto-missing.yaml",
                          "courses/valid-course.yaml", "courses/badges.yaml", "courses/skills.yaml")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "files": [
            {"path": "courses/badges.yaml", "id": None, "errors": [], "warnings": [], "stats": None},
            {"path": "courses/skills.yaml", "id": None, "errors": [], "warnings": [], "stats": None},
            {"path": "courses/valid-course.yaml", "id": "valid-course", "errors": [], "warnings": [],
             "stats": None},
            {"path": "scenarios/errors/goto-missing.yaml", "id": "goto-missing",
             "errors": [{"line": 8, "col": 44, "message": "'goto' names node 'nowhere', which does not exist"}],
             "warnings": [],
             # the search is skipped in a file with a reference error
             "stats": {"nodes": 4, "endings": 2, "max_points": None, "min_points": None}},
            # loop-gate: `ask` (4) loops back and counts once, and asking closes the gated `bonus` (10):
            # best calm 2 + bonus 10 = 12; worst rude -7 + quit -3 = -10, floored at 0.
            {"path": "scenarios/stats/loop-gate.yaml", "id": "loop-gate", "errors": [], "warnings": [],
             "stats": {"nodes": 4, "endings": 2, "max_points": 12, "min_points": 0}},
            # positive: hello 3 + reply 2 (an avoid group may take 1) + done 1; the reply counts once.
            {"path": "scenarios/stats/positive.yaml", "id": "positive", "errors": [], "warnings": [],
             "stats": {"nodes": 4, "endings": 1, "max_points": 6, "min_points": 5}},
            # case study: nodes = questions, endings 0; q1 0..5 (option), q2 5 (any accepted reply).
            {"path": "scenarios/valid/valid-case-study.yaml", "id": "valid-case-study", "errors": [],
             "warnings": [], "stats": {"nodes": 2, "endings": 0, "max_points": 10, "min_points": 5}},
            # role-play: acknowledge 10 + reply 5 + look_for 5 = 20; the courier answer -5 floors at 0.
            {"path": "scenarios/valid/valid-roleplay.yaml", "id": "valid-roleplay", "errors": [], "warnings": [],
             "stats": {"nodes": 4, "endings": 2, "max_points": 20, "min_points": 0}},
        ],
        "errors": 1,
        "warnings": 0,
    }


def test_json_warnings_and_exit_0(validate_cli):
    result = validate_cli("scenarios/warnings/pass-points.yaml", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "files": [{
            "path": "scenarios/warnings/pass-points.yaml",
            "id": "pass-points",
            "errors": [],
            "warnings": [{"line": 4, "col": 14, "message": "'pass_points' (50) is above the most points this "
                          "scenario can give (10), so nobody can pass"}],
            "stats": {"nodes": 2, "endings": 1, "max_points": 10, "min_points": 10},
        }],
        "errors": 0,
        "warnings": 1,
    }


def test_json_problems_are_split_by_severity_each_in_line_order(validate_cli):
    result = validate_cli("--json", "scenarios/order/mixed.yaml", "scenarios/errors/three-errors.yaml")
    data = json.loads(result.stdout)
    assert [f["path"] for f in data["files"]] == ["scenarios/errors/three-errors.yaml", "scenarios/order/mixed.yaml"]
    three, mixed = data["files"]
    assert [(e["line"], e["col"]) for e in three["errors"]] == [(4, 10), (10, 9), (11, 18)]
    assert [(e["line"], e["col"]) for e in mixed["errors"]] == [(13, 9)]
    assert [(w["line"], w["col"]) for w in mixed["warnings"]] == [(7, 3)]
    assert (data["errors"], data["warnings"]) == (4, 1)
    assert result.exit_code == 1


def test_json_keys_are_exactly_the_documented_ones(validate_cli):
    result = validate_cli("--json", "scenarios/errors/three-errors.yaml", "scenarios/warnings/trap.yaml",
                          "courses/valid-course.yaml")
    data = json.loads(result.stdout)
    assert set(data) == {"files", "errors", "warnings"}
    for entry in data["files"]:
        assert set(entry) == {"path", "id", "errors", "warnings", "stats"}
        for problem in entry["errors"] + entry["warnings"]:
            assert set(problem) == {"line", "col", "message"}
        if entry["stats"] is not None:
            assert set(entry["stats"]) == {"nodes", "endings", "max_points", "min_points"}


def test_json_loose_badge_file_is_a_catalogue_with_null_stats(validate_cli):
    result = validate_cli("--json", "../loose/badge-unknown-icon.yaml")
    [entry] = json.loads(result.stdout)["files"]
    assert entry["path"] == "../loose/badge-unknown-icon.yaml"
    assert entry["id"] is None and entry["stats"] is None
    assert [(e["line"], e["col"]) for e in entry["errors"]] == [(5, 11)]
    assert result.exit_code == 1


# -- point ranges, hand-computed ------------------------------------------------------------------

def _stats_of(validate_cli, tmp_path: Path, text: str) -> dict:
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    (tmp_path / "courses").mkdir(exist_ok=True)
    path = tmp_path / "scenarios" / "s.yaml"
    path.write_text(text, encoding="utf-8")
    result = validate_cli("--json", str(path))
    [entry] = json.loads(result.stdout)["files"]
    assert entry["errors"] == [], entry
    return entry["stats"]


def test_points_of_a_looped_scoring_choice_count_once_and_a_gate_holds(validate_cli, tmp_path):
    # `farm` (5) loops back to `hub` and counts once however often it is taken; taking it twice raises
    # trust to 2 and opens `vip` (20): best 5 + 20 = 25 (counted per visit there would be no maximum).
    # Worst: `rush` (-8) straight away, floored at 0.
    stats = _stats_of(validate_cli, tmp_path, """\
id: s
title: S
variables:
  trust: {initial: 0, min: 0, max: 2}
nodes:
  hub:
    choices:
      - {id: farm, text: Farm, points: 5, change: {trust: 1}, goto: hub}
      - {id: vip, text: VIP exit, points: 20, if: trust >= 2, goto: good}
      - {id: rush, text: Rush out, points: -8, goto: bad}
  good: {ending: success}
  bad: {ending: failure}
""")
    assert stats == {"nodes": 3, "endings": 2, "max_points": 25, "min_points": 0}


def test_a_gate_that_can_never_open_lowers_max_points(validate_cli, tmp_path):
    # `jackpot` needs mood >= 3 but mood starts at 0 and the only change is clamped at max 2.
    stats = _stats_of(validate_cli, tmp_path, """\
id: s
title: S
variables:
  mood: {initial: 0, min: 0, max: 2}
nodes:
  a:
    choices:
      - {id: warm, text: Warm, points: 2, change: {mood: 5}, goto: b}
  b:
    choices:
      - {id: jackpot, text: Jackpot, points: 100, if: mood >= 3, goto: end}
      - {id: plain, text: Plain, points: 3, goto: end}
  end: {ending: success}
""")
    assert stats == {"nodes": 3, "endings": 1, "max_points": 5, "min_points": 5}


def test_min_points_is_floored_at_0_and_a_stuck_step_counts_as_a_finish(validate_cli, tmp_path):
    # Worst: insult (-6) and then `wait` offers nothing (mood 0 < 1), the attempt finishes there: -6 -> 0.
    # Best: kind (4) -> wait (mood 1) -> thank (3) -> end = 7.
    stats = _stats_of(validate_cli, tmp_path, """\
id: s
title: S
variables:
  mood: {initial: 0, min: 0, max: 3}
nodes:
  start:
    choices:
      - {id: kind, text: Kind, points: 4, change: {mood: 1}, goto: wait}
      - {id: insult, text: Insult, points: -6, goto: wait}
  wait:
    choices:
      - {id: thank, text: Thank, points: 3, if: mood >= 1, goto: end}
  end: {ending: success}
""")
    assert stats == {"nodes": 3, "endings": 1, "max_points": 7, "min_points": 0}
