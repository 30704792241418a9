"""What follows an event: the active day, badges awarded once when their criteria first hold, the kudos feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Mapping

from sqlalchemy import DateTime, String, bindparam, case, cast, func, insert, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError

from .catalogue import skill_names_in
from .content_sync import CATALOGUE_IDS, stored_by_hash
from . import library_version
from .database import prebuilt, upsert_insert, write
from .direct_sql import DirectStatement
from .engine.badges import Facts, Requirement, ScenarioRecord, holds, requirements
from .engine.calendar import streak
from .engine.model import Badge, Course, Scenario
from .extensions import db
from .game_rules import day_of, today
from .models import (ActivityDay, BadgeAward, BestResult, ContentVersion, CourseCompletion, KudosEvent, LessonOpen,
                     LibraryEntry, Review, SkillScore, User)
from .models.content import SCENARIO_KINDS
from .models.users import utcnow
from .points import award
from .scores import rebuild_periods, rebuild_skills_and_courses

STREAK_LOOKBACK_DAYS = 400


@dataclass(frozen=True)
class LibraryFacts:
    """What rewards and boards need from the library as it stands: scenarios, courses, badges, skill names."""

    scenarios: dict[str, Scenario]
    courses: dict[str, Course]
    badges: tuple[Badge, ...]
    versions: dict[str, int] = field(default_factory=dict)  # content id -> active version id
    skill_names: Mapping[str, str] = field(default_factory=dict)  # skill id -> display name

    def scenario_skills(self, content_id: str) -> frozenset[str]:
        """The skills a scenario trains (none for one no longer in the library)."""
        scenario = self.scenarios.get(content_id)
        return frozenset(scenario.skills) if scenario is not None else frozenset()

    def course_scenarios(self, course_id: str) -> tuple[str, ...]:
        """The scenario and case study ids a course holds, in order."""
        course = self.courses.get(course_id)
        return () if course is None else tuple(module.ref for module in course.modules if module.kind != "lesson")


@dataclass(frozen=True)
class EarnedBadge:
    """A badge just awarded, for the toast that announces it."""

    id: str
    name: str
    points: int


_ENTRIES, _VERSIONS = LibraryEntry.__table__, ContentVersion.__table__
_ACTIVE_VERSIONS = DirectStatement(lambda: (
    select(_ENTRIES.c.content_id, _ENTRIES.c.kind, _VERSIONS.c.content_hash, _ENTRIES.c.version_id,
           library_version.version_now().label("library_version"))
    .join_from(_ENTRIES, _VERSIONS, _VERSIONS.c.id == _ENTRIES.c.version_id)
    .where(_ENTRIES.c.active.is_(True)).order_by(_ENTRIES.c.content_id)))
# Library version -> the facts read under it, in this worker (a few: versions only ever move on).
_FACTS_BY_VERSION: dict[str, LibraryFacts] = {}
_VERSIONS_KEPT = 4


def library_facts() -> LibraryFacts:
    """The active library's facts: this worker's copy while the library's version is the one the request saw."""
    seen = library_version.seen_version()
    kept = _FACTS_BY_VERSION.get(seen) if seen is not None else None
    if kept is not None:
        return kept
    rows = _ACTIVE_VERSIONS.all(db.session.connection(), {})
    facts = _library_facts(tuple(row[:4] for row in rows))
    version = rows[0][4] if rows else None
    # Facts read after this session changed the library may yet be rolled back: never kept.
    if version is not None and not library_version.changed_here():
        if len(_FACTS_BY_VERSION) >= _VERSIONS_KEPT:
            _FACTS_BY_VERSION.clear()
        _FACTS_BY_VERSION[version] = facts
    return facts


