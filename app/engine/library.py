"""A library of content files: find them, tell their kind, index their ids and check each one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from .catalogue_reader import read_badges, read_course, read_skills
from .index import LibraryIndex
from .model import Badge, Course, Scenario, Skill
from .problems import ContentError, Problem
from .reader import Reader
from .scenario_reader import ScenarioReader
from .stats import STATE_LIMIT, Stats, scenario_stats
from .yamlsafe import Loaded, load_file, load_text

# Kinds a trainer may publish from the browser; the badge and skill catalogues stay files.
PUBLISHABLE_KINDS = ("roleplay", "case_study", "course")

FileKind = Literal["scenario", "course", "badges", "skills"]
YAML_SUFFIXES = (".yaml", ".yml")
FOLDERS = ("scenarios", "courses")


@dataclass
class FileReport:
    """Everything the validator found in one file, and what it built from it."""

    path: Path
    display: str
    kind: FileKind
    id: str | None = None
    problems: list[Problem] = field(default_factory=list)
    stats: Stats | None = None
    content: Scenario | Course | list[Badge] | list[Skill] | None = None
    # The text the checks read (without a byte-order mark); empty when the file could not be parsed.
    source_text: str = ""

    @property
    def errors(self) -> list[Problem]:
        """The errors, in line order."""
        return sorted(problem for problem in self.problems if problem.is_error)

    @property
    def warnings(self) -> list[Problem]:
        """The warnings, in line order."""
        return sorted(problem for problem in self.problems if not problem.is_error)

    @property
    def ok(self) -> bool:
        """True when the file has no error."""
        return not self.errors


def library_root_of(path: Path) -> Path | None:
    """The folder holding the nearest `scenarios/` or `courses/` folder above `path`, if any."""
    for parent in path.resolve().parents:
        if parent.name in FOLDERS:
            return parent.parent
    return None


def kind_in_library(path: Path, root: Path) -> FileKind:
    """A file's kind from its place in the library."""
    relative = path.resolve().relative_to(root.resolve())
    if relative.parts[0] == "scenarios":
        return "scenario"
    if len(relative.parts) == 2 and relative.name in ("badges.yaml", "skills.yaml"):
        return "badges" if relative.name == "badges.yaml" else "skills"
    return "course"


def kind_from_keys(data: dict[str, Any]) -> FileKind:
    """A loose file's kind from its top-level keys."""
    if "badges" in data:
        return "badges"
    if "modules" in data:
        return "course"
    # A scenario lists `skills` too; only a file with nothing of a scenario's is the catalogue.
    if "skills" in data and not any(key in data for key in ("id", "nodes", "questions", "case")):
        return "skills"
    return "scenario"


def yaml_files(folder: Path) -> list[Path]:
    """Every YAML file under a folder, in path order."""
    return sorted(path for path in folder.rglob("*") if path.suffix in YAML_SUFFIXES and path.is_file())


