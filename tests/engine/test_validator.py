"""The validator against the spec's "Validation command" section, one fixture file per problem kind.

Every fixture lives in tests/engine/fixtures/: `library/` is a self-contained library (scenarios/ and
courses/ with skills.yaml, badges.yaml, courses and lessons); `loose/` holds files outside any library,
checked against `library/` as the default (configured) library.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app.engine import stats as stats_module
from app.engine.library import FileReport
from app.engine.model import Course, Scenario
from app.engine.validate import render_text, validate

FIXTURES = Path(__file__).parent / "fixtures"
LIBRARY = FIXTURES / "library"
LOOSE = FIXTURES / "loose"


def check(relative: str, default_root: Path = LIBRARY) -> FileReport:
    """Validate one fixture file (`loose/...` or a path inside the fixture library) on its own."""
    path = FIXTURES / relative if relative.startswith("loose/") else LIBRARY / relative
    reports = validate([str(path)], default_root=default_root)
    assert len(reports) == 1
    return reports[0]


def _library(root: Path, files: dict[str, str]) -> Path:
    """A throwaway library under `root` with the fixture skills catalogue and the given files."""
    for folder in ("scenarios", "courses"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "courses" / "skills.yaml").write_text((LIBRARY / "courses/skills.yaml").read_text(), encoding="utf-8")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def positions(problems) -> list[tuple[int, int, str]]:
    return [(p.line, p.col, p.severity) for p in problems]


def describe(report: FileReport) -> str:
    return "\n".join(p.format(report.display) for p in sorted(report.problems)) or "(no problems)"


# -- one error per fixture -------------------------------------------------------------------------

ERRORS = [
    # (fixture file, line, col, message fragment)
    ("scenarios/errors/bad-yaml.yaml", 4, 6, "bad YAML"),
    ("scenarios/errors/unknown-key.yaml", 4, 1, "unknown key 'titel' in a role-play"),
    ("scenarios/errors/unknown-key-nested.yaml", 9, 9, "unknown key 'pionts' in a choice"),
    ("scenarios/errors/missing-key-top.yaml", 1, 1, "missing required key 'title'"),
    ("scenarios/errors/missing-key-nested.yaml", 5, 3, "missing required key 'initial'"),
    ("scenarios/errors/wrong-type-boolean.yaml", 9, 15,
     "'text' must be text, but YAML reads no as a true/false value; put it in quotes: \"no\""),
    ("scenarios/errors/wrong-type-yes.yaml", 3, 8,
     "'title' must be text, but YAML reads yes as a true/false value; put it in quotes: \"yes\""),
    ("scenarios/errors/wrong-type-date.yaml", 4, 10,
     "'summary' must be text, but YAML reads 2024-01-05 as a date; put it in quotes: \"2024-01-05\""),
    ("scenarios/errors/wrong-type-decimal.yaml", 9, 17,
     "'points' must be a whole number, but YAML reads 2.5 as a decimal number"),
    ("scenarios/errors/wrong-type-bool-number.yaml", 4, 13,
     "'difficulty' must be a whole number, but YAML reads yes as a true/false value"),
    ("scenarios/errors/duplicate-key.yaml", 5, 1, "duplicate key 'title' (first used on line 3)"),
    ("scenarios/dup/b-second.yaml", 2, 5, "id 'dup-one' is already used by scenarios/dup/a-first.yaml"),
    ("scenarios/dup/c-third.yaml", 3, 7, "id 'dup-one' is already used by scenarios/dup/a-first.yaml"),
    ("scenarios/dup/shared-namespace.yaml", 2, 5,
     "id 'shared-namespace' is already used by courses/shared-namespace.yaml"),
    ("scenarios/errors/goto-missing.yaml", 8, 44, "'goto' names node 'nowhere', which does not exist"),
    ("scenarios/errors/start-missing.yaml", 4, 8, "'start' names node 'beginning', which does not exist"),
    ("scenarios/errors/node-none.yaml", 8, 3,
     "node 'empty' needs exactly one of choices, reply or ending (found none)"),
    ("scenarios/errors/node-several.yaml", 5, 3,
     "node 'opening' needs exactly one of choices, reply or ending (found choices and ending)"),
    ("scenarios/errors/undeclared-set.yaml", 11, 15, "undeclared variable 'moood'"),
    ("scenarios/errors/undeclared-change.yaml", 10, 11, "undeclared variable 'patience'"),
    ("scenarios/errors/undeclared-condition.yaml", 9, 35, "the condition uses undeclared variable 'trust'"),
    ("scenarios/errors/visited-missing.yaml", 9, 13, "visited(lobby), but there is no node 'lobby'"),
    ("scenarios/errors/unknown-skill-list.yaml", 4, 19, "unknown skill 'juggling'"),
    ("scenarios/errors/unknown-skill-choice.yaml", 9, 30, "unknown skill 'juggling'"),
    ("scenarios/errors/unknown-skill-reply.yaml", 11, 13, "unknown skill 'juggling'"),
    ("scenarios/errors/condition-parse.yaml", 9, 35, "the condition '1 < mood < 4' does not parse"),
    ("scenarios/errors/no-ending.yaml", 4, 1, "no ending can be reached from the start"),
    ("scenarios/errors/invalid-id.yaml", 2, 5, "'id' 'Late Delivery' is not a valid id"),
    ("scenarios/errors/too-many-choices.yaml", 6, 5, "too many choices (51); the limit is 50"),
    ("scenarios/errors/case-two-correct.yaml", 10, 5, "exactly one correct option (found 2)"),
    ("scenarios/errors/variable-initial.yaml", 6, 14, "'initial' (7) must lie within min and max"),
    ("scenarios/errors/bad-language.yaml", 4, 11, "'language' 'English' is not a language tag"),
    ("scenarios/errors/difficulty-range.yaml", 4, 13, "'difficulty' must be from 1 to 5, not 6"),
    ("courses/missing-scenario.yaml", 6, 15, "no scenario with id 'no-such-scenario' in the library"),
    ("courses/missing-lesson.yaml", 5, 13, "lesson file 'lessons/no-such-lesson.md' does not exist"),
    ("courses/lesson-dotdot.yaml", 6, 13, "lesson path '../../outside.md' must be relative and stay inside"),
    ("courses/lesson-absolute.yaml", 5, 13, "lesson path '/etc/passwd' must be relative and stay inside"),
    ("courses/case-as-scenario.yaml", 5, 15,
     "'valid-case-study' is a case study; list it as 'case_study: valid-case-study'"),
    ("courses/unknown-badge.yaml", 6, 8, "unknown badge 'no-such-badge'"),
    ("loose/badge-unknown-criterion.yaml", 7, 7, "unknown badge criterion 'completd'"),
    ("loose/badge-missing-course.yaml", 5, 24, "no course with id 'no-such-course' in the library"),
    ("loose/badge-missing-skill.yaml", 6, 16, "unknown skill 'juggling'"),
    ("loose/badge-missing-skill-tag.yaml", 5, 38, "unknown skill 'juggling'"),
    ("loose/badge-unknown-icon.yaml", 5, 11, "unknown icon 'unicorn'"),
]


@pytest.mark.parametrize(("fixture", "line", "col", "fragment"), ERRORS, ids=[row[0] for row in ERRORS])
def test_each_error_fixture_reports_its_one_error_at_the_right_place(fixture, line, col, fragment):
    report = check(fixture)
    assert len(report.errors) == 1, describe(report)
    [error] = report.errors
    assert (error.line, error.col, error.severity) == (line, col, "error"), describe(report)
    assert fragment in error.message
    assert not report.ok


# -- one warning per fixture -----------------------------------------------------------------------

WARNINGS = [
    ("scenarios/warnings/unreachable.yaml", 9, 3, "node 'orphan' cannot be reached from the start"),
    ("scenarios/warnings/trap.yaml", 9, 3, "node 'circle' is a trap: no ending can be reached from it"),
    ("scenarios/warnings/pass-points.yaml", 4, 14,
     "'pass_points' (50) is above the most points this scenario can give (10)"),
    ("scenarios/warnings/empty-phrase.yaml", 8, 31, "this phrase is empty"),
    ("scenarios/warnings/empty-avoid-phrase.yaml", 8, 40, "this phrase is empty"),
    ("scenarios/warnings/stuck.yaml", 11, 3, "at node 'wait' no choice may be offered (for example when mood=0)"),
    ("scenarios/warnings/never-reached.yaml", 11, 3, "node 'hidden' is never reached"),
    ("loose/clash.yaml", 2, 5, "id 'valid-roleplay' is also used by scenarios/valid/valid-roleplay.yaml"),
]


@pytest.mark.parametrize(("fixture", "line", "col", "fragment"), WARNINGS, ids=[row[0] for row in WARNINGS])
def test_each_warning_fixture_reports_its_one_warning_and_no_error(fixture, line, col, fragment):
    report = check(fixture)
    assert report.errors == [], describe(report)
    assert len(report.warnings) == 1, describe(report)
    [warning] = report.warnings
    assert (warning.line, warning.col, warning.severity) == (line, col, "warning")
    assert fragment in warning.message
    assert report.ok


# -- files without problems ------------------------------------------------------------------------

CLEAN = [
    "scenarios/valid/valid-roleplay.yaml",
    "scenarios/valid/valid-case-study.yaml",
    "scenarios/stats/loop-gate.yaml",
    "scenarios/stats/positive.yaml",
    "scenarios/dup/a-first.yaml",  # the first file with a shared id is not blamed
    "courses/valid-course.yaml",
    "courses/shared-namespace.yaml",  # first in path order: the scenario with the same id is blamed
    "courses/skills.yaml",
    "courses/badges.yaml",
    "loose/loose-course.yaml",
    "loose/loose-skills.yaml",
    "loose/loose-badges.yaml",
]


@pytest.mark.parametrize("fixture", CLEAN)
def test_valid_files_have_no_problems(fixture):
    report = check(fixture)
    assert report.problems == [], describe(report)


def test_valid_roleplay_and_case_study_are_built_in_full():
    roleplay = check("scenarios/valid/valid-roleplay.yaml").content
    case = check("scenarios/valid/valid-case-study.yaml").content
    assert isinstance(roleplay, Scenario) and isinstance(case, Scenario)
    assert roleplay.kind == "roleplay" and set(roleplay.nodes) == {"opening", "check", "escalation", "resolved"}
    assert [choice.id for choice in roleplay.nodes["opening"].choices] == ["acknowledge", "c2"]
    assert case.kind == "case_study" and [q.id for q in case.questions] == ["q1", "q2"]
    course = check("courses/valid-course.yaml").content
    assert isinstance(course, Course)
    assert [(m.kind, m.ref) for m in course.modules] == [
        ("lesson", "lessons/intro.md"), ("scenario", "valid-roleplay"), ("case_study", "valid-case-study")]


def test_whole_fixture_library_only_reports_what_the_fixtures_plant():
    """Every clean fixture stays clean when the whole library is validated together."""
    reports = {report.display: report for report in validate([], default_root=LIBRARY)}
    for fixture in CLEAN:
        if not fixture.startswith("loose/"):
            assert reports[fixture].problems == [], describe(reports[fixture])
    expected = {path for path, *_ in ERRORS + WARNINGS if not path.startswith("loose/")}
    with_problems = {display for display, report in reports.items() if report.problems}
    extra = {"scenarios/errors/three-errors.yaml", "scenarios/order/mixed.yaml",
             "scenarios/kinds/course-shaped.yaml", "courses/scenario-shaped.yaml"}
    assert with_problems == expected | extra


# -- reference errors switch off the graph checks -------------------------------------------------

def test_goto_to_a_missing_node_is_the_only_problem_reported_in_its_file():
    """The spec skips reachability, trap and stats checks in a file with a reference error: `orphan`
    (unreachable) and `circle` (a trap) in this fixture must not be warned about."""
    report = check("scenarios/errors/goto-missing.yaml")
    assert positions(report.problems) == [(8, 44, "error")], describe(report)
    assert not any("trap" in p.message or "cannot be reached" in p.message for p in report.problems)
    assert report.stats is not None
    assert (report.stats.max_points, report.stats.min_points) == (None, None)


def test_start_to_a_missing_node_skips_the_graph_checks_too():
    report = check("scenarios/errors/start-missing.yaml")
    assert positions(report.problems) == [(4, 8, "error")], describe(report)


def test_same_shape_without_the_broken_goto_does_warn():
    """Control for the test above: the checks do run on a file without a reference error."""
    report = check("scenarios/warnings/unreachable.yaml")
    assert [p.message for p in report.warnings] == ["node 'orphan' cannot be reached from the start"]


# -- several problems, order ------------------------------------------------------------------------

def test_every_problem_in_a_file_is_reported_at_once():
    report = check("scenarios/errors/three-errors.yaml")
    assert positions(report.problems) == [(4, 10, "error"), (10, 9, "error"), (11, 18, "error")], describe(report)
    messages = [p.message for p in report.errors]
    assert "'minutes' must be a whole number" in messages[0]
    assert "unknown key 'colour' in a choice" in messages[1]
    assert "undeclared variable 'patience'" in messages[2]


def test_problems_are_listed_in_line_order_whatever_their_severity():
    report = check("scenarios/order/mixed.yaml")
    lines = render_text([report]).splitlines()
    assert [line.split(": ", 2)[1] for line in lines[:-1]] == ["warning", "error"]
    assert lines[0].startswith(f"{report.display}:7:3: warning: node 'orphan' cannot be reached")
    assert lines[1].startswith(f"{report.display}:13:9: error: unknown key 'colour'")
    assert lines[2] == "1 errors, 1 warnings in 1 files"


def test_reports_come_in_path_order():
    reports = validate([str(LIBRARY / "scenarios/warnings/unreachable.yaml"),
                        str(LIBRARY / "scenarios/warnings/trap.yaml"),
                        str(LIBRARY / "courses/valid-course.yaml")], default_root=LIBRARY)
    names = [Path(report.display).name for report in reports]
    assert names == ["valid-course.yaml", "trap.yaml", "unreachable.yaml"]


def test_duplicate_id_blames_every_later_file_but_not_the_first():
    reports = {Path(r.display).name: r for r in validate([str(LIBRARY / "scenarios/dup")], default_root=LIBRARY)}
    assert reports["a-first.yaml"].problems == []
    assert positions(reports["b-second.yaml"].problems) == [(2, 5, "error")]
    assert positions(reports["c-third.yaml"].problems) == [(3, 7, "error")]


# -- files outside a library ------------------------------------------------------------------------

def test_id_clash_with_the_default_library_is_a_warning_outside_and_an_error_inside(tmp_path):
    outside = check("loose/clash.yaml")
    assert positions(outside.problems) == [(2, 5, "warning")]
    assert outside.ok
    # The same text saved inside the library is an error at the same place.
    library = _library(tmp_path, {"scenarios/a.yaml": (LIBRARY / "scenarios/valid/valid-roleplay.yaml").read_text(),
                                  "scenarios/b.yaml": (LOOSE / "clash.yaml").read_text()})
    [inside] = validate([str(library / "scenarios/b.yaml")], default_root=tmp_path / "unused")
    assert positions(inside.problems) == [(2, 5, "error")]
    assert "id 'valid-roleplay' is already used by scenarios/a.yaml" in inside.problems[0].message


def test_a_file_outside_any_library_is_checked_against_the_default_library(tmp_path):
    assert check("loose/loose-course.yaml").problems == []
    empty = _library(tmp_path, {})
    report = check("loose/loose-course.yaml", default_root=empty)
    assert [p.message for p in report.errors] == [
        "no scenario with id 'valid-roleplay' in the library",
        "no case study with id 'valid-case-study' in the library",
    ]


def test_a_file_inside_a_library_is_checked_against_its_own_library_not_the_default(tmp_path):
    own = _library(tmp_path, {"courses/c.yaml": "id: c\ntitle: C\nmodules:\n  - scenario: valid-roleplay\n"})
    [report] = validate([str(own / "courses/c.yaml")], default_root=LIBRARY)
    assert [(p.line, p.col, p.message) for p in report.problems] == [
        (4, 15, "no scenario with id 'valid-roleplay' in the library")]


# -- which kind a file is --------------------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "kind"), [
    ("scenarios/valid/valid-roleplay.yaml", "scenario"),
    ("scenarios/valid/valid-case-study.yaml", "scenario"),
    ("courses/valid-course.yaml", "course"),
    ("courses/badges.yaml", "badges"),
    ("courses/skills.yaml", "skills"),
    ("scenarios/kinds/course-shaped.yaml", "scenario"),  # place decides inside a library
    ("courses/scenario-shaped.yaml", "course"),
    ("loose/loose-course.yaml", "course"),  # top-level key decides outside one
    ("loose/loose-skills.yaml", "skills"),
    ("loose/loose-badges.yaml", "badges"),
    ("loose/badge-unknown-icon.yaml", "badges"),
    ("loose/clash.yaml", "scenario"),
])
def test_kind_of_a_file(fixture, kind):
    assert check(fixture).kind == kind


def test_inside_a_library_a_course_shaped_file_in_scenarios_is_read_as_a_scenario():
    report = check("scenarios/kinds/course-shaped.yaml")
    assert [(p.line, p.col) for p in report.errors] == [(1, 1), (4, 1)]
    assert report.errors[0].message == "missing required key 'nodes'"
    assert report.errors[1].message.startswith("unknown key 'modules' in a role-play")


def test_inside_a_library_a_scenario_shaped_file_in_courses_is_read_as_a_course():
    report = check("courses/scenario-shaped.yaml")
    assert [(p.line, p.col) for p in report.errors] == [(1, 1), (4, 1)]
    assert report.errors[0].message == "missing required key 'modules'"
    assert report.errors[1].message.startswith("unknown key 'nodes' in a course")


# -- stats as the validator reports them ----------------------------------------------------------

@pytest.mark.parametrize(("fixture", "expected"), [
    ("scenarios/valid/valid-roleplay.yaml", (4, 2, 20, 0)),
    ("scenarios/valid/valid-case-study.yaml", (2, 0, 10, 5)),
    ("scenarios/stats/loop-gate.yaml", (4, 2, 12, 0)),
    ("scenarios/stats/positive.yaml", (4, 1, 6, 5)),
])
def test_stats(fixture, expected):
    stats = check(fixture).stats
    assert stats is not None
    assert (stats.nodes, stats.endings, stats.max_points, stats.min_points) == expected


def test_too_branchy_scenario_gets_a_warning_and_no_point_range(monkeypatch):
    monkeypatch.setattr(stats_module, "STATE_LIMIT", 3)
    report = check("scenarios/stats/loop-gate.yaml")
    assert positions(report.problems) == [(9, 1, "warning")]
    assert "too branchy to compute max_points and min_points" in report.problems[0].message
    assert (report.stats.max_points, report.stats.min_points) == (None, None)


# -- bugs and spec deviations found while writing these tests (see the reasons) ---------------------

def test_choice_without_goto_is_reported_not_a_crash(tmp_path):
    library = _library(tmp_path, {"scenarios/s.yaml": """\
        id: s
        title: S
        nodes:
          opening:
            choices:
              - {id: go, text: Go}
              - {id: fine, text: Fine, goto: done}
          done: {ending: success}
        """})
    [report] = validate([str(library / "scenarios/s.yaml")], default_root=library)
    assert [(p.line, p.col, p.message) for p in report.errors] == [(6, 9, "missing required key 'goto'")]


@pytest.mark.parametrize("done", ["Done: {ending: success}", "done: success"])
def test_goto_to_a_node_that_failed_to_build_is_reported_not_a_crash(tmp_path, done):
    target = done.split(":")[0]
    library = _library(tmp_path, {"scenarios/s.yaml": f"""\
        id: s
        title: S
        nodes:
          opening:
            choices:
              - {{id: go, text: Go, goto: {target}}}
          {done}
        """})
    [report] = validate([str(library / "scenarios/s.yaml")], default_root=library)
    assert (7, 3 if target == "Done" else 9) in [(p.line, p.col) for p in report.errors]


def test_start_naming_a_node_with_an_invalid_id_is_reported_not_a_crash(tmp_path):
    library = _library(tmp_path, {"scenarios/s.yaml": """\
        id: s
        title: S
        start: Opening
        nodes:
          Opening:
            choices:
              - {id: go, text: Go, goto: done}
          done: {ending: success}
        """})
    [report] = validate([str(library / "scenarios/s.yaml")], default_root=library)
    assert (5, 3) in [(p.line, p.col) for p in report.errors]


def test_loose_roleplay_with_a_skill_list_is_read_as_a_scenario(tmp_path):
    path = tmp_path / "loose.yaml"
    path.write_text("id: loose-rp\ntitle: Loose\nskills: [empathy]\nnodes:\n  done: {ending: success}\n",
                    encoding="utf-8")
    [report] = validate([str(path)], default_root=LIBRARY)
    assert report.kind == "scenario"
    assert report.problems == [], describe(report)


def test_lesson_path_with_dotdot_that_stays_inside_the_library_is_accepted(tmp_path):
    library = _library(tmp_path, {
        "courses/lessons/intro.md": "# Intro\n",
        "courses/c.yaml": "id: c\ntitle: C\nmodules:\n  - lesson: lessons/../lessons/intro.md\n",
    })
    [report] = validate([str(library / "courses/c.yaml")], default_root=library)
    assert report.problems == [], describe(report)
