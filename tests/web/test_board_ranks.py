"""Board ranks and neighbours against a plain sort, with ties, hidden, inactive and non-trainee users."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask

from app import clock
from app.boards import BoardQuery, leaderboard
from app.extensions import db
from app.game_rules import period_of
from app.models import PeriodScore, SkillScore, Team, TeamMember, User

SKILL = "empathy"


def _fill(rng: random.Random) -> dict[BoardQuery, list[tuple[int, int, datetime, bool]]]:
    """Users with few distinct scores and moments (so ties abound); each board's rows as (id, points, at, public)."""
    moments = [datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=hour) for hour in range(3)]
    team = Team(name="Blue")
    db.session.add(team)
    db.session.flush()
    boards: dict[BoardQuery, list[tuple[int, int, datetime, bool]]] = {
        BoardQuery(): [], BoardQuery("week"): [], BoardQuery(skill_id=SKILL): [], BoardQuery(team_id=team.id): []}
    week = period_of("week", clock.now())
    for number in range(60):
        role = "mentor" if number % 15 == 0 else "trainee"
        active, hidden = number % 11 != 3, rng.random() < 0.2
        points, reached = rng.choice([0, 5, 10, 10, 20]), rng.choice(moments)
        user = User(username=f"u{number}", display_name=f"U {number}", password_hash="-", role=role, active=active,
                    leaderboard_hidden=hidden, points_total=points, points_reached_at=reached)
        db.session.add(user)
        db.session.flush()
        on_board = role == "trainee" and active
        week_points, skill_points = rng.choice([0, 3, 3, 7]), rng.choice([1, 2, 2, 4])
        db.session.add(PeriodScore(user_id=user.id, period="week", starts=week, points=week_points, reached_at=reached))
        db.session.add(SkillScore(user_id=user.id, skill_id=SKILL, points=skill_points, reached_at=reached))
        in_team = number % 2 == 0
        if in_team:
            db.session.add(TeamMember(team_id=team.id, user_id=user.id))
        for query, score in ((BoardQuery(), points), (BoardQuery("week"), week_points),
                             (BoardQuery(skill_id=SKILL), skill_points), (BoardQuery(team_id=team.id), points)):
            if on_board and score > 0 and (query.team_id is None or in_team):
                boards[query].append((user.id, score, reached, not hidden))
    db.session.commit()
    return boards


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ranks_and_neighbours_match_a_plain_sort(app: Flask, seed: int) -> None:
    with app.app_context():
        app.config.update(LEADERBOARD_SIZE=5, LEADERBOARD_NEIGHBOURS=2)
        for query, rows in _fill(random.Random(seed)).items():
            ordered = sorted(rows, key=lambda row: (-row[1], row[2], row[0]))
            public = [row[0] for row in ordered if row[3]]
            for user_id, _, _, shown in ordered:
                board = leaderboard(query, user_id)
                place = ordered.index(next(row for row in ordered if row[0] == user_id))
                ahead = [row[0] for row in ordered[:place] if row[3]]
                behind = [row[0] for row in ordered[place + 1:] if row[3]]
                assert [row.user_id for row in board.top] == public[:5], query
                assert board.viewer is not None and board.viewer.rank == len(ahead) + 1, (query, user_id)
                assert board.viewer_hidden is not shown
                assert [row.user_id for row in board.above] == ahead[-2:], (query, user_id)
                assert [row.user_id for row in board.below] == behind[:2], (query, user_id)
                first_below = len(ahead) + (2 if shown else 1)
                assert [row.rank for row in board.below] == list(range(first_below, first_below + len(board.below)))
