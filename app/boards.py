"""Leaderboards read from running scores: top ranks, the viewer's own rank and neighbours, ties by who was first."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from . import board_cache, clock
from .database import is_sqlite, upsert_insert, write
from .direct_sql import DirectStatement
from .extensions import db
from .game_rules import period_of
from .models import AppSetting, CourseScore, PeriodScore, SkillScore, TeamMember, User

MODES = ("on", "anonymous", "off")
MODE_SETTING = "leaderboards"
WINDOWS = ("all", "week", "month")

_SETTINGS = AppSetting.__table__
_MODE_NOW = select(_SETTINGS.c.value).where(_SETTINGS.c.key == MODE_SETTING).scalar_subquery()
_VERSION_NOW = select(_SETTINGS.c.value).where(_SETTINGS.c.key == board_cache.VERSION_SETTING).scalar_subquery()
_MODE = select(_MODE_NOW)


def mode_now() -> Any:
    """The stored board mode as a scalar subquery, to read along with another statement (then `known_mode`)."""
    return _MODE_NOW


# How every cache key of a board starts: "version|mode|". Built in SQL only, and read back with the board's
# settings, so the keys a read looks up and the keys a store writes cannot drift apart.
# (The mode is matched one value at a time rather than by IN, whose list SQLAlchemy expands per execution.)
_CACHE_KEY_START = (func.coalesce(_VERSION_NOW, "0") + "|"
                    + case(*((_MODE_NOW == mode, mode) for mode in MODES), else_="on") + "|")
# For a viewer off the board: the settings, and the board's cached top.
_SETTINGS_AND_TOP = select(
    _MODE_NOW.label("mode"), _CACHE_KEY_START.label("key_start"),
    board_cache.stored_under(_CACHE_KEY_START + bindparam("top_key")).label("top"))


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


def known_mode(value: str | None) -> str:
    """The stored mode, or "on" when none (or an unknown one) is stored."""
    return value if value in MODES else "on"


@lru_cache(maxsize=None)
def _settings_and_top_with(along: tuple[ColumnElement[Any], ...]) -> Select[Any]:
    return _SETTINGS_AND_TOP.add_columns(*along)


def settings_and_cached(rest_of_key: str, along: tuple[ColumnElement[Any], ...] = (),
                        values: Mapping[str, Any] | None = None) -> tuple[str, str, str | None, tuple[Any, ...]]:
    """The board mode, the cache keys' start, the JSON text cached under that start + `rest_of_key` (or None),
    and the values of the columns `along` (module constants, bound by `values`), all in one statement.

    For a computed list other than a board (the kudos feed) that the same version and mode retire.
    """
    row = db.session.connection().execute(_settings_and_top_with(along),
                                          {**(values or {}), "now": clock.now(), "top_key": rest_of_key}).one()
    return known_mode(row[0]), row[1], row[2], tuple(row[3:])


def board_mode() -> str:
    """Whether boards are on, anonymous (every name but the viewer's hidden) or off; admins choose."""
    return known_mode(db.session.connection().execute(_MODE).scalar())


def set_board_mode(mode: str) -> None:
    """Switch the boards on, off, or to anonymous, for every worker at once."""
    if mode not in MODES:
        raise ValueError(f"unknown leaderboard mode {mode!r}")

    def run() -> None:
        statement = upsert_insert(AppSetting).values(key=MODE_SETTING, value=mode)
        db.session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": mode}))
        board_cache.bump_version()
    write(run)


@dataclass(frozen=True)
class _Statements:
    """One kind of board's queries, built once; bind parameters carry its scope, the viewer and the sizes."""

    top: Select[Any]  # the public board, best first, :size rows
    # The viewer's own row, hidden or not, with the board mode and cached parts: (mode, name, points, reached_at,
    # hidden, key_start, top, place). Run on every board read, so on the DBAPI cursor.
    standing: DirectStatement
    public_ahead: Select[Any]  # how many public rows rank before :points, :reached_at, :viewer_id
    # For boards with a scores table of their own, on SQLite: every score ahead, and the off-board users among them.
    scored_ahead: Select[Any] | None
    off_board_ahead: Select[Any] | None
    above: Select[Any]  # :neighbours public rows just before the viewer, nearest first
    below: Select[Any]  # :neighbours public rows just after the viewer, nearest first


def _ahead_of(score: Any, reached: Any, owner: Any) -> ColumnElement[bool]:
    """Rows ranked before the viewer's: more points, or the same points reached earlier."""
    points, reached_at, viewer = bindparam("points"), bindparam("reached_at"), bindparam("viewer_id")
    # The plain `score >= points` is redundant but lets the board's index start at the viewer instead of the end.
    return and_(score >= points, or_(score > points, and_(score == points, or_(
        reached < reached_at, and_(reached == reached_at, owner < viewer)))))


def _behind(score: Any, reached: Any, owner: Any) -> ColumnElement[bool]:
    """Rows ranked after the viewer's: fewer points, or the same points reached later."""
    points, reached_at, viewer = bindparam("points"), bindparam("reached_at"), bindparam("viewer_id")
    return and_(score <= points, or_(score < points, and_(score == points, or_(
        reached > reached_at, and_(reached == reached_at, owner > viewer)))))


@lru_cache(maxsize=None)
def _statements(kind: str, in_team: bool) -> _Statements:
    """The queries of a points, period, course or skill board, over everyone or within :team_id."""
    model: Any = {"points": User, "period": PeriodScore, "course": CourseScore, "skill": SkillScore}[kind]
    scope = {"points": lambda: [User.role == "trainee"],
             "period": lambda: [PeriodScore.period == bindparam("period"), PeriodScore.starts == bindparam("starts")],
             "course": lambda: [CourseScore.course_id == bindparam("course_id")],
             "skill": lambda: [SkillScore.skill_id == bindparam("skill_id")]}[kind]()
    if model is User:
        score, reached, owner = User.points_total, User.points_reached_at, User.id
        base, scores = select().select_from(User).where(*scope), None
    else:
        score, reached, owner = model.points, model.reached_at, model.user_id
        base = select().select_from(model).join(User, User.id == owner).where(*scope, User.role == "trainee")
        scores = select().select_from(model).where(*scope, score > 0)
    base = base.where(User.active.is_(True), score > 0)
    if in_team:
        base = base.join(TeamMember, and_(TeamMember.user_id == User.id, TeamMember.team_id == bindparam("team_id")))
        scores = None
    public = base.where(User.leaderboard_hidden.is_(False))
    columns = (User.id, User.display_name, score)
    ahead, behind = _ahead_of(score, reached, owner), _behind(score, reached, owner)
    scored_ahead = off_board_ahead = None
    if scores is not None:
        # SQLite joins row by row, one user lookup per score ahead, while counting along the board's own index
        # costs little: so count all the scores ahead, then take away those of the few users off the public
        # board (hidden, inactive, not trainees).
        scored_ahead = scores.add_columns(func.count()).where(ahead)
        off_board = or_(User.role != "trainee", User.active.is_(False), User.leaderboard_hidden.is_(True))
        # A correlated count, so each off-board user costs one primary-key lookup rather than a second range scan.
        theirs = scores.add_columns(func.count()).where(ahead, owner == User.id).scalar_subquery()
        off_board_ahead = select(func.count()).select_from(User).where(off_board, theirs > 0)
    return _Statements(
        top=public.add_columns(*columns).order_by(score.desc(), reached, User.id).limit(bindparam("size")),
        # The mode and the cache keys' start ride along with the viewer's row, and so do the board's cached top
        # and the viewer's cached place: one round trip serves a board read whose parts are cached.
        standing=DirectStatement(lambda: base.add_columns(
            _MODE_NOW.label("mode"), User.display_name, score.label("points"), reached.label("reached_at"),
            User.leaderboard_hidden, _CACHE_KEY_START.label("key_start"),
            board_cache.stored_under(_CACHE_KEY_START + bindparam("top_key")).label("top"),
            board_cache.stored_under(_CACHE_KEY_START + bindparam("place_key")).label("place"))
            .where(User.id == bindparam("viewer_id"))),
        public_ahead=public.add_columns(func.count()).where(ahead),
        scored_ahead=scored_ahead, off_board_ahead=off_board_ahead,
        above=public.add_columns(*columns).where(ahead).order_by(score, reached.desc(), User.id.desc())
        .limit(bindparam("neighbours")),
        below=public.add_columns(*columns).where(behind).order_by(score.desc(), reached, User.id)
        .limit(bindparam("neighbours")))


def _scope(query: BoardQuery) -> tuple[str, dict[str, Any]]:
    """Which kind of board a query asks for, and the values of its bind parameters."""
    params: dict[str, Any] = {"team_id": query.team_id}
    if query.course_id is not None:
        return "course", {**params, "course_id": query.course_id}
    if query.skill_id is not None:
        return "skill", {**params, "skill_id": query.skill_id}
    if query.window in ("week", "month"):
        return "period", {**params, "period": query.window, "starts": period_of(query.window, clock.now())}
    return "points", params


# A board's rows as the cache stores them, plain JSON: [user id, display name, points].
Listed = list[Any]


@dataclass(frozen=True)
class _Standing:
    """The viewer's own row on a board, read fresh on every request."""

    id: int
    name: str
    points: int
    reached_at: Any
    hidden: bool


@dataclass(frozen=True)
class _Computation:
    """One board's queries with the values of its bind parameters, on the request's connection."""

    connection: Connection
    statements: _Statements
    params: dict[str, Any]

    def top(self, size: int) -> list[Listed]:
        """The first `size` rows of the public board, best first."""
        return [list(row) for row in self.connection.execute(self.statements.top, {**self.params, "size": size})]

    def place(self, standing: _Standing, neighbours: int) -> dict[str, Any]:
        """The viewer's rank on the public board and the public rows just above (nearest last) and below them."""
        statements, connection = self.statements, self.connection
        mine = {**self.params, "points": standing.points, "reached_at": standing.reached_at,
                "viewer_id": standing.id, "neighbours": neighbours}
        if statements.scored_ahead is None or not is_sqlite(connection.engine):
            # PostgreSQL hash-joins the scores ahead with the users in one pass: the plain count is its fastest.
            ahead = connection.execute(statements.public_ahead, mine).scalar() or 0
        else:
            ahead = (connection.execute(statements.scored_ahead, mine).scalar() or 0) \
                - (connection.execute(statements.off_board_ahead, mine).scalar() or 0)
        above = [list(row) for row in connection.execute(statements.above, mine)][::-1]
        below = [list(row) for row in connection.execute(statements.below, mine)]
        return {"rank": ahead + 1, "above": above, "below": below}


def _agree(top: list[Listed], viewer_id: int, standing: _Standing | None, place: dict[str, Any] | None,
           size: int) -> bool:
    """Whether a top and the viewer's place, perhaps computed at different moments, put the viewer in one spot."""
    listed = [index for index, row in enumerate(top) if row[0] == viewer_id]
    if standing is None or place is None or standing.hidden:
        return not listed
    rank = place["rank"]
    if rank <= size:
        return listed == [rank - 1] and top[rank - 1][2] == standing.points
    return not listed and len(top) == size


def _cached_parts(board: _Computation, keys: tuple[str, str | None], stored: tuple[Any, Any], viewer_id: int,
                  standing: _Standing | None, size: int, neighbours: int) -> tuple[list[Listed], dict[str, Any] | None]:
    """The top and the viewer's place from the shared cache, computing and storing whichever is missing.

    `stored` holds the cached values (None where there is none) as read under `keys` (top, place). The top
    is the same for every viewer; the viewer's place is kept with the score it was computed for, so their
    new points show at once while other trainees' show when the entry expires.
    """
    top_key, place_key = keys
    top, place = stored
    if place_key is None or (place is not None and place.get("for") != _scored(standing)):
        place = None  # computed for another score of the viewer's
    fresh: dict[str, Any] = {}
    if place_key is not None and place is None:
        place = fresh[place_key] = _computed_place(board, standing, neighbours)
    if top is None or not _agree(top, viewer_id, standing, place, size):
        top = fresh[top_key] = board.top(size)
        if place_key is not None and place_key not in fresh and not _agree(top, viewer_id, standing, place, size):
            place = fresh[place_key] = _computed_place(board, standing, neighbours)
    if fresh:
        board_cache.store(fresh)
    return top, place


def _computed_place(board: _Computation, standing: _Standing, neighbours: int) -> dict[str, Any]:
    """The viewer's place as the cache keeps it: with the score it was computed for, which a read checks."""
    return {**board.place(standing, neighbours), "for": _scored(standing)}


def _scored(standing: _Standing | None) -> list[Any] | None:
    """What a viewer's cached place was computed for: their points, when they reached them, and hiding."""
    return None if standing is None else [standing.points, str(standing.reached_at), standing.hidden]


def leaderboard(query: BoardQuery, viewer_id: int) -> Board:
    """The board for one viewer: the top ranks, their own rank and the trainees just above and below."""
    connection = db.session.connection()
    kind, params = _scope(query)
    board = _Computation(connection, _statements(kind, query.team_id is not None), params)
    size = int(current_app.config["LEADERBOARD_SIZE"])
    neighbours = int(current_app.config["LEADERBOARD_NEIGHBOURS"])
    scope = "|".join((query.window, str(params.get("starts", "")), str(query.team_id or ""), query.course_id or "",
                      query.skill_id or ""))
    top_rest, place_rest = f"top|{scope}|{size}", f"place|{scope}|{neighbours}|{viewer_id}"
    row = board.statements.standing.first(connection, {**params, "viewer_id": viewer_id, "now": clock.now(),
                                                        "top_key": top_rest, "place_key": place_rest})
    standing = None
    if row is None:
        # A viewer off this board (a mentor, a trainee yet to score here) has no row to bring the settings along.
        settings = connection.execute(_SETTINGS_AND_TOP, {"now": clock.now(), "top_key": top_rest}).one()
        stored_mode, start, cached = settings.mode, settings.key_start, (settings.top, None)
    else:
        stored_mode, name, points, reached_at, hidden, start, top_value, place_value = row
        standing = _Standing(viewer_id, name, points, reached_at, bool(hidden))
        cached = (top_value, place_value)
    mode = known_mode(stored_mode)
    if mode == "off":
        return Board(query, mode)
    if board_cache.lifetime():
        top_key, place_key = start + top_rest, None if standing is None else start + place_rest
        stored = tuple(None if value is None else json.loads(value) for value in cached)
        top, place = _cached_parts(board, (top_key, place_key), stored, viewer_id, standing, size, neighbours)
    else:
        top = board.top(size)
        place = None if standing is None else board.place(standing, neighbours)

    def shown(rank: int, listed: Listed) -> Row:
        user_id, name, points = listed
        mine = user_id == viewer_id
        return Row(rank, user_id, name if mine or mode == "on" else None, points, mine)

    top_rows = [shown(index + 1, listed) for index, listed in enumerate(top)]
    if standing is None or place is None:
        return Board(query, mode, top_rows)
    rank = place["rank"]
    # A hidden viewer is not on the public board, so the trainees after them keep their public ranks.
    first_below = rank if standing.hidden else rank + 1
    above = place["above"]
    return Board(query, mode, top_rows, Row(rank, viewer_id, standing.name, standing.points, True), standing.hidden,
                 [shown(rank - len(above) + index, listed) for index, listed in enumerate(above)],
                 [shown(first_below + index, listed) for index, listed in enumerate(place["below"])])