@lru_cache(maxsize=16)
def _library_facts(entries: tuple[tuple[str, str, str, int], ...]) -> LibraryFacts:
    scenarios: dict[str, Scenario] = {}
    courses: dict[str, Course] = {}
    badges: tuple[Badge, ...] = ()
    skills_digest = None
    for content_id, kind, digest, _version_id in entries:
        content = stored_by_hash(kind, digest)
        if kind in SCENARIO_KINDS and isinstance(content, Scenario):
            scenarios[content_id] = content
        elif isinstance(content, Course):
            courses[content_id] = content
        elif content_id == CATALOGUE_IDS["badges"] and isinstance(content, list):
            badges = tuple(item for item in content if isinstance(item, Badge))
        elif content_id == CATALOGUE_IDS["skills"]:
            skills_digest = digest
    versions = {content_id: version_id for content_id, _, _, version_id in entries}
    return LibraryFacts(scenarios, courses, badges, versions, skill_names_in(skills_digest))


def courses_holding(content_id: str, library: LibraryFacts | None = None) -> tuple[str, ...]:
    """Ids of the active courses that include this scenario or case study."""
    library = library or library_facts()
    return tuple(course_id for course_id in library.courses if content_id in library.course_scenarios(course_id))


def streak_days(user_id: int) -> int:
    """Days in a row, up to today, with a finished attempt (yesterday keeps a streak alive until today ends)."""
    days = db.session.scalars(select(ActivityDay.day).where(ActivityDay.user_id == user_id)
                              .order_by(ActivityDay.day.desc()).limit(STREAK_LOOKBACK_DAYS)).all()
    return streak(days, today())


def completed_courses(user_id: int) -> frozenset[str]:
    """Courses the trainee has completed (every module passed; a lesson counts once opened)."""
    return frozenset(db.session.scalars(select(CourseCompletion.course_id).where(CourseCompletion.user_id == user_id)))


def course_titles(course_ids: list[str], library: LibraryFacts | None = None) -> tuple[str, ...]:
    """The titles of active courses, by id (the id itself for one no longer in the library)."""
    if not course_ids:
        return ()
    courses = (library or library_facts()).courses
    return tuple(courses[course_id].title if course_id in courses else course_id for course_id in course_ids)


def celebrate_courses(user_id: int, course_ids: list[str], library: LibraryFacts | None = None) -> None:
    """Put courses the trainee has just completed in the kudos feed; inside the completing write."""
    for course_id, title in zip(course_ids, course_titles(course_ids, library)):
        post_kudos(user_id, "course", course_id, title)


def well_graded_count(user_id: int) -> int:
    """How many of a trainee's attempts have a current grade of at least 80% of their rubric's maximum."""
    # total / max >= 4 / 5, in whole numbers so no database rounds it.
    return db.session.scalar(select(func.count()).select_from(Review).where(
        Review.trainee_id == user_id, Review.score_max > 0,
        Review.score_total * 5 >= Review.score_max * 4)) or 0


def _standing_statement() -> Any:
    """One query for all that badges and course completion ask about a trainee.

    Rows of (kind, name, detail, n, flag, description, icon, moment); a held badge's row carries its card
    (name, description, icon and when it was awarded), so that pages showing badges need no query of their own.
    """
    user_id = bindparam("user_id")
    recent_days = (select(ActivityDay.day).where(ActivityDay.user_id == user_id)
                   .order_by(ActivityDay.day.desc()).limit(STREAK_LOOKBACK_DAYS).subquery())
    nothing = cast(literal(""), String)
    no_card = (cast(null(), String), cast(null(), String), cast(null(), DateTime(timezone=True)))
    return union_all(
        select(literal("held"), BadgeAward.badge_id, BadgeAward.name, literal(0), literal(0), BadgeAward.description,
               BadgeAward.icon, BadgeAward.awarded_at)
        .where(BadgeAward.user_id == user_id),
        select(literal("best"), BestResult.content_id, nothing, case((BestResult.outcome == "passed", 1), else_=0),
               case((BestResult.perfect.is_(True), 1), else_=0), *no_card).where(BestResult.user_id == user_id),
        select(literal("skill"), SkillScore.skill_id, nothing, SkillScore.points, literal(0), *no_card)
        .where(SkillScore.user_id == user_id),
        select(literal("course"), CourseCompletion.course_id, nothing, literal(0), literal(0), *no_card)
        .where(CourseCompletion.user_id == user_id),
        select(literal("lesson"), LessonOpen.course_id, LessonOpen.lesson, literal(0), literal(0), *no_card)
        .where(LessonOpen.user_id == user_id),
        select(literal("day"), cast(recent_days.c.day, String), nothing, literal(0), literal(0), *no_card),
        select(literal("points"), nothing, nothing, User.points_total, literal(0), *no_card)
        .where(User.id == user_id),
        # total / max >= 4 / 5, in whole numbers so no database rounds it.
        select(literal("graded"), nothing, nothing, func.count(), literal(0), *no_card).select_from(Review).where(
            Review.trainee_id == user_id, Review.score_max > 0, Review.score_total * 5 >= Review.score_max * 4))


