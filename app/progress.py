"""A trainee's own progress: dashboard, badges, points history, the next scenario to try, the kudos feed.

These pages are read far more often than anything on them changes, so each reads with a few statements built
once (a statement costs more to build than to run), and rows come back as plain values, not ORM objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import AbstractSet, Any, Mapping

from sqlalchemy import String, bindparam, cast, exists, func, literal_column, select

from . import board_cache
from .boards import known_mode, mode_now, settings_and_cached
from .catalogue import AttemptSummary, my_attempts
from .clock import aware
from .database import write
from .direct_sql import DirectStatement
from .engine.badges import Requirement
from .engine.levels import LevelProgress
from .engine.model import Badge, Scenario
from .extensions import db
from .game_rules import level_for
from .models import KudosEvent, PointsEntry, TeamMember, User
from .rewards import HeldBadge, LibraryFacts, badge_progress, library_facts, standing_of
from .teams import TeamName, visible_teams

HISTORY_PAGE = 50
FEED_SIZE = 50
DASHBOARD_BADGES = 6
DASHBOARD_ATTEMPTS = 5
# Up to this many members, a team's feed reads each member's events by the author index (all of them, then
# sorts); a bigger team's page turns up sooner walking everyone's events newest first, which reads about
# FEED_SIZE x (everyone's events / the team's) of them. With 10,000 trainees the two cost alike near 100.
MEMBER_BY_MEMBER_UP_TO = 100


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
    badges: list[HeldBadge]
    skills: list[SkillBar]
    recent: list[AttemptSummary]
    next_up: Recommendation | None


@dataclass(frozen=True)
class BadgeShelf:
    """The badges page: badges held, newest first, those still to earn with progress, and skill names."""

    held: list[HeldBadge]
    locked: list[tuple[Badge, list[Requirement]]]
    skill_names: dict[str, str]


@dataclass(frozen=True)
class LedgerRow:
    """One row of the points history."""

    id: int
    amount: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class HistoryPage:
    """A page of the trainee's ledger, newest first, with the total it sums to."""

    entries: list[LedgerRow]
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


@dataclass(frozen=True)
class Feed:
    """The kudos feed as one viewer opened it, with the teams they may narrow it to."""

    items: list[FeedItem]
    teams: list[TeamName]
    team_id: int | None


# Page sizes go into the SQL as numbers where the best plan does not depend on the values bound: PostgreSQL then
# plans such a statement once and reuses the plan; with the size a parameter, it plans every execution afresh.
_FEED_SIZE, _HISTORY_ROWS = literal_column(str(FEED_SIZE)), literal_column(str(HISTORY_PAGE + 1))
def badge_shelf(user_id: int) -> BadgeShelf:
    """The badges a trainee holds and those still to earn, with their progress on every requirement."""
    library = library_facts()
    standing = standing_of(user_id, library)
    return BadgeShelf(list(standing.badges), badge_progress(user_id, library, standing), dict(library.skill_names))


def skill_profile(totals: dict[str, int], names: Mapping[str, str]) -> list[SkillBar]:
    """Every catalogue skill with the trainee's total over their best attempts (0 when untrained)."""
    ids = list(names) + sorted(skill for skill in totals if skill not in names)
    return [SkillBar(skill, names.get(skill, skill), int(totals.get(skill, 0))) for skill in ids]


def recommend(library: LibraryFacts, passed: AbstractSet[str], skills: list[SkillBar]) -> Recommendation | None:
    """An unpassed scenario training the weakest skill that has one; easier and shorter ones first."""
    candidates = [scenario for content_id, scenario in library.scenarios.items() if content_id not in passed]
    for bar in sorted(skills, key=lambda bar: (bar.points, bar.name)):
        training = [scenario for scenario in candidates if bar.id in scenario.skills]
        if training:
            best = min(training, key=lambda scenario: (scenario.difficulty, scenario.minutes or 0, scenario.id))
            return Recommendation(best, bar.name)
    return None


