"""Lesson files read at sync time and stored with their course version, so a version's lessons never change."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from .database import upsert_insert
from .engine.catalogue_reader import relative_inside
from .engine.model import Course
from .extensions import db
from .models import LessonText

MAX_LESSON_BYTES = 1024 * 1024


def read_lessons(course: Course, course_file: Path, root: Path) -> dict[str, str]:
    """The markdown of each lesson a course names, by its path as written in the course."""
    texts: dict[str, str] = {}
    for module in course.modules:
        if module.kind != "lesson" or module.ref in texts:
            continue
        target = relative_inside(module.ref, course_file.parent, root)
        if target is None:
            continue  # validation already refused such a path
        # A stray byte in a lesson should not hide the whole course; it shows as a replacement mark.
        texts[module.ref] = target.read_bytes()[:MAX_LESSON_BYTES].decode("utf-8", "replace").removeprefix("\ufeff")
    return texts


def with_lessons(source_text: str, lessons: dict[str, str]) -> str:
    """The text a course version is identified by: its YAML and every lesson, so editing a lesson makes a version."""
    parts = [source_text] + [f"\x00lesson {ref}\n{text}" for ref, text in sorted(lessons.items())]
    return "\n".join(parts)


def store_lessons(version_id: int, lessons: dict[str, str]) -> None:
    """Keep a version's lesson texts beside it; a version stored before keeps what it has."""
    for ref, text in lessons.items():
        db.session.execute(upsert_insert(LessonText).values(version_id=version_id, ref=ref, markdown=text)
                           .on_conflict_do_nothing(index_elements=["version_id", "ref"]))


def lesson_text(version_id: int, ref: str) -> str | None:
    """A lesson's markdown as stored with a course version."""
    return db.session.scalar(select(LessonText.markdown).where(LessonText.version_id == version_id,
                                                               LessonText.ref == ref))