# Built once and run on the DBAPI cursor: it runs after every finished attempt, and SQLAlchemy's cache key
# for a statement this size cost more than the query.
_STANDING = DirectStatement(_standing_statement)


@dataclass(frozen=True)
class HeldBadge:
    """A badge the trainee holds, as its card shows it."""

    badge_id: str
    name: str
    description: str
    icon: str | None
    awarded_at: datetime


@dataclass(frozen=True)
class Standing:
    """The badges a trainee holds, the facts their criteria ask about, and what course completion needs."""

    held: frozenset[str]
    facts: Facts
    days: tuple[date, ...] = ()
    lessons: frozenset[tuple[str, str]] = frozenset()  # (course id, lesson) opened
    badges: tuple[HeldBadge, ...] = ()  # the held badges' cards, newest first

    @property
    def passed(self) -> frozenset[str]:
        """Scenario ids with a passed best result."""
        return frozenset(record.content_id for record in self.facts.records if record.passed)

    def with_day(self, day: date) -> Standing:
        """The standing once `day` counts as an active day."""
        days = tuple(sorted({*self.days, day}, reverse=True))
        return replace(self, days=days, facts=replace(self.facts, streak_days=streak(days, today())))

    def with_courses(self, course_ids: Iterable[str]) -> Standing:
        """The standing once these courses count as completed."""
        return replace(self, facts=replace(self.facts, courses_done=self.facts.courses_done | frozenset(course_ids)))


def standing_of(user_id: int, library: LibraryFacts) -> Standing:
    """Held badges, badge facts and course progress of one trainee, in a single query."""
    held: set[str] = set()
    records: list[ScenarioRecord] = []
    skill_totals: dict[str, int] = {}
    courses: set[str] = set()
    lessons: set[tuple[str, str]] = set()
    days: list[date] = []
    badges: list[HeldBadge] = []
    points = graded = 0
    for kind, name, detail, number, flag, description, icon, moment in _STANDING.all(db.session.connection(),
                                                                                        {"user_id": user_id}):
        if kind == "held":
            held.add(name)
            badges.append(HeldBadge(name, detail, description or "", icon, moment))
        elif kind == "best":
            records.append(ScenarioRecord(name, bool(number), bool(flag), library.scenario_skills(name)))
        elif kind == "skill":
            skill_totals[name] = number
        elif kind == "course":
            courses.add(name)
        elif kind == "lesson":
            lessons.add((name, detail))
        elif kind == "day":
            days.append(date.fromisoformat(name[:10]))
        elif kind == "points":
            points = number or 0
        elif kind == "graded":
            graded = number or 0
    days.sort(reverse=True)
    facts = Facts(tuple(records), points, skill_totals, frozenset(courses), streak(days, today()), graded)
    badges.sort(key=lambda badge: badge.badge_id)
    badges.sort(key=lambda badge: badge.awarded_at, reverse=True)  # newest first; a tie by badge id
    return Standing(frozenset(held), facts, tuple(days), frozenset(lessons), tuple(badges))