class Library:
    """The files of one library folder, parsed once, with the ids they define.

    `published` maps the ids published from the browser to their kind (roleplay, case_study or course):
    files may refer to them, and a file that defines one of them is an error (the published content wins).
    """

    def __init__(self, root: Path, static_dir: Path | None = None, published: Mapping[str, str] | None = None):
        self.root = root.resolve()
        self.published = dict(published or {})
        self.files: list[Path] = sorted(path for folder in FOLDERS if (self.root / folder).is_dir()
                                        for path in yaml_files(self.root / folder))
        self._loaded: dict[Path, Loaded | ContentError] = {path: _try_load(path) for path in self.files}
        self.index = LibraryIndex(root=self.root, static_dir=static_dir)
        self.first_owner: dict[str, Path] = {}
        for path in self.files:
            self._index_file(path)
        for item_id, kind in self.published.items():
            if kind == "course":
                self.index.courses.add(item_id)
            else:
                self.index.scenario_kinds.setdefault(item_id, kind)

    def _index_file(self, path: Path) -> None:
        loaded = self._loaded[path]
        if isinstance(loaded, ContentError):
            return
        data = loaded.data
        kind = kind_in_library(path, self.root)
        if kind in ("badges", "skills"):
            target = self.index.badges if kind == "badges" else self.index.skills
            entries = data.get(kind)
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    target.add(entry["id"])
            return
        item_id = data.get("id")
        if not isinstance(item_id, str):
            return
        self.first_owner.setdefault(item_id, path)
        if kind == "course":
            self.index.courses.add(item_id)
        else:
            scenario_kind = data.get("kind", "roleplay")
            self.index.scenario_kinds.setdefault(item_id, scenario_kind if isinstance(scenario_kind, str) else "")

    def display_name(self, path: Path) -> str:
        """A path relative to the library root, as the validator prints it by default."""
        return path.resolve().relative_to(self.root).as_posix()

    def check(self, path: Path, display: str | None = None) -> FileReport:
        """Check one file, inside this library or (ids clashing only as warnings) outside it."""
        path = path.resolve()
        inside = path in self._loaded
        loaded = self._loaded[path] if inside else _try_load(path)
        display = display or (self.display_name(path) if inside else str(path))
        if isinstance(loaded, ContentError):
            kind: FileKind = kind_in_library(path, self.root) if inside else "scenario"
            return FileReport(path, display, kind, problems=list(loaded.problems))
        kind = kind_in_library(path, self.root) if inside else kind_from_keys(loaded.data)
        report = FileReport(path, display, kind, source_text=loaded.text)
        reader = Reader(loaded)
        if kind == "scenario":
            self._check_scenario(reader, report)
        elif kind == "course":
            report.content = read_course(reader, self.index, path, self.root if inside else path.parent)
        elif kind == "badges":
            report.content = read_badges(reader, self.index)
        else:
            report.content = read_skills(reader)
        if kind in ("scenario", "course"):
            self._check_unique_id(reader, path, inside)
            raw_id = loaded.data.get("id")
            report.id = raw_id if isinstance(raw_id, str) else None
        report.problems = reader.problems
        return report

    def check_text(self, text: str, display: str, lessons: Mapping[str, str] | None = None,
                   replaces: str | None = None, newer: int | None = None) -> FileReport:
        """Check a draft to publish against this library: files and published content together.

        `lessons` holds a course's lesson texts by path; `replaces` is the published id the draft is a
        new version of (None for new content): any other id already in use is an error. `newer` is the
        number of a version of `replaces` published after the draft was opened, if any.
        """
        path = Path(display)
        try:
            loaded = load_text(text.replace("\r\n", "\n"))
        except ContentError as exc:
            return FileReport(path, display, "scenario", problems=list(exc.problems))
        kind = kind_from_keys(loaded.data)
        report = FileReport(path, display, kind)
        reader = Reader(loaded)
        if kind == "scenario":
            self._check_scenario(reader, report)
        elif kind == "course":
            report.content = read_course(reader, self.index, None, None, lessons or {})
        else:
            reader.report((kind,), f"the {kind} catalogue is kept as courses/{kind}.yaml in the library "
                          "folder; only scenarios, case studies and courses are published here", at="key")
        raw_id = loaded.data.get("id")
        report.id = raw_id if isinstance(raw_id, str) else None
        if report.id is not None and kind in ("scenario", "course"):
            self._check_draft_id(reader, report.id, kind, replaces)
            if newer is not None and report.id == replaces:
                reader.report(("id",), f"{report.id!r} has been published again since you opened it (now "
                              f"version {newer}); open the newest version")
        report.problems = reader.problems
        return report

    def _check_draft_id(self, reader: Reader, item_id: str, kind: FileKind, replaces: str | None) -> None:
        owner = self.first_owner.get(item_id)
        if owner is not None:
            reader.report(("id",), f"id {item_id!r} is defined by the file {self.display_name(owner)}; "
                          "content in the library folders cannot be replaced from the browser, so change "
                          "that file or choose another id")
            return
        if item_id != replaces and item_id in self.published:
            reader.report(("id",), f"id {item_id!r} is already published; open it in the studio to publish "
                          "a new version, or choose another id")
            return
        if item_id == replaces and item_id in self.published:
            was = self.published[item_id]
            now = "course" if kind == "course" else str(reader.loaded.data.get("kind", "roleplay"))
            if now in PUBLISHABLE_KINDS and now != was:
                reader.report(("id",), f"id {item_id!r} is published as a {was.replace('_', ' ')}; a new "
                              f"version must stay a {was.replace('_', ' ')} (choose another id for this one)")

    def _check_unique_id(self, reader: Reader, path: Path, inside: bool) -> None:
        item_id = reader.loaded.data.get("id")
        if isinstance(item_id, str) and item_id in self.published:
            reader.report(("id",), f"id {item_id!r} is already published from the browser, and published "
                          "content wins: this file is skipped until it uses another id", severity="error"
                          if inside else "warning")
            return
        owner = self.first_owner.get(item_id) if isinstance(item_id, str) else None
        if owner is None or owner == path:
            return
        where = self.display_name(owner)
        if inside:
            reader.report(("id",), f"id {item_id!r} is already used by {where}; ids must be unique in the library")
        else:
            reader.report(("id",), f"id {item_id!r} is also used by {where} in the library", severity="warning")

    def _check_scenario(self, reader: Reader, report: FileReport) -> None:
        scenario_reader = ScenarioReader(reader, self.index)
        scenario = scenario_reader.build()
        report.content = scenario
        if scenario is None:
            return
        search = not (scenario_reader.has_reference_error or scenario_reader.has_condition_error
                      or scenario_reader.has_broken_structure)
        stats = scenario_stats(scenario, search=search)
        report.stats = stats
        if search:
            _report_shape(reader, scenario, stats)
        if scenario.pass_points is not None and stats.max_points is not None and scenario.pass_points > stats.max_points:
            reader.report(("pass_points",), f"'pass_points' ({scenario.pass_points}) is above the most points "
                          f"this scenario can give ({stats.max_points}), so nobody can pass", severity="warning")