def dashboard(user: User) -> Dashboard:
    """A trainee's dashboard: skills, streak and passed scenarios come from one standing query."""
    library = library_facts()
    standing = standing_of(user.id, library)
    facts = standing.facts
    points = int(user.points_total or 0)
    skills = skill_profile(dict(facts.skill_totals), library.skill_names)
    return Dashboard(points, level_for(points), facts.streak_days, list(standing.badges[:DASHBOARD_BADGES]), skills,
                     my_attempts(user.id, DASHBOARD_ATTEMPTS), recommend(library, standing.passed, skills))


_LEDGER = PointsEntry.__table__
_NEWEST_ROWS = (select(_LEDGER.c.id, _LEDGER.c.amount, _LEDGER.c.reason, _LEDGER.c.created_at)
                .where(_LEDGER.c.user_id == bindparam("user_id"))
                .order_by(_LEDGER.c.id.desc()).limit(_HISTORY_ROWS))
_ROWS_BEFORE = _NEWEST_ROWS.where(_LEDGER.c.id < bindparam("before"))
# Run on the DBAPI cursor: a trainee opens their history often, and these are its only statements.
_NEWEST_ROWS_DIRECT, _ROWS_BEFORE_DIRECT = DirectStatement(lambda: _NEWEST_ROWS), DirectStatement(lambda: _ROWS_BEFORE)


def points_history(user: User, before: int | None = None) -> HistoryPage:
    """One page of the trainee's ledger rows, newest first, paged by row id; the total is the user's own."""
    statement, values = (_NEWEST_ROWS_DIRECT, {"user_id": user.id}) if before is None \
        else (_ROWS_BEFORE_DIRECT, {"user_id": user.id, "before": before})
    rows = [LedgerRow(*row) for row in statement.all(db.session.connection(), values)]
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    return HistoryPage(rows, int(user.points_total or 0), rows[-1].id if more else None)


def set_hidden(user_id: int, hidden: bool) -> None:
    """Keep a trainee off (or put them back on) the public boards and the kudos feed."""
    def run() -> None:
        db.session.execute(User.__table__.update().where(User.id == user_id).values(leaderboard_hidden=hidden))
        board_cache.bump_version()
    write(run)


_EVENTS, _USERS, _MEMBERS = KudosEvent.__table__, User.__table__, TeamMember.__table__
_SHOWN, _AUTHORS, _ACTORS = _USERS.alias("shown"), _USERS.alias("authors"), _USERS.alias("actors")
_TEAM_IDS = bindparam("team_ids", expanding=True)
_NEWEST_FIRST = (_EVENTS.c.created_at.desc(), _EVENTS.c.id.desc())
# Active trainees who have not hidden their name.
_SHOWN_AUTHOR = exists().where(_SHOWN.c.id == _EVENTS.c.user_id, _SHOWN.c.role == "trainee",
                               _SHOWN.c.leaderboard_hidden.is_(False), _SHOWN.c.active.is_(True))
_EVENT_IDS = select(_EVENTS.c.id).order_by(*_NEWEST_FIRST)
_EVERYONES_PAGE = _EVENT_IDS.where(_SHOWN_AUTHOR).limit(_FEED_SIZE)
# A correlated test per event keeps the newest-first index the way in (given a list of members, SQLite would
# rather start from them and sort all their events); the cheap membership test goes before the author's.
_BIG_TEAMS_PAGE = _EVENT_IDS.where(exists().where(_MEMBERS.c.user_id == _EVENTS.c.user_id,
                                                  _MEMBERS.c.team_id.in_(_TEAM_IDS)), _SHOWN_AUTHOR).limit(_FEED_SIZE)
# The members first, then each one's events by the author index. The size stays a parameter here, so that
# PostgreSQL plans for each team as it comes (for a team of three it could otherwise reuse a walk of everyone's).
_SMALL_TEAMS_PAGE = _EVENT_IDS.where(_EVENTS.c.user_id.in_(
    select(_MEMBERS.c.user_id).where(_MEMBERS.c.team_id.in_(_TEAM_IDS))), _SHOWN_AUTHOR).limit(FEED_SIZE)
_MEMBERS_IN = select(func.count()).select_from(_MEMBERS).where(_MEMBERS.c.team_id.in_(_TEAM_IDS))


