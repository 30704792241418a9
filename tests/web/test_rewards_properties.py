"""Randomised sequences of plays over days: every total and board score always equals what the ledger says."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.game_rules import period_of
from app.models import BestResult, CourseScore, PeriodScore, PointsEntry, SkillScore, User
from app.rewards import rebuild_boards
from tests.web.test_gamification import play_case, play_late_delivery, rewards_library  # noqa: F401 - fixture

REPLIES = ("I will send a new parcel today and I can call you tomorrow", "The parcel is on its way now",
           "I can't do anything about that sorry", "I will check it today for you")
EVENTS = st.lists(st.tuples(
    st.integers(0, 2),                                   # which trainee
    st.sampled_from(["good", "bad", "case-right", "case-wrong"]),
    st.sampled_from(REPLIES),
    st.integers(0, 40),                                  # hours the clock moves on first
), min_size=1, max_size=8)
NAMES = itertools.count()


def board_snapshot() -> dict[str, set[tuple]]:
    """Every running board score, comparable before and after a rebuild (tie times aside)."""
    return {
        "periods": set(db.session.execute(select(PeriodScore.user_id, PeriodScore.period, PeriodScore.starts,
                                                 PeriodScore.points))),
        "skills": {row for row in db.session.execute(select(SkillScore.user_id, SkillScore.skill_id,
                                                            SkillScore.points)) if row[2]},
        "courses": {row for row in db.session.execute(select(CourseScore.user_id, CourseScore.course_id,
                                                             CourseScore.points)) if row[2]},
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_totals_and_boards_always_equal_the_ledger(app, make_user, rewards_library, monkeypatch,  # noqa: F811
                                                   events):
    app.config.update(TIME_ZONE="Asia/Tehran", WEEK_START="saturday")
    batch = next(NAMES)
    users = [make_user(f"prop{batch}x{n}") for n in range(3)]
    moment = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)
    for who, kind, reply, hours in events:
        moment += timedelta(hours=hours)
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        if kind == "good":
            play_late_delivery(app, users[who], reply=reply)
        elif kind == "bad":
            play_late_delivery(app, users[who], good=False)
        else:
            play_case(app, users[who], 1 if kind == "case-right" else 2)
    with app.app_context():
        ledger = list(db.session.execute(select(PointsEntry.user_id, PointsEntry.amount, PointsEntry.created_at)))
        sums: dict[int, int] = defaultdict(int)
        periods: dict[tuple, int] = defaultdict(int)
        for user_id, amount, created_at in ledger:
            sums[user_id] += amount
            for period in ("week", "month"):
                periods[(user_id, period, period_of(period, created_at))] += amount
        for user in db.session.scalars(select(User).where(User.id.in_(users))):
            assert user.points_total == sums[user.id]
            best = db.session.scalars(select(BestResult.points).where(BestResult.user_id == user.id)).all()
            bonuses = sum(amount for user_id, amount, _ in ledger if user_id == user.id) - sum(best)
            assert bonuses >= 0       # a total is the sum of best results plus bonuses, never less
        stored = {(row.user_id, row.period, row.starts): row.points for row in db.session.scalars(select(PeriodScore))}
        assert stored == dict(periods)
        before = board_snapshot()
        rebuild_boards()
        assert board_snapshot() == before
