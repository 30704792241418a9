"""Running scores: one statement moves several rows, and only a gain moves a row's "reached at"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from flask import Flask
from sqlalchemy import select

from app.database import write
from app.extensions import db
from app.models import SkillScore
from app.scores import add_to_skills

EARLIER = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LATER = EARLIER + timedelta(days=3)


def scores(user_id: int) -> dict[str, tuple[int, datetime]]:
    rows = db.session.execute(select(SkillScore.skill_id, SkillScore.points, SkillScore.reached_at)
                              .where(SkillScore.user_id == user_id))
    return {skill: (points, reached.replace(tzinfo=timezone.utc) if reached.tzinfo is None else reached)
            for skill, points, reached in rows}


def test_gains_and_losses_in_one_change_move_only_the_gains_reached_at(app: Flask,
                                                                      make_user: Callable[..., int]) -> None:
    user_id = make_user("ayse")
    with app.app_context():
        write(lambda: add_to_skills(user_id, {}, {"empathy": 4, "optimism": 3, "adaptability": 2}, EARLIER))
        assert scores(user_id) == {"empathy": (4, EARLIER), "optimism": (3, EARLIER), "adaptability": (2, EARLIER)}
        # A new best: more empathy, less optimism, the same adaptability, and a first conscientiousness.
        write(lambda: add_to_skills(user_id, {"empathy": 4, "optimism": 3, "adaptability": 2},
                                    {"empathy": 6, "optimism": 1, "adaptability": 2, "conscientiousness": 5}, LATER))
        assert scores(user_id) == {"empathy": (6, LATER), "optimism": (1, EARLIER), "adaptability": (2, EARLIER),
                                   "conscientiousness": (5, LATER)}
