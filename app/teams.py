"""Teams: admins group people, for team boards and the team kudos feed."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Mapping

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError

from . import board_cache
from .database import write
from .direct_sql import DirectStatement
from .extensions import db
from .models import Team, TeamMember, User
from .signed_in import SignedInUser, signed_in_row, signed_in_with

MAX_NAME = 120


class TeamError(ValueError):
    """A team change that cannot be made, with a message for the admin."""


@dataclass(frozen=True)
class TeamView:
    """A team with its members."""

    id: int
    name: str
    members: list[User]


def list_teams() -> list[TeamView]:
    """Every team with its members, by name."""
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    members: dict[int, list[User]] = {team.id: [] for team in teams}
    for team_id, user in db.session.execute(select(TeamMember.team_id, User).join(User, User.id == TeamMember.user_id)
                                            .order_by(User.display_name)).all():
        members.setdefault(team_id, []).append(user)
    return [TeamView(team.id, team.name, members[team.id]) for team in teams]


@dataclass(frozen=True)
class TeamName:
    """A team as pickers and filters list it."""

    id: int
    name: str
    # How many people the team has, counted only where the caller asked for it.
    members: int | None = None


_TEAMS, _MEMBERS = Team.__table__, TeamMember.__table__
# Built once: the boards and the feed ask on every visit.
_EVERY_TEAM = select(_TEAMS.c.id, _TEAMS.c.name).order_by(_TEAMS.c.name)
_OWN_TEAMS = (_EVERY_TEAM.join_from(_TEAMS, _MEMBERS, _MEMBERS.c.team_id == _TEAMS.c.id)
              .where(_MEMBERS.c.user_id == bindparam("user_id")))
_COUNTED = _MEMBERS.alias("counted")
_MEMBER_COUNT = select(func.count()).select_from(_COUNTED).where(_COUNTED.c.team_id == _TEAMS.c.id).scalar_subquery()
_EVERY_TEAM_COUNTED, _OWN_TEAMS_COUNTED = _EVERY_TEAM.add_columns(_MEMBER_COUNT), _OWN_TEAMS.add_columns(_MEMBER_COUNT)
# db.session.info key: (user id, their teams with member counts) as read with the signed-in user.
_PRE_READ = "own_teams_read"


def _own_teams_json() -> Any:
    """The signed-in user's teams as one JSON array of [id, name, members], by name (a column of their row)."""
    membership = _MEMBERS.alias("membership")
    if db.engine.dialect.name == "postgresql":
        teams = func.json_agg(aggregate_order_by(func.json_build_array(_TEAMS.c.id, _TEAMS.c.name, _MEMBER_COUNT),
                                                 _TEAMS.c.name))
    else:
        teams = func.json_group_array(func.json_array(_TEAMS.c.id, _TEAMS.c.name, _MEMBER_COUNT))
    return (select(teams).select_from(_TEAMS.join(membership, membership.c.team_id == _TEAMS.c.id))
            .where(membership.c.user_id == User.id).scalar_subquery())


_SIGNED_IN_WITH_TEAMS = DirectStatement(lambda: signed_in_row().add_columns(_own_teams_json().label("own_teams")))


def signed_in_with_teams(user_id: int, token: str, _view_args: Mapping[str, Any]) -> SignedInUser | None:
    """Load the signed-in user with their own teams in one statement; `visible_teams` then reads none."""
    found = signed_in_with(_SIGNED_IN_WITH_TEAMS, user_id, token, {})
    if found is None:
        return None
    user, (raw,) = found
    items = json.loads(raw) if isinstance(raw, str) else raw or []
    teams = [TeamName(int(team_id), name, int(members)) for team_id, name, members in items]
    if isinstance(raw, str):
        teams.sort(key=lambda team: team.name)  # SQLite's json_group_array keeps no order; names sort as SQLite's do
    db.session.info[_PRE_READ] = (user_id, teams)
    return user


def visible_teams(user: User, count_members: bool = False) -> list[TeamName]:
    """Teams whose boards and feed a user may open: their own, or every team for mentors, trainers and admins.

    With `count_members`, each comes with its number of members (in the same query).
    """
    connection = db.session.connection()
    if user.has_role("mentor", "trainer"):
        rows = connection.execute(_EVERY_TEAM_COUNTED if count_members else _EVERY_TEAM)
    else:
        read = db.session.info.pop(_PRE_READ, None)  # taken once: a later call reads the teams as they are then
        if read is not None and read[0] == user.id:
            return read[1] if count_members else [replace(team, members=None) for team in read[1]]
        rows = connection.execute(_OWN_TEAMS_COUNTED if count_members else _OWN_TEAMS, {"user_id": user.id})
    return [TeamName(*row) for row in rows]


def create_team(name: str) -> int:
    """Create a team with a unique, non-empty name."""
    name = " ".join(name.split())
    if not name:
        raise TeamError("Give the team a name.")
    if len(name) > MAX_NAME:
        raise TeamError(f"A team name has at most {MAX_NAME} characters.")

    def run() -> int:
        team = Team(name=name)
        db.session.add(team)
        db.session.flush()
        return team.id
    try:
        return write(run)
    except IntegrityError:
        raise TeamError(f"There is already a team called {name}.") from None


def delete_team(team_id: int) -> None:
    """Remove a team and its memberships (people and their points stay)."""
    def run() -> None:
        if db.session.get(Team, team_id) is None:
            raise LookupError("no such team")
        db.session.execute(delete(TeamMember).where(TeamMember.team_id == team_id))
        db.session.execute(delete(Team).where(Team.id == team_id))
        board_cache.bump_version()
    write(run)


def add_member(team_id: int, username: str) -> str:
    """Put a user, by username, in a team; adding someone twice changes nothing. Returns their name."""
    def run() -> str:
        if db.session.get(Team, team_id) is None:
            raise LookupError("no such team")
        user = db.session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise TeamError(f"No user is called {username.strip()!r}.")
        if db.session.get(TeamMember, (team_id, user.id)) is None:
            try:
                with db.session.begin_nested():
                    db.session.add(TeamMember(team_id=team_id, user_id=user.id))
            except IntegrityError:
                pass
            board_cache.bump_version()
        return user.display_name
    return write(run)


def remove_member(team_id: int, user_id: int) -> None:
    """Take a user out of a team."""
    def run() -> None:
        removed = db.session.execute(delete(TeamMember).where(TeamMember.team_id == team_id,
                                                              TeamMember.user_id == user_id))
        if removed.rowcount == 0:
            raise LookupError("no such membership")
        board_cache.bump_version()
    write(run)