def post_kudos(user_id: int, kind: str, ref: str, text: str = "", actor_id: int | None = None) -> bool:
    """Add one event to the kudos feed unless it is already there; must run inside a write transaction."""
    try:
        with db.session.begin_nested():
            db.session.execute(insert(KudosEvent).values(user_id=user_id, kind=kind, ref=ref, text=text[:500],
                                                         actor_id=actor_id, created_at=utcnow()))
    except IntegrityError:
        return False
    return True


def award_due_badges(user_id: int, library: LibraryFacts | None = None,
                     standing: Standing | None = None) -> list[EarnedBadge]:
    """Award every badge whose criteria now hold and that the trainee lacks; each is held at most once.

    `standing`, when given, is the trainee's standing as this transaction has it now, read and kept up to date
    by the caller; otherwise it is read here.
    """
    library = library or library_facts()
    if not library.badges:
        return []
    if standing is None:
        standing = standing_of(user_id, library)
    due = [badge for badge in library.badges if badge.id not in standing.held]
    earned: list[EarnedBadge] = []
    for _ in range(3):
        if not due:
            break
        facts = standing.facts
        # A course's own `badge` is awarded when the course is completed, whatever the badge's criteria say.
        from_courses = {library.courses[course_id].badge for course_id in facts.courses_done
                        if course_id in library.courses}
        newly = [badge for badge in due if badge.id in from_courses or holds(badge.criteria, facts)]
        if not newly:
            break
        for badge in newly:
            if _hold(user_id, badge):
                earned.append(EarnedBadge(badge.id, badge.name, badge.points))
        # A badge's bonus points may bring a points badge within reach in the same event.
        due = [badge for badge in due if badge not in newly]
        standing = standing_of(user_id, library)
    return earned


def _hold(user_id: int, badge: Badge) -> bool:
    """Record one badge for the trainee; the primary key keeps a concurrent second award out."""
    try:
        with db.session.begin_nested():
            db.session.execute(insert(BadgeAward).values(
                user_id=user_id, badge_id=badge.id, name=badge.name, description=badge.description or "",
                icon=badge.icon, awarded_at=utcnow()))
    except IntegrityError:
        return False
    if badge.points:
        award(user_id, f"badge:{user_id}:{badge.id}", badge.points, f"Badge bonus: {badge.name}")
    post_kudos(user_id, "badge", badge.id, badge.name)
    return True


@prebuilt
def _active_day() -> Any:
    return upsert_insert(ActivityDay.__table__).on_conflict_do_nothing()


def record_active_day(user_id: int, moment: datetime) -> None:
    """Mark the local day of a finished attempt for the trainee's streak."""
    db.session.connection().execute(_active_day(), {"user_id": user_id, "day": day_of(moment)})


def after_finish(user_id: int, moment: datetime, library: LibraryFacts, standing: Standing) -> list[EarnedBadge]:
    """The active day and the badges a finished attempt sets off, inside its write transaction.

    `standing` is the trainee's standing read in this transaction after the attempt's result was recorded
    (with any course it completed): the day is written only when it is new, and badges are judged on it.
    """
    day = day_of(moment)
    if day not in standing.days:
        record_active_day(user_id, moment)
        standing = standing.with_day(day)
    return award_due_badges(user_id, library, standing)


def badge_progress(user_id: int, library: LibraryFacts | None = None,
                   standing: Standing | None = None) -> list[tuple[Badge, list[Requirement]]]:
    """Each badge the trainee has not earned yet, with how far along each of its requirements is."""
    library = library or library_facts()
    standing = standing or standing_of(user_id, library)
    return [(badge, requirements(badge.criteria, standing.facts)) for badge in library.badges
            if badge.id not in standing.held]


def rebuild_boards() -> None:
    """Recompute the weekly, monthly, skill and course scores (after a time zone or week-start change)."""
    def run() -> None:
        library = library_facts()
        rebuild_periods()
        rebuild_skills_and_courses({course_id: list(library.course_scenarios(course_id))
                                    for course_id in library.courses})
    write(run)
