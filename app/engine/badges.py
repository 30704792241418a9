"""Badge criteria: what a trainee's record must show, and how far along each requirement is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .model import Criteria


@dataclass(frozen=True)
class ScenarioRecord:
    """A trainee's best standing on one scenario id, with the skills that scenario trains."""

    content_id: str
    passed: bool
    perfect: bool
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Facts:
    """Everything badge criteria can ask about one trainee."""

    records: tuple[ScenarioRecord, ...] = ()
    points: int = 0
    skill_totals: Mapping[str, int] = field(default_factory=dict)
    courses_done: frozenset[str] = frozenset()
    streak_days: int = 0
    reviewed: int = 0


@dataclass(frozen=True)
class Requirement:
    """One criterion: what it counts (`kind`, with `subject` for a skill or course), reached and needed."""

    kind: str
    have: int
    need: int
    subject: str | None = None

    @property
    def met(self) -> bool:
        """Whether this requirement holds."""
        return self.have >= self.need


def requirements(criteria: Criteria, facts: Facts) -> list[Requirement]:
    """Every requirement the criteria set, each with the trainee's standing; distinct scenarios, never repeats."""
    records = [record for record in facts.records
               if criteria.skill_tag is None or criteria.skill_tag in record.skills]
    found: list[Requirement] = []
    if criteria.completed is not None:
        found.append(Requirement("completed", len(records), criteria.completed, criteria.skill_tag))
    if criteria.passed is not None:
        found.append(Requirement("passed", sum(record.passed for record in records), criteria.passed,
                                 criteria.skill_tag))
    if criteria.perfect is not None:
        found.append(Requirement("perfect", sum(record.perfect for record in records), criteria.perfect,
                                 criteria.skill_tag))
    if criteria.points is not None:
        found.append(Requirement("points", facts.points, criteria.points))
    for skill, need in sorted(criteria.skills.items()):
        found.append(Requirement("skill", facts.skill_totals.get(skill, 0), need, skill))
    if criteria.course is not None:
        found.append(Requirement("course", int(criteria.course in facts.courses_done), 1, criteria.course))
    if criteria.streak_days is not None:
        found.append(Requirement("streak_days", facts.streak_days, criteria.streak_days))
    if criteria.reviewed is not None:
        found.append(Requirement("reviewed", facts.reviewed, criteria.reviewed))
    return found


def holds(criteria: Criteria, facts: Facts) -> bool:
    """Whether every given criterion holds (a badge with no criteria never does)."""
    found = requirements(criteria, facts)
    return bool(found) and all(requirement.met for requirement in found)
