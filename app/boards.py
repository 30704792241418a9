"""Leaderboards read from running scores: top ranks, the viewer's own rank and neighbours, ties by who was first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.sql import ColumnElement, Select

from . import clock
from .database import is_sqlite, upsert_insert, write
from .extensions import db
from .game_rules import period_of
from .models import AppSetting, CourseScore, PeriodScore, SkillScore, TeamMember, User

MODES = ("on", "anonymous", "off")
MODE_SETTING = "leaderboards"
WINDOWS = ("all", "week", "month")


@dataclass(frozen=True)
class BoardQuery:
    """Which board: a time window of points, or a course's or a skill's totals, optionally within one team."""

    window: str = "all"
    team_id: int | None = None
    course_id: str | None = None
    skill_id: str | None = None


@dataclass(frozen=True)
class Row:
    """One ranked trainee as the viewer may see them."""

    rank: int
    user_id: int
    name: str | None
    points: int
    is_viewer: bool = False


@dataclass(frozen=True)
class Board:
    """A board as one viewer sees it: the top, the viewer's place (even if hidden), and the trainees around it."""

    query: BoardQuery
    mode: str
    top: list[Row] = field(default_factory=list)
    viewer: Row | None = None
    viewer_hidden: bool = False
    above: list[Row] = field(default_factory=list)
    below: list[Row] = field(default_factory=list)


def board_mode() -> str:
    """Whether boards are on, anonymous (every name but the viewer's hidden) or off; admins choose."""
    value = db.session.scalar(select(AppSetting.value).where(AppSetting.key == MODE_SETTING))
    return value if value in MODES else "on"


def set_board_mode(mode: str) -> None:
    """Switch the boards on, off, or to anonymous, for every worker at once."""
    if mode not in MODES:
        raise ValueError(f"unknown leaderboard mode {mode!r}")

    def run() -> None:
        statement = upsert_insert(AppSetting).values(key=MODE_SETTING, value=mode)
        db.session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": mode}))
    write(run)


@dataclass(frozen=True)
class _Source:
    """Where a board's rows come from: its score columns, the rows it ranks, and its own scores table's rows."""

    score: Any
    reached: Any
    owner: Any  # the ranked trainee's id in the scores table
    base: Select[Any]
    # The board's score rows without looking up their users, for a board with a table of its own (None otherwise).
    scores: Select[Any] | None


def _source(query: BoardQuery) -> _Source:
    """The score and reached-at columns for a board, and the rows it ranks (active, scoring trainees)."""
    if query.course_id is not None:
        model: Any = CourseScore
        scope = [CourseScore.course_id == query.course_id]
    elif query.skill_id is not None:
        model = SkillScore
        scope = [SkillScore.skill_id == query.skill_id]
    elif query.window in ("week", "month"):
        model = PeriodScore
        scope = [PeriodScore.period == query.window, PeriodScore.starts == period_of(query.window, clock.now())]
    else:
        model, scope = User, [User.role == "trainee"]
    if model is User:
        score, reached, owner = User.points_total, User.points_reached_at, User.id
        base, scores = select().select_from(User).where(*scope), None
    else:
        score, reached, owner = model.points, model.reached_at, model.user_id
        base = select().select_from(model).join(User, User.id == owner).where(*scope, User.role == "trainee")
        scores = select().select_from(model).where(*scope, score > 0)
    base = base.where(User.active.is_(True), score > 0)
    if query.team_id is not None:
        base = base.join(TeamMember, and_(TeamMember.user_id == User.id, TeamMember.team_id == query.team_id))
        scores = None
    return _Source(score, reached, owner, base, scores)


def _ahead_of(source: _Source, points: int, reached_at: Any, user_id: int) -> ColumnElement[bool]:
    """Rows ranked before a given one: more points, or the same points reached earlier."""
    score, reached = source.score, source.reached
    # The plain `score >= points` is redundant but lets the board's index start at the viewer instead of the end.
    return and_(score >= points, or_(score > points, and_(score == points, or_(
        reached < reached_at, and_(reached == reached_at, source.owner < user_id)))))


def _behind(source: _Source, points: int, reached_at: Any, user_id: int) -> ColumnElement[bool]:
    """Rows ranked after a given one: fewer points, or the same points reached later."""
    score, reached = source.score, source.reached
    return and_(score <= points, or_(score < points, and_(score == points, or_(
        reached > reached_at, and_(reached == reached_at, source.owner > user_id)))))


def _public_ahead(source: _Source, public: Select[Any], ahead: ColumnElement[bool]) -> int:
    """How many trainees on the public board rank before the viewer."""
    if source.scores is None or not is_sqlite(db.engine):
        # PostgreSQL hash-joins the scores ahead with the users in one pass: the plain count is its fastest.
        return db.session.scalar(public.add_columns(func.count()).where(ahead)) or 0
    # SQLite joins row by row, one user lookup per score ahead, while counting along the board's own index costs
    # little: so count all the scores ahead, then take away those of the few users off the public board
    # (hidden, inactive, not trainees).
    scored = db.session.scalar(source.scores.add_columns(func.count()).where(ahead)) or 0
    off_board = or_(User.role != "trainee", User.active.is_(False), User.leaderboard_hidden.is_(True))
    # A correlated count, so each off-board user costs one primary-key lookup rather than a second range scan.
    theirs = source.scores.add_columns(func.count()).where(ahead, source.owner == User.id).scalar_subquery()
    left_out = db.session.scalar(select(func.count()).select_from(User).where(off_board, theirs > 0)) or 0
    return scored - left_out


def leaderboard(query: BoardQuery, viewer_id: int) -> Board:
    """The board for one viewer: the top ranks, their own rank and the trainees just above and below."""
    mode = board_mode()
    if mode == "off":
        return Board(query, mode)
    size = int(current_app.config["LEADERBOARD_SIZE"])
    neighbours = int(current_app.config["LEADERBOARD_NEIGHBOURS"])
    source = _source(query)
    score, reached = source.score, source.reached
    public = source.base.where(User.leaderboard_hidden.is_(False))
    columns = (User.id, User.display_name, score, reached)
    top_rows = db.session.execute(public.add_columns(*columns).order_by(score.desc(), reached, User.id)
                                  .limit(size)).all()

    def shown(rank: int, row: Any) -> Row:
        mine = row.id == viewer_id
        return Row(rank, row.id, row.display_name if mine or mode == "on" else None, row[2], mine)

    top = [shown(index + 1, row) for index, row in enumerate(top_rows)]
    mine = db.session.execute(source.base.add_columns(*columns, User.leaderboard_hidden)
                              .where(User.id == viewer_id)).first()
    if mine is None:
        return Board(query, mode, top)
    ahead = _ahead_of(source, mine[2], mine[3], viewer_id)
    rank = _public_ahead(source, public, ahead) + 1
    hidden = bool(mine.leaderboard_hidden)
    above_rows = db.session.execute(public.add_columns(*columns).where(ahead)
                                    .order_by(score, reached.desc(), User.id.desc()).limit(neighbours)).all()
    behind = _behind(source, mine[2], mine[3], viewer_id)
    below_rows = db.session.execute(public.add_columns(*columns).where(behind)
                                    .order_by(score.desc(), reached, User.id).limit(neighbours)).all()
    # A hidden viewer is not on the public board, so the trainees after them keep their public ranks.
    first_below = rank if hidden else rank + 1
    return Board(query, mode, top, Row(rank, viewer_id, mine.display_name, mine[2], True), hidden,
                 [shown(rank - index - 1, row) for index, row in enumerate(above_rows)][::-1],
                 [shown(first_below + index, row) for index, row in enumerate(below_rows)])

