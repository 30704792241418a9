"""Courses as trainees take them: modules in order, unlock rules, lessons opened, progress and completion."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import AbstractSet

from sqlalchemy import select

from .content_sync import stored_content, stored_scenario
from .database import upsert_insert, write
from .engine.course_rules import course_complete, course_rtl, unlocked_modules
from .engine.model import Course, Module, Scenario
from .extensions import db
from .lessons import lesson_text
from .models import Attempt, CourseCompletion, LessonOpen, LibraryEntry
from .models.play import ACTIVE
from .models.users import utcnow
from .rewards import (EarnedBadge, LibraryFacts, Standing, award_due_badges, celebrate_courses, completed_courses,
                      library_facts, standing_of)


class NotFound(LookupError):
    """No such course or module in the library now."""


class Locked(PermissionError):
    """The module is not open yet under the course's unlock rule."""


@dataclass(frozen=True)
class ModuleStatus:
    """One module of a course as this trainee sees it."""

    number: int
    module: Module
    title: str
    passed: bool
    unlocked: bool
    scenario: Scenario | None
    running: bool = False

    @property
    def available(self) -> bool:
        """False for a scenario module whose scenario is no longer in the library."""
        return self.module.kind == "lesson" or self.scenario is not None


@dataclass(frozen=True)
class CourseProgress:
    """A course with this trainee's standing in each module."""

    course: Course
    version_id: int
    modules: tuple[ModuleStatus, ...]
    completed: bool

    @property
    def passed_count(self) -> int:
        """How many modules are passed."""
        return sum(1 for status in self.modules if status.passed)

    @property
    def percent(self) -> int:
        """Share of modules passed, in whole percent."""
        return round(100 * self.passed_count / len(self.modules)) if self.modules else 0

    @property
    def rtl(self) -> bool:
        """True when the course text reads right to left."""
        return course_rtl(self.course)


@dataclass(frozen=True)
class LessonView:
    """An opened lesson: its markdown as stored with the course version, and where it sits in the course."""

    progress: CourseProgress
    status: ModuleStatus
    markdown: str
    # What opening it set off: the course finished with it, and badges that came with that.
    finished_course: bool = False
    badges: tuple[EarnedBadge, ...] = ()

    @property
    def following(self) -> ModuleStatus | None:
        """The next module when it is open now, to offer as the way on."""
        modules = self.progress.modules
        after = modules[self.status.number] if self.status.number < len(modules) else None
        return after if after is not None and after.unlocked else None


def _active_courses() -> list[tuple[LibraryEntry, Course]]:
    entries = db.session.scalars(select(LibraryEntry).where(LibraryEntry.active.is_(True),
                                                            LibraryEntry.kind == "course")).all()
    pairs = [(entry, stored_content(entry.version)) for entry in entries]
    return [(entry, course) for entry, course in pairs if isinstance(course, Course)]


def _active_scenarios(ids: set[str]) -> dict[str, Scenario]:
    entries = db.session.scalars(select(LibraryEntry).where(LibraryEntry.active.is_(True),
                                                            LibraryEntry.content_id.in_(ids))).all()
    return {entry.content_id: stored_scenario(entry.version) for entry in entries if entry.kind != "course"}


def passed_scenario_ids(user_id: int, ids: set[str] | None = None) -> set[str]:
    """Scenario ids this trainee has passed at least once, on any version."""
    query = select(Attempt.content_id).distinct().where(Attempt.user_id == user_id, Attempt.outcome == "passed")
    if ids is not None:
        query = query.where(Attempt.content_id.in_(ids))
    return set(db.session.scalars(query))


def _opened_lessons(user_id: int, course_id: str) -> set[str]:
    return set(db.session.scalars(select(LessonOpen.lesson).where(LessonOpen.user_id == user_id,
                                                                   LessonOpen.course_id == course_id)))



def _progress(user_id: int, version_id: int, course: Course, completed: AbstractSet[str]) -> CourseProgress:
    scenario_ids = {module.ref for module in course.modules if module.kind != "lesson"}
    scenarios = _active_scenarios(scenario_ids)
    passed_ids = passed_scenario_ids(user_id, scenario_ids)
    opened = _opened_lessons(user_id, course.id)
    running = set(db.session.scalars(select(Attempt.content_id).where(
        Attempt.user_id == user_id, Attempt.status == ACTIVE, Attempt.content_id.in_(scenario_ids))))
    passed = [(module.ref in opened) if module.kind == "lesson" else (module.ref in passed_ids)
              for module in course.modules]
    unlocked = unlocked_modules(course.unlock, passed)
    statuses = tuple(
        ModuleStatus(number, module, _module_title(module, scenarios.get(module.ref)), passed[number - 1],
                     unlocked[number - 1], scenarios.get(module.ref) if module.kind != "lesson" else None,
                     module.kind != "lesson" and module.ref in running)
        for number, module in enumerate(course.modules, start=1))
    return CourseProgress(course, version_id, statuses, course.id in completed)


