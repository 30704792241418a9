"""A trainee's own progress: dashboard, badges, points history, the next scenario to try, the kudos feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from . import board_cache
from .boards import board_mode
from .catalogue import AttemptSummary, my_attempts, skill_names
from .database import write
from .engine.badges import Requirement
from .engine.levels import LevelProgress
from .engine.model import Badge, Scenario
from .extensions import db
from .game_rules import level_for
from .models import BadgeAward, BestResult, KudosEvent, PointsEntry, SkillScore, TeamMember, User
from .rewards import badge_progress, library_facts, streak_days

HISTORY_PAGE = 50
FEED_SIZE = 50


@dataclass(frozen=True)
class SkillBar:
    """One skill on the trainee's profile chart."""

    id: str
    name: str
    points: int


@dataclass(frozen=True)
class Recommendation:
    """The next scenario to try: one the trainee has not passed that trains their weakest skill."""

    scenario: Scenario
    skill_name: str


@dataclass(frozen=True)
class Dashboard:
    """Everything on a trainee's dashboard."""

    points: int
    level: LevelProgress
    streak: int
    badges: list[BadgeAward]
    skills: list[SkillBar]
    recent: list[AttemptSummary]
    next_up: Recommendation | None


@dataclass(frozen=True)
class HistoryPage:
    """A page of the trainee's ledger, newest first, with the total it sums to."""

    entries: list[PointsEntry]
    total: int
    next_before: int | None


@dataclass(frozen=True)
class FeedItem:
    """One kudos event as the feed shows it."""

    kind: str
    ref: str
    text: str
    name: str | None
    actor: str | None
    created_at: datetime


def held_badges(user_id: int) -> list[BadgeAward]:
    """The badges a trainee holds, newest first."""
    return list(db.session.scalars(select(BadgeAward).where(BadgeAward.user_id == user_id)
                                   .order_by(BadgeAward.awarded_at.desc(), BadgeAward.badge_id)))


def locked_badges(user_id: int) -> list[tuple[Badge, list[Requirement]]]:
    """The badges still to earn, each with the trainee's progress on every requirement."""
    return badge_progress(user_id)


def skill_profile(user_id: int) -> list[SkillBar]:
    """Every catalogue skill with the trainee's total over their best attempts (0 when untrained)."""
    names = skill_names()
    totals = dict(db.session.execute(select(SkillScore.skill_id, SkillScore.points)
                                     .where(SkillScore.user_id == user_id)).all())
    ids = list(names) + sorted(skill for skill in totals if skill not in names)
    return [SkillBar(skill, names.get(skill, skill), int(totals.get(skill, 0))) for skill in ids]


def recommend(user_id: int, skills: list[SkillBar]) -> Recommendation | None:
    """An unpassed scenario training the weakest skill that has one; easier and shorter ones first."""
    library = library_facts()
    passed = set(db.session.scalars(select(BestResult.content_id).where(
        BestResult.user_id == user_id, BestResult.outcome == "passed")))
    candidates = [scenario for content_id, scenario in library.scenarios.items() if content_id not in passed]
    for bar in sorted(skills, key=lambda bar: (bar.points, bar.name)):
        training = [scenario for scenario in candidates if bar.id in scenario.skills]
        if training:
            best = min(training, key=lambda scenario: (scenario.difficulty, scenario.minutes or 0, scenario.id))
            return Recommendation(best, bar.name)
    return None


def dashboard(user: User) -> Dashboard:
    """A trainee's dashboard in a few indexed queries."""
    points = int(user.points_total or 0)
    skills = skill_profile(user.id)
    return Dashboard(points, level_for(points), streak_days(user.id), held_badges(user.id)[:6], skills,
                     my_attempts(user.id, 5), recommend(user.id, skills))


def points_history(user_id: int, before: int | None = None) -> HistoryPage:
    """One page of the trainee's ledger rows, newest first, paged by row id."""
    query = select(PointsEntry).where(PointsEntry.user_id == user_id)
    if before is not None:
        query = query.where(PointsEntry.id < before)
    rows = list(db.session.scalars(query.order_by(PointsEntry.id.desc()).limit(HISTORY_PAGE + 1)))
    total = db.session.scalar(select(User.points_total).where(User.id == user_id)) or 0
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    return HistoryPage(rows, int(total), rows[-1].id if more else None)


def set_hidden(user_id: int, hidden: bool) -> None:
    """Keep a trainee off (or put them back on) the public boards and the kudos feed."""
    def run() -> None:
        db.session.execute(User.__table__.update().where(User.id == user_id).values(leaderboard_hidden=hidden))
        board_cache.bump_version()
    write(run)



def kudos_feed(user: User, team_id: int | None = None) -> list[FeedItem]:
    """Recent successes from the viewer's teams (everyone when they have none); hidden trainees never appear."""
    query = (select(KudosEvent, User.display_name).join(User, User.id == KudosEvent.user_id)
             .where(User.role == "trainee", User.leaderboard_hidden.is_(False), User.active.is_(True)))
    if team_id is not None:
        members = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
        query = query.where(KudosEvent.user_id.in_(members))
    elif not user.has_role("mentor", "trainer"):
        own = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
        if db.session.scalar(own.limit(1)) is not None:
            members = select(TeamMember.user_id).where(TeamMember.team_id.in_(own))
            query = query.where(KudosEvent.user_id.in_(members))
    rows = db.session.execute(query.order_by(KudosEvent.created_at.desc(), KudosEvent.id.desc())
                              .limit(FEED_SIZE)).all()
    actor_ids = {event.actor_id for event, _ in rows if event.actor_id is not None}
    actors = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all()) \
        if actor_ids else {}
    # Anonymous boards hide every trainee's name but the viewer's; the feed follows the same choice.
    anonymous = board_mode() == "anonymous"
    return [FeedItem(event.kind, event.ref, event.text,
                     None if anonymous and event.user_id != user.id else name,
                     actors.get(event.actor_id), event.created_at)
            for event, name in rows]
