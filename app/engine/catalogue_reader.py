"""Build courses and the badge and skill catalogues from loaded YAML, reporting every problem."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from .index import LibraryIndex
from .model import ICON_NAMES, Badge, Course, Criteria, Module, Skill
from .reader import Reader
from .yamlsafe import KeyPath

COURSE_KEYS = ("id", "title", "language", "description", "unlock", "modules", "badge")
MODULE_KINDS = ("lesson", "scenario", "case_study")
CRITERIA_COUNTS = ("completed", "passed", "perfect", "points", "streak_days", "reviewed")
CRITERIA_KEYS = CRITERIA_COUNTS + ("skills", "skill_tag", "course")


def relative_inside(value: str, base: Path, boundary: Path) -> Path | None:
    """Resolve a relative path under `base`, or None when it is absolute or climbs out of `boundary`."""
    pure = PurePosixPath(value.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]):
        return None
    target = (base / Path(*pure.parts)).resolve()
    try:
        target.relative_to(boundary.resolve())
    except ValueError:
        return None
    return target


def lesson_path_ok(value: str) -> bool:
    """True for a relative lesson path that names no parent folder, drive or absolute place."""
    pure = PurePosixPath(value)
    return (bool(pure.parts) and "\\" not in value and not pure.is_absolute() and ":" not in pure.parts[0]
            and ".." not in pure.parts)


def read_course(r: Reader, index: LibraryIndex, file_path: Path | None, lesson_root: Path | None,
                lessons: Mapping[str, str] | None = None) -> Course | None:
    """A course with its modules checked against the library; lessons must stay inside `lesson_root`.

    A course published from the browser has no folder: `lessons` holds the texts sent with it, by path.
    """
    data = r.loaded.data
    r.keys(data, (), COURSE_KEYS, ("id", "title", "modules"), "in a course")
    course_id = r.identifier(data, (), "id")
    title = r.text(data, (), "title")
    badge = r.identifier(data, (), "badge")
    if badge is not None and badge not in index.badges and not index.trusted:
        r.report(("badge",), f"unknown badge {badge!r}: add it to courses/badges.yaml or fix the spelling")
    if isinstance(data.get("modules"), list) and not data["modules"]:
        r.report(("modules",), "'modules' is empty; a course needs at least one module")
    modules = [module for _, raw, path in r.items(data, (), "modules")
               if (module := _module(r, index, raw, path, file_path, lesson_root, lessons)) is not None]
    if course_id is None or title is None:
        return None
    return Course(
        id=course_id,
        title=title,
        language=r.language(data, ()),
        description=r.text(data, (), "description"),
        unlock=r.one_of(data, (), "unlock", ("sequential", "open"), "sequential"),  # type: ignore[arg-type]
        modules=tuple(modules),
        badge=badge,
    )


def _module(r: Reader, index: LibraryIndex, raw: Any, path: KeyPath, file_path: Path | None,
            lesson_root: Path | None, lessons: Mapping[str, str] | None) -> Module | None:
    entry = r.mapping(raw, path, "a module")
    if entry is None:
        return None
    r.keys(entry, path, MODULE_KINDS + ("title",), (), "in a module")
    present = [key for key in MODULE_KINDS if key in entry]
    if len(present) != 1:
        found = "none" if not present else " and ".join(present)
        r.report(path, f"a module needs exactly one of lesson, scenario or case_study (found {found})", at="key")
        return None
    kind = present[0]
    title = r.text(entry, path, "title")
    if kind == "lesson":
        ref = r.text(entry, path, "lesson")
        if ref is None or not _lesson_exists(r, index, ref, path + ("lesson",), file_path, lesson_root, lessons):
            return None
        return Module("lesson", ref, title)
    ref = r.identifier(entry, path, kind)
    if ref is None:
        return None
    if index.trusted:
        return Module(kind, ref, title)  # type: ignore[arg-type]
    found_kind = index.scenario_kinds.get(ref)
    wanted = "case_study" if kind == "case_study" else "roleplay"
    if found_kind is None:
        what = "case study" if kind == "case_study" else "scenario"
        r.report(path + (kind,), f"no {what} with id {ref!r} in the library")
        return None
    if found_kind != wanted:
        other = "scenario" if kind == "case_study" else "case_study"
        r.report(path + (kind,), f"{ref!r} is a {found_kind.replace('_', ' ')}; list it as '{other}: {ref}'")
        return None
    return Module(kind, ref, title)  # type: ignore[arg-type]


def _lesson_exists(r: Reader, index: LibraryIndex, ref: str, path: KeyPath, file_path: Path | None,
                   lesson_root: Path | None, lessons: Mapping[str, str] | None) -> bool:
    if index.trusted:
        return True
    if lessons is not None:
        if not lesson_path_ok(ref):
            r.report(path, f"lesson path {ref!r} must be relative and stay inside the course (no '..' or '/')")
            return False
        if not lessons.get(ref, "").strip():
            r.report(path, f"lesson {ref!r} has no text yet: paste it into the box for {ref!r} or upload the file")
            return False
        return True
    if file_path is None or lesson_root is None:
        r.report(path, "lesson files can only be checked for a course saved as a file")
        return False
    target = relative_inside(ref, file_path.parent, lesson_root)
    if target is None:
        r.report(path, f"lesson path {ref!r} must be relative and stay inside the library (no '..' or '/')")
        return False
    if not target.is_file():
        r.report(path, f"lesson file {ref!r} does not exist (looked for it next to this course file)")
        return False
    return True


def read_skills(r: Reader) -> list[Skill]:
    """The skill catalogue."""
    data = r.loaded.data
    r.keys(data, (), ("skills",), ("skills",), "in skills.yaml")
    skills = []
    seen: set[str] = set()
    for _, raw, path in r.items(data, (), "skills"):
        entry = r.mapping(raw, path, "a skill")
        if entry is None:
            continue
        r.keys(entry, path, ("id", "name", "description"), ("id", "name"), "in a skill")
        skill_id = r.identifier(entry, path, "id")
        name = r.text(entry, path, "name")
        if skill_id in seen:
            r.report(path + ("id",), f"skill id {skill_id!r} is listed twice")
        elif skill_id and name:
            seen.add(skill_id)
            skills.append(Skill(skill_id, name, r.text(entry, path, "description")))
    return skills


def read_badges(r: Reader, index: LibraryIndex) -> list[Badge]:
    """The badge catalogue, with criteria checked against the library."""
    data = r.loaded.data
    r.keys(data, (), ("badges",), ("badges",), "in badges.yaml")
    badges = []
    seen: set[str] = set()
    for _, raw, path in r.items(data, (), "badges"):
        entry = r.mapping(raw, path, "a badge")
        if entry is None:
            continue
        r.keys(entry, path, ("id", "name", "description", "icon", "criteria", "points"), ("id", "name", "criteria"),
               "in a badge")
        badge_id = r.identifier(entry, path, "id")
        name = r.text(entry, path, "name")
        icon = _icon(r, index, entry, path)
        criteria = _criteria(r, index, entry, path) if "criteria" in entry else None
        if badge_id in seen:
            r.report(path + ("id",), f"badge id {badge_id!r} is listed twice")
        elif badge_id and name and criteria is not None:
            seen.add(badge_id)
            bonus = r.integer(entry, path, "points", 0, 0, 1000) or 0
            badges.append(Badge(badge_id, name, r.text(entry, path, "description"), icon, criteria, bonus))
    return badges


def _icon(r: Reader, index: LibraryIndex, entry: dict[str, Any], path: KeyPath) -> str | None:
    icon = r.text(entry, path, "icon")
    if icon is None or icon in ICON_NAMES:
        return icon
    if "/" not in icon and "." not in icon:
        r.report(path + ("icon",), f"unknown icon {icon!r}; use one of {', '.join(sorted(ICON_NAMES))}, "
                 "or a file path under static/")
        return None
    if index.static_dir is None:
        return icon
    target = relative_inside(icon.removeprefix("static/"), index.static_dir, index.static_dir)
    if target is None:
        r.report(path + ("icon",), f"icon path {icon!r} must be relative and stay inside static/")
        return None
    if not target.is_file():
        r.report(path + ("icon",), f"icon file {icon!r} does not exist under static/")
        return None
    return icon


def _criteria(r: Reader, index: LibraryIndex, entry: dict[str, Any], path: KeyPath) -> Criteria | None:
    path = path + ("criteria",)
    raw = r.mapping(entry["criteria"], path, "'criteria'")
    if raw is None:
        return None
    for key in raw:
        if key not in CRITERIA_KEYS and not key.startswith("x-"):
            r.report(path + (key,), f"unknown badge criterion {key!r} (expected one of: "
                     f"{', '.join(CRITERIA_KEYS)})", at="key")
    if not [key for key in raw if not key.startswith("x-")]:
        r.report(path, "'criteria' is empty; give at least one criterion")
    counts = {key: r.integer(raw, path, key, None, 1) for key in CRITERIA_COUNTS}
    skills = r.deltas(raw, path, "skills")
    for name in skills:
        if not index.has_skill(name):
            r.report(path + ("skills", name), f"unknown skill {name!r}", at="key")
    skill_tag = r.identifier(raw, path, "skill_tag")
    if skill_tag is not None and not index.has_skill(skill_tag):
        r.report(path + ("skill_tag",), f"unknown skill {skill_tag!r}")
    course = r.identifier(raw, path, "course")
    if course is not None and course not in index.courses and not index.trusted:
        r.report(path + ("course",), f"no course with id {course!r} in the library")
    return Criteria(skills=skills, skill_tag=skill_tag, course=course, **counts)
