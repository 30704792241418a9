"""Running scores behind the boards, moved by each award so no board ever sums the whole ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import bindparam, case, delete, func, insert, select

from . import clock
from .database import upsert_insert
from .direct_sql import DirectStatement
from .extensions import db
from .game_rules import PERIODS, period_of
from .models import BestResult, CourseScore, PeriodScore, PointsEntry, SkillScore


_KEYS: dict[type, tuple[str, ...]] = {PeriodScore: ("user_id", "period", "starts"),
                                     SkillScore: ("user_id", "skill_id"), CourseScore: ("user_id", "course_id")}
_BUMPS: dict[tuple[type, int], DirectStatement] = {}


def _bumps_statement(model: type, count: int) -> DirectStatement:
    """The upsert that adds to `count` running score rows at once, built once per table, count and dialect."""
    statement = _BUMPS.get((model, count))
    if statement is None:
        statement = _BUMPS[(model, count)] = DirectStatement(lambda: _build_bumps(model, count))
    return statement


def _build_bumps(model: type, count: int) -> Any:
    table = model.__table__  # type: ignore[attr-defined]
    columns = (*_KEYS[model], "points", "reached_at")
    statement = upsert_insert(table).values([
        {name: bindparam(f"r{row}_{name}", type_=table.c[name].type) for name in columns} for row in range(count)])
    # Only a gain moves "reached at": a loss must not send a trainee to the back of their tie.
    return statement.on_conflict_do_update(index_elements=list(_KEYS[model]), set_={
        "points": table.c.points + statement.excluded.points,
        "reached_at": case((statement.excluded.points > 0, statement.excluded.reached_at), else_=table.c.reached_at)})


def _bump(model: type, rows: list[dict[str, object]], moment: datetime) -> None:
    """Add each row's `points` to its running score row, creating it at `points`; concurrent bumps add up.

    One statement for all the rows, in the order given (callers sort them, so that concurrent bumps take
    their row locks in the same order).
    """
    if not rows:
        return
    values = {f"r{index}_{name}": value for index, row in enumerate(rows)
              for name, value in (*row.items(), ("reached_at", moment))}
    _bumps_statement(model, len(rows)).rowcount(db.session.connection(), values)


def _insert_many(model: type, rows: list[dict[str, object]], chunk: int = 5000) -> None:
    """Insert rows in batches (executemany), not one ORM object each: a rebuild may write a million."""
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(model), rows[start:start + chunk])


def add_to_periods(user_id: int, amount: int, moment: datetime) -> None:
    """Count a ledger award toward its week's and month's boards."""
    _bump(PeriodScore, [{"user_id": user_id, "period": period, "starts": period_of(period, moment), "points": amount}
                        for period in PERIODS], moment)


def add_to_skills(user_id: int, before: Mapping[str, int], after: Mapping[str, int], moment: datetime) -> None:
    """Move the skills board by the change between the old and the new best attempt's skills."""
    changes = ((skill, after.get(skill, 0) - before.get(skill, 0)) for skill in sorted(set(before) | set(after)))
    _bump(SkillScore, [{"user_id": user_id, "skill_id": skill, "points": change} for skill, change in changes if change],
          moment)


def add_to_courses(user_id: int, course_ids: list[str], improvement: int, moment: datetime) -> None:
    """Raise the course boards of every course holding the scenario by its improvement."""
    _bump(CourseScore, [{"user_id": user_id, "course_id": course_id, "points": improvement}
                        for course_id in sorted(course_ids)], moment)


def rebuild_periods() -> None:
    """Recompute the weekly and monthly scores from the ledger (after changing the time zone or week start)."""
    db.session.execute(delete(PeriodScore))
    sums: dict[tuple[int, str, object], list] = {}
    rows = db.session.execute(select(PointsEntry.user_id, PointsEntry.amount, PointsEntry.created_at)
                              .order_by(PointsEntry.id)).yield_per(5000)
    for user_id, amount, created_at in rows:
        for period in PERIODS:
            entry = sums.setdefault((user_id, period, period_of(period, created_at)), [0, created_at])
            entry[0] += amount
            if amount > 0:
                entry[1] = max(entry[1], created_at)
    _insert_many(PeriodScore, [{"user_id": user_id, "period": period, "starts": starts, "points": points,
                                "reached_at": reached_at}
                               for (user_id, period, starts), (points, reached_at) in sums.items()])


def rebuild_skills_and_courses(course_modules: Mapping[str, list[str]]) -> None:
    """Recompute the skills and course boards from every trainee's best results."""
    db.session.execute(delete(SkillScore))
    db.session.execute(delete(CourseScore))
    skills: dict[tuple[int, str], int] = {}
    courses: dict[tuple[int, str], int] = {}
    holders: dict[str, list[str]] = {}
    for course_id, content_ids in course_modules.items():
        for content_id in content_ids:
            holders.setdefault(content_id, []).append(course_id)
    for user_id, content_id, points, best_skills in db.session.execute(
            select(BestResult.user_id, BestResult.content_id, BestResult.points, BestResult.skills)).yield_per(5000):
        for skill, value in (best_skills or {}).items():
            skills[(user_id, skill)] = skills.get((user_id, skill), 0) + value
        for course_id in holders.get(content_id, []):
            courses[(user_id, course_id)] = courses.get((user_id, course_id), 0) + points
    moment = clock.now()
    _insert_many(SkillScore, [{"user_id": user_id, "skill_id": skill, "points": points, "reached_at": moment}
                              for (user_id, skill), points in skills.items() if points])
    _insert_many(CourseScore, [{"user_id": user_id, "course_id": course_id, "points": points, "reached_at": moment}
                               for (user_id, course_id), points in courses.items() if points])


def refresh_course_scores(course_id: str, content_ids: list[str]) -> None:
    """Recompute one course's board from best results, after its list of scenarios changed (or it went away)."""
    db.session.execute(delete(CourseScore).where(CourseScore.course_id == course_id))
    if not content_ids:
        return
    moment = clock.now()
    totals = db.session.execute(select(BestResult.user_id, func.sum(BestResult.points)).where(
        BestResult.content_id.in_(content_ids)).group_by(BestResult.user_id)).all()
    _insert_many(CourseScore, [{"user_id": user_id, "course_id": course_id, "points": int(points),
                                "reached_at": moment} for user_id, points in totals if points])