def _feed_rows(page: Any) -> Any:
    """The events of a page of ids, newest first, with their author's and any mentor's name."""
    # The board mode comes along on every row: an anonymous board hides names in the feed too.
    return (select(_EVENTS.c.id, _EVENTS.c.user_id, _EVENTS.c.kind, _EVENTS.c.ref, _EVENTS.c.text,
                   _EVENTS.c.created_at, _AUTHORS.c.display_name, _ACTORS.c.display_name.label("actor"),
                   mode_now().label("mode"))
            .join_from(_EVENTS, _AUTHORS, _AUTHORS.c.id == _EVENTS.c.user_id)
            .outerjoin(_ACTORS, _ACTORS.c.id == _EVENTS.c.actor_id)
            .where(_EVENTS.c.id.in_(page)).order_by(*_NEWEST_FIRST))


_EVERYONES_FEED = _feed_rows(_EVERYONES_PAGE)
_BIG_TEAMS_FEED = _feed_rows(_BIG_TEAMS_PAGE)
_SMALL_TEAMS_FEED = _feed_rows(_SMALL_TEAMS_PAGE)
# The viewer's newest events, by the author index: a cached feed shows their news at once all the same.
OWN_NEWS = 10
_VIEWERS_NEWEST = _EVENT_IDS.where(_EVENTS.c.user_id == bindparam("viewer")).limit(literal_column(str(OWN_NEWS)))
_OWN_PAGE = _VIEWERS_NEWEST.where(_SHOWN_AUTHOR)
_OWN_FEED = _feed_rows(_OWN_PAGE)
# The same events read with the cached feed: the moment of the newest, and all their ids, tell whether any may be
# missing from it.
_NEWEST_OWN_EVENTS = _VIEWERS_NEWEST.add_columns(_EVENTS.c.created_at).subquery()
_NEWEST_OWN = (select(func.max(_NEWEST_OWN_EVENTS.c.created_at)).scalar_subquery().label("newest_at"),
               select(func.aggregate_strings(cast(_NEWEST_OWN_EVENTS.c.id, String), ","))
               .scalar_subquery().label("own_ids"))
_OWN_FEED_IN_TEAMS = _feed_rows(_OWN_PAGE.where(exists().where(
    _MEMBERS.c.user_id == _EVENTS.c.user_id, _MEMBERS.c.team_id.in_(_TEAM_IDS))))


@dataclass(frozen=True)
class _FeedEvent:
    """One event of a feed as computed (and cached) for every viewer: names are hidden per viewer later."""

    id: int
    author_id: int
    kind: str
    ref: str
    text: str
    created_at: datetime
    name: str
    actor: str | None

    def as_json(self) -> list[Any]:
        """The event as the shared cache keeps it."""
        return [self.id, self.author_id, self.kind, self.ref, self.text, self.created_at.isoformat(), self.name,
                self.actor]

    @classmethod
    def from_json(cls, value: list[Any]) -> _FeedEvent:
        """An event read back from the shared cache."""
        event_id, author_id, kind, ref, text, created_at, name, actor = value
        return cls(event_id, author_id, kind, ref, text, datetime.fromisoformat(created_at), name, actor)


def kudos_feed(user: User, team_ids: list[int] | None, memberships: int | None = None) -> list[FeedItem]:
    """The newest successes of these teams' members (of every trainee for None); hidden trainees never appear.

    `memberships`, when the caller knows it, is how many members the teams have together (counted otherwise).
    The feed is computed once for everyone and kept in the boards' shared cache for `BOARD_CACHE_SECONDS`,
    retired at once by whatever retires the boards (hiding, teams, roles, the board mode); the viewer's newest
    events are read fresh and merged in, so a badge just earned shows at once.
    """
    if not board_cache.lifetime():
        events, mode = _computed_feed(team_ids, memberships)
    else:
        scope = "all" if team_ids is None else ",".join(str(team_id) for team_id in sorted(team_ids))
        rest_of_key = f"feed|{scope}"
        mode, key_start, cached, (newest_at, own_ids) = settings_and_cached(
            rest_of_key, _NEWEST_OWN, {"viewer": user.id})
        if cached is None:
            events, _mode = _computed_feed(team_ids, memberships)
            board_cache.store({key_start + rest_of_key: [event.as_json() for event in events]})
        else:
            events = list(_cached_events(cached))
            if _may_lack_own_news(events, newest_at, own_ids):
                events = _with_own_events(events, user, team_ids)
    # Anonymous boards hide every trainee's name but the viewer's; the feed follows the same choice.
    return [FeedItem(event.kind, event.ref, event.text,
                     None if known_mode(mode) == "anonymous" and event.author_id != user.id else event.name,
                     event.actor, event.created_at)
            for event in events]


