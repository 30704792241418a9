"""The library as trainees browse it: filters, time estimates, their best results and running attempts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from sqlalchemy import bindparam, select

from .content_sync import CATALOGUE_IDS, current_digest, stored_by_hash, stored_scenario
from .direct_sql import DirectStatement
from .engine.model import Scenario, Skill
from .extensions import db
from .models import Attempt, BestResult, ContentVersion, LibraryEntry, LibraryProblem
from .models.content import SCENARIO_KINDS
from .models.play import ACTIVE



@dataclass(frozen=True)
class Filters:
    """What the trainee narrowed the catalogue to; None means any."""

    skill: str | None = None
    difficulty: int | None = None
    language: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class CatalogueItem:
    """One scenario card."""

    scenario: Scenario
    best_points: int | None
    best_outcome: str | None
    active_attempt_id: int | None


@lru_cache(maxsize=64)
def skill_names_in(digest: str | None) -> Mapping[str, str]:
    """Skill ids to their display names in one stored skills catalogue (none without one); versions never change.

    Read-only: every caller in the process shares the cached mapping.
    """
    if digest is None:
        return MappingProxyType({})
    return MappingProxyType({skill.id: skill.name for skill in stored_by_hash("skills", digest)
                             if isinstance(skill, Skill)})


def skill_names() -> dict[str, str]:
    """Skill ids to their display names, from the library's skills catalogue."""
    return dict(skill_names_in(current_digest(CATALOGUE_IDS["skills"])))


def browse(user_id: int, filters: Filters) -> list[CatalogueItem]:
    """Active scenarios matching the filters, with this trainee's best result and running attempt."""
    entries = db.session.scalars(select(LibraryEntry).where(
        LibraryEntry.active.is_(True), LibraryEntry.kind.in_(SCENARIO_KINDS))).all()
    best = {row.content_id: row for row in db.session.scalars(
        select(BestResult).where(BestResult.user_id == user_id))}
    running = dict(db.session.execute(select(Attempt.content_id, Attempt.id).where(
        Attempt.user_id == user_id, Attempt.status == ACTIVE)).all())
    items = []
    for entry in entries:
        scenario = stored_scenario(entry.version)
        if not _matches(scenario, filters):
            continue
        result = best.get(scenario.id)
        items.append(CatalogueItem(scenario, result.points if result else None,
                                   result.outcome if result else None, running.get(scenario.id)))
    return sorted(items, key=lambda item: (item.scenario.difficulty, item.scenario.title.casefold()))


def _matches(scenario: Scenario, filters: Filters) -> bool:
    return ((filters.skill is None or filters.skill in scenario.skills)
            and (filters.difficulty is None or scenario.difficulty == filters.difficulty)
            and (filters.language is None or scenario.language == filters.language)
            and (filters.kind is None or scenario.kind == filters.kind))


def languages() -> list[str]:
    """The languages the active library is written in."""
    return sorted(db.session.scalars(
        select(ContentVersion.language).distinct().join(LibraryEntry, LibraryEntry.version_id == ContentVersion.id)
        .where(LibraryEntry.active.is_(True), LibraryEntry.kind.in_(SCENARIO_KINDS))))


@dataclass(frozen=True)
class AttemptSummary:
    """A row of the trainee's attempt history."""

    id: int
    content_id: str
    title: str
    status: str
    outcome: str
    points: int
    steps: int
    started_at: object


_ATTEMPTS, _VERSIONS = Attempt.__table__, ContentVersion.__table__
# Built once, and run on the DBAPI cursor: the dashboard shows the newest few on every visit.
_MY_ATTEMPTS = DirectStatement(lambda: (
    select(_ATTEMPTS.c.id, _ATTEMPTS.c.content_id, _VERSIONS.c.title, _ATTEMPTS.c.status, _ATTEMPTS.c.outcome,
           _ATTEMPTS.c.points, _ATTEMPTS.c.step_count, _ATTEMPTS.c.started_at)
    .join_from(_ATTEMPTS, _VERSIONS, _VERSIONS.c.id == _ATTEMPTS.c.version_id)
    .where(_ATTEMPTS.c.user_id == bindparam("user_id"))
    .order_by(_ATTEMPTS.c.started_at.desc(), _ATTEMPTS.c.id.desc()).limit(bindparam("limit"))))


def my_attempts(user_id: int, limit: int = 200) -> list[AttemptSummary]:
    """The trainee's attempts, newest first."""
    rows = _MY_ATTEMPTS.all(db.session.connection(), {"user_id": user_id, "limit": limit})
    return [AttemptSummary(*row) for row in rows]


def library_problems() -> list[LibraryProblem]:
    """Problems found at the last sync, by file and line."""
    return list(db.session.scalars(select(LibraryProblem).order_by(
        LibraryProblem.path, LibraryProblem.line, LibraryProblem.col)))
