"""The spec's unlock rules and course completion, as pure functions."""

from __future__ import annotations

from app.engine.course_rules import course_complete, unlocked_modules


def test_sequential_opens_the_first_module_and_each_one_after_a_passed_module():
    assert unlocked_modules("sequential", [False, False, False]) == [True, False, False]
    assert unlocked_modules("sequential", [True, False, False]) == [True, True, False]
    assert unlocked_modules("sequential", [True, True, False]) == [True, True, True]


def test_sequential_looks_only_at_the_module_just_before():
    # "a module opens when the one before is passed": a scenario passed outside the course opens the next one.
    assert unlocked_modules("sequential", [False, True, False]) == [True, False, True]


def test_open_opens_every_module():
    assert unlocked_modules("open", [False, False]) == [True, True]


def test_a_course_is_complete_when_every_module_is_passed():
    assert course_complete([True, True])
    assert not course_complete([True, False])
    assert not course_complete([])
