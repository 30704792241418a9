"""A course's rules: which modules are open to a trainee and when the course is complete."""

from __future__ import annotations

from typing import Sequence

from .model import RTL_LANGUAGES, Course
from .phrases import primary_language


def unlocked_modules(unlock: str, passed: Sequence[bool]) -> list[bool]:
    """Which modules a trainee may open: all under `open`; under `sequential` the first, and each after a passed one."""
    if unlock == "open":
        return [True] * len(passed)
    return [index == 0 or passed[index - 1] for index in range(len(passed))]


def course_complete(passed: Sequence[bool]) -> bool:
    """A course is complete when it has modules and every one of them is passed."""
    return bool(passed) and all(passed)


def course_rtl(course: Course) -> bool:
    """True when the course is written in a right-to-left language."""
    return primary_language(course.language) in RTL_LANGUAGES
