"""Drafts checked against a library of files plus published ids; jumping in a playthrough."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.library import Library, draft_lesson_paths
from app.engine.model import Scenario
from app.engine.play import ActionRefused, play

LIBRARY = Path(__file__).resolve().parent.parent / "web" / "library"
DRAFT = """id: {id}
title: A draft
nodes:
  start:
    choices:
      - {{id: go, text: Go, points: 2, change: {{mood: 1}}, goto: end}}
  end:
    ending: success
variables:
  mood: {{initial: 0}}
"""


def test_a_new_draft_may_not_take_an_id_of_a_file_or_of_published_content():
    library = Library(LIBRARY, published={"shared": "roleplay"})
    by_file = library.check_text(DRAFT.format(id="late-delivery"), "draft.yaml")
    assert [(p.line, p.severity) for p in by_file.problems] == [(1, "error")]
    assert "defined by the file scenarios/late-delivery.yaml" in by_file.problems[0].message
    published = library.check_text(DRAFT.format(id="shared"), "draft.yaml")
    assert "already published; open it in the studio" in published.problems[0].message
    assert library.check_text(DRAFT.format(id="shared"), "draft.yaml", replaces="shared").ok


def test_a_new_version_keeps_its_kind():
    library = Library(LIBRARY, published={"shared": "course"})
    report = library.check_text(DRAFT.format(id="shared"), "draft.yaml", replaces="shared")
    assert "published as a course; a new version must stay a course" in report.problems[0].message


def test_a_file_defining_a_published_id_is_an_error_and_files_may_refer_to_published_ids(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "courses").mkdir()
    (tmp_path / "scenarios" / "dup.yaml").write_text(DRAFT.format(id="shared"))
    (tmp_path / "courses" / "c.yaml").write_text("id: c\ntitle: C\nmodules:\n  - scenario: elsewhere\n")
    library = Library(tmp_path, published={"shared": "roleplay", "elsewhere": "roleplay"})
    dup = library.check(tmp_path / "scenarios" / "dup.yaml")
    assert [(p.line, p.severity) for p in dup.problems] == [(1, "error")]
    assert "published content wins" in dup.problems[0].message
    assert library.check(tmp_path / "courses" / "c.yaml").ok


def test_crlf_text_reads_like_a_file():
    report = Library(LIBRARY).check_text(DRAFT.format(id="fresh").replace("\n", "\r\n"), "draft.yaml")
    assert report.ok and isinstance(report.content, Scenario)


def test_the_lessons_a_course_draft_names():
    text = "id: c\ntitle: C\nmodules:\n  - lesson: a.md\n  - lesson: b.md\n  - lesson: a.md\n  - scenario: x\n"
    assert draft_lesson_paths(text) == ["a.md", "b.md"]
    assert draft_lesson_paths("id: [broken") == []
    assert draft_lesson_paths(DRAFT.format(id="x")) == []


def test_jump_moves_anywhere_and_keeps_what_was_earned():
    scenario = Library(LIBRARY).check_text(DRAFT.format(id="fresh"), "draft.yaml").content
    assert isinstance(scenario, Scenario)
    playthrough = play(scenario, ["go"])
    assert playthrough.finished and playthrough.points == 2
    playthrough.jump("start")
    assert not playthrough.finished and playthrough.variables["mood"] == 1
    with pytest.raises(ActionRefused):
        playthrough.jump("missing")


def test_a_draft_opened_before_a_newer_version_is_told_at_its_id():
    library = Library(LIBRARY, published={"shared": "roleplay"})
    report = library.check_text(DRAFT.format(id="shared"), "draft.yaml", replaces="shared", newer=3)
    assert [(p.line, p.col) for p in report.errors] == [(1, 5)]
    assert "published again since you opened it (now version 3)" in report.errors[0].message