def _module_title(module: Module, scenario: Scenario | None) -> str:
    if module.title:
        return module.title
    if scenario is not None:
        return scenario.title
    return PurePosixPath(module.ref).stem.replace("-", " ").capitalize() if module.kind == "lesson" else module.ref


def course_catalogue(user_id: int) -> list[CourseProgress]:
    """Every course in the library with this trainee's progress, by title."""
    completed = completed_courses(user_id)
    progress = [_progress(user_id, entry.version_id, course, completed) for entry, course in _active_courses()]
    return sorted(progress, key=lambda item: item.course.title.casefold())


def course_progress(user_id: int, course_id: str) -> CourseProgress:
    """One course with this trainee's progress; NotFound when the library has no such course now."""
    entry = db.session.scalar(select(LibraryEntry).where(LibraryEntry.content_id == course_id,
                                                         LibraryEntry.active.is_(True), LibraryEntry.kind == "course"))
    if entry is None:
        raise NotFound("no such course")
    course = stored_content(entry.version)
    assert isinstance(course, Course)
    return _progress(user_id, entry.version_id, course, completed_courses(user_id))


def open_lesson(user_id: int, course_id: str, number: int) -> LessonView:
    """Open lesson `number` of a course: record that it was opened and complete the course if that was the last step."""
    progress = course_progress(user_id, course_id)
    if not 1 <= number <= len(progress.modules) or progress.modules[number - 1].module.kind != "lesson":
        raise NotFound("no such lesson in this course")
    status = progress.modules[number - 1]
    if not status.unlocked:
        raise Locked("This lesson opens once the module before it is passed.")
    markdown = lesson_text(progress.version_id, status.module.ref)
    if markdown is None:
        raise NotFound("this lesson's text was not stored with the course")
    if status.passed:
        return LessonView(progress, status, markdown)

    def run() -> tuple[bool, tuple[EarnedBadge, ...]]:
        db.session.execute(upsert_insert(LessonOpen).values(
            user_id=user_id, course_id=course_id, lesson=status.module.ref, opened_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["user_id", "course_id", "lesson"]))
        finished = record_completions(user_id, course_id=course_id)
        if not finished:
            return False, ()
        celebrate_courses(user_id, finished)
        return True, tuple(award_due_badges(user_id))
    finished, badges = write(run)
    progress = course_progress(user_id, course_id)
    return LessonView(progress, progress.modules[number - 1], markdown, finished, badges)


def record_completion(user_id: int, course_id: str, version_id: int) -> bool:
    """Record that a trainee completed a course; True only the first time. Must run inside `write`."""
    # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT that has nothing to return.
    inserted = db.session.execute(upsert_insert(CourseCompletion).values(
        user_id=user_id, course_id=course_id, version_id=version_id, completed_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["user_id", "course_id"]).returning(CourseCompletion.user_id))
    return inserted.first() is not None


def _modules_passed_in(standing: Standing, course: Course) -> list[bool]:
    """For each module of a course, whether the standing shows it passed (a lesson: opened)."""
    passed = standing.passed
    return [(course.id, module.ref) in standing.lessons if module.kind == "lesson" else module.ref in passed
            for module in course.modules]


def record_completions(user_id: int, course_id: str | None = None, scenario_id: str | None = None,
                       library: LibraryFacts | None = None, standing: Standing | None = None) -> list[str]:
    """Record every course (one, or those using a scenario) this trainee has just completed; inside `write`.

    `standing`, when given, is the trainee's standing read in this transaction (else it is read here): it
    answers what is passed, opened and completed.
    """
    library = library or library_facts()
    candidates = [course for course in library.courses.values()
                  if (course_id is None or course.id == course_id)
                  and (scenario_id is None or any(module.ref == scenario_id for module in course.modules))]
    if not candidates:
        return []
    standing = standing or standing_of(user_id, library)
    newly = []
    for course in candidates:
        if course.id in standing.facts.courses_done:
            continue
        version_id = library.versions.get(course.id)
        if course_complete(_modules_passed_in(standing, course)) and version_id is not None and record_completion(user_id, course.id, version_id):
            newly.append(course.id)
    return newly
