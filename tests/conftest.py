"""Shared fixtures: build scenarios from YAML text in a throwaway library."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from app.engine.library import FileReport, Library
from app.engine.model import Scenario

SKILLS_YAML = """\
skills:
  - {id: empathy, name: Empathy}
  - {id: de-escalation, name: De-escalation}
  - {id: positive-language, name: Positive language}
  - {id: analysis, name: Analysis}
"""


@pytest.fixture
def content_library(tmp_path: Path) -> Path:
    """An empty library folder with a skills catalogue."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "courses").mkdir()
    (tmp_path / "courses" / "skills.yaml").write_text(SKILLS_YAML, encoding="utf-8")
    return tmp_path


@pytest.fixture
def check_file(content_library: Path) -> Callable[[str, str], FileReport]:
    """Write YAML text into the library and return the validator's report for it."""
    def check(text: str, name: str = "scenarios/s.yaml") -> FileReport:
        path = content_library / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return Library(content_library).check(path)
    return check


@pytest.fixture
def make_scenario(check_file: Callable[[str, str], FileReport]) -> Callable[[str], Scenario]:
    """Build a valid scenario from YAML text, failing the test on any validation error."""
    def make(text: str) -> Scenario:
        report = check_file(text, "scenarios/s.yaml")
        assert not report.errors, "\n".join(p.format(report.display) for p in report.errors)
        assert isinstance(report.content, Scenario)
        return report.content
    return make