def _report_shape(reader: Reader, scenario: Scenario, stats: Stats) -> None:
    """Turn graph and search findings into positioned problems."""
    if scenario.is_case_study:
        return
    if not stats.ending_reachable:
        reader.report(("start",) if "start" in reader.loaded.data else ("nodes",),
                      "no ending can be reached from the start", at="key")
    for node_id in stats.unreachable:
        reader.report(("nodes", node_id), f"node {node_id!r} cannot be reached from the start", at="key",
                      severity="warning")
    for node_id in stats.never_entered:
        reader.report(("nodes", node_id), f"node {node_id!r} is never reached: the conditions on every way to it "
                      "are false", at="key", severity="warning")
    if stats.ending_reachable:
        for node_id in stats.traps:
            reader.report(("nodes", node_id), f"node {node_id!r} is a trap: no ending can be reached from it",
                          at="key", severity="warning")
    for node_id, values in stats.stuck.items():
        state = ", ".join(f"{name}={value}" for name, value in values.items())
        when = f" (for example when {state})" if state else ""
        reader.report(("nodes", node_id), f"at node {node_id!r} no choice may be offered{when}; the attempt "
                      "would end there as completed", at="key", severity="warning")
    if stats.too_branchy:
        reader.report(("nodes",), f"too branchy to compute max_points and min_points (over "
                      f"{STATE_LIMIT:,} states)", at="key", severity="warning")


def read_stored(kind: str, source_text: str) -> Scenario | Course | list[Badge] | list[Skill]:
    """Build content from text that passed validation when it was stored; raise ContentError if it no longer reads."""
    reader = Reader(load_text(source_text))
    index = LibraryIndex(trusted=True)
    content: Scenario | Course | list[Badge] | list[Skill] | None
    if kind in ("roleplay", "case_study"):
        content = ScenarioReader(reader, index).build()
    elif kind == "course":
        content = read_course(reader, index, None, None)
    elif kind == "badges":
        content = read_badges(reader, index)
    else:
        content = read_skills(reader)
    if content is None or reader.has_errors:
        raise ContentError([problem for problem in reader.problems if problem.is_error])
    return content


def _try_load(path: Path) -> Loaded | ContentError:
    try:
        return load_file(path)
    except ContentError as exc:
        return exc
    except OSError as exc:
        return ContentError([Problem(1, 1, "error", f"cannot read the file: {exc.strerror}")])


def draft_lesson_paths(text: str) -> list[str]:
    """The lesson paths a course draft names, in module order, each once; none when it does not read."""
    try:
        data = load_text(text.replace("\r\n", "\n")).data
    except ContentError:
        return []
    modules = data.get("modules") if kind_from_keys(data) == "course" else None
    found: list[str] = []
    for module in modules if isinstance(modules, list) else []:
        lesson = module.get("lesson") if isinstance(module, dict) else None
        if isinstance(lesson, str) and lesson.strip() and lesson not in found:
            found.append(lesson)
    return found