@lru_cache(maxsize=32)
def _cached_events(cached: str) -> tuple[_FeedEvent, ...]:
    """The events of a feed as the shared cache keeps it (JSON), read once per worker while it is served."""
    return tuple(_FeedEvent.from_json(value) for value in json.loads(cached))


def _computed_feed(team_ids: list[int] | None, memberships: int | None) -> tuple[list[_FeedEvent], str | None]:
    """The feed's events read from the events themselves, and the board mode read along."""
    connection = db.session.connection()
    if team_ids is None:
        rows = connection.execute(_EVERYONES_FEED).all()
    else:
        members = memberships if memberships is not None else \
            connection.execute(_MEMBERS_IN, {"team_ids": team_ids}).scalar() or 0
        statement = _SMALL_TEAMS_FEED if members <= MEMBER_BY_MEMBER_UP_TO else _BIG_TEAMS_FEED
        rows = connection.execute(statement, {"team_ids": team_ids}).all()
    # Every row carries the mode; an empty feed has no name to hide.
    return [_FeedEvent(*row[:-1]) for row in rows], rows[0].mode if rows else None


def _may_lack_own_news(events: list[_FeedEvent], newest_at: datetime, own_ids: str | None) -> bool:
    """Whether any of the viewer's newest events (read along with the cache) could be missing from a cached feed.

    Not when they have none, when all of them are there, or when even the newest is older than every event
    of a full feed (so none could make the cut). Events are compared by their moments, not by the order their
    transactions committed in, so an event that committed after the feed was cached still shows at once.
    """
    if not own_ids:
        return False
    known = {event.id for event in events}
    if all(int(event_id) in known for event_id in own_ids.split(",")):
        return False
    if len(events) < FEED_SIZE:
        return True
    return aware(newest_at) >= aware(events[-1].created_at)


def _with_own_events(events: list[_FeedEvent], user: User, team_ids: list[int] | None) -> list[_FeedEvent]:
    """A cached feed with the viewer's newest own events added (those it lacks), newest first.

    Events are never taken back, and whatever would take one off the feed (hiding, teams, roles,
    deactivation) retires the cached feed, so the cached ones still hold; only the viewer's news is missing.
    """
    if user.role != "trainee" or user.leaderboard_hidden:
        return events
    values: dict[str, Any] = {"viewer": user.id}
    statement = _OWN_FEED
    if team_ids is not None:
        statement, values["team_ids"] = _OWN_FEED_IN_TEAMS, team_ids
    known = {event.id for event in events}
    news = [_FeedEvent(*row[:-1]) for row in db.session.connection().execute(statement, values) if row[0] not in known]
    if not news:
        return events
    merged = events + news
    merged.sort(key=lambda event: (event.created_at, event.id), reverse=True)
    return merged[:FEED_SIZE]


def team_feed(user: User, team_id: int | None = None) -> Feed:
    """The feed of one of the viewer's visible teams, else of their own teams (everyone's when they have none,
    and for mentors and trainers); LookupError for a team they may not see."""
    sees_every_team = user.has_role("mentor", "trainer")
    # A trainee's teams come with their sizes, which pick the feed's plan: no separate count.
    teams = visible_teams(user, count_members=not sees_every_team)
    if team_id is not None:
        if team_id not in {team.id for team in teams}:
            raise LookupError("no such team")
        scope: list[int] | None = [team_id]
    elif teams and not sees_every_team:
        scope = [team.id for team in teams]
    else:
        scope = None
    memberships = None if scope is None or sees_every_team else \
        sum(team.members or 0 for team in teams if team.id in scope)
    return Feed(kudos_feed(user, scope, memberships), teams, team_id)
