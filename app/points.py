"""The points ledger: awards as unique rows, each user's total kept beside it, best results by compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .database import write
from .extensions import db
from .models import BestResult, PointsEntry, User
from .models.users import utcnow
from .scores import add_to_courses, add_to_periods, add_to_skills


@dataclass(frozen=True)
class HeaderPoints:
    """What the header's counter shows: the ledger total, and the running attempt's points during play."""

    total: int
    attempt: int | None = None


def ledger_total(user_id: int) -> int:
    """A trainee's total recomputed from the ledger itself (what `users.points_total` must equal)."""
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                             .where(PointsEntry.user_id == user_id)) or 0


def award(user_id: int, key: str, amount: int, reason: str, content_id: str | None = None,
          attempt_id: int | None = None) -> bool:
    """Add one ledger row unless `key` was already awarded; must run inside a write transaction."""
    moment = utcnow()
    try:
        with db.session.begin_nested():
            db.session.execute(insert(PointsEntry).values(
                user_id=user_id, key=key, amount=amount, reason=reason, content_id=content_id,
                attempt_id=attempt_id, created_at=moment))
            # SQL expressions, so concurrent awards add up; the user's attributes reload when next read.
            # Only a gain moves "reached at": ties go to whoever reached a score first, and a grade lowered
            # (or a zero-point row) must not send a trainee to the back of their tie.
            reached = {"points_reached_at": moment} if amount > 0 else {}
            db.session.execute(update(User).where(User.id == user_id).values(
                points_total=User.points_total + amount, **reached))
            add_to_periods(user_id, amount, moment)
    except IntegrityError:
        return False
    user = db.session.identity_map.get(db.session.identity_key(User, user_id))
    if user is not None:
        db.session.expire(user, ["points_total", "points_reached_at"])
    return True


@dataclass(frozen=True)
class Finish:
    """A finished attempt's result, as the ledger and the boards need it."""

    user_id: int
    content_id: str
    attempt_id: int
    points: int
    outcome: str
    title: str
    skills: Mapping[str, int] = field(default_factory=dict)
    perfect: bool = False
    course_ids: tuple[str, ...] = ()


def record_result(finish: Finish) -> int:
    """Raise the trainee's best for a scenario id if this attempt beats it; award only the improvement."""
    user_id, content_id = finish.user_id, finish.content_id
    for _ in range(20):
        current = db.session.execute(select(BestResult.points, BestResult.outcome, BestResult.perfect,
                                            BestResult.skills).where(
            BestResult.user_id == user_id, BestResult.content_id == content_id)).first()
        if current is None:
            try:
                with db.session.begin_nested():
                    db.session.add(BestResult(user_id=user_id, content_id=content_id, points=finish.points,
                                              outcome=finish.outcome, attempt_id=finish.attempt_id,
                                              perfect=finish.perfect, skills=dict(finish.skills)))
            except IntegrityError:
                continue
            previous, previous_skills = 0, {}
        else:
            previous, previous_skills = current.points, current.skills or {}
            better_outcome = finish.outcome == "passed" and current.outcome != "passed"
            newly_perfect = finish.perfect and not current.perfect
            if finish.points <= previous and not better_outcome and not newly_perfect:
                return 0
            improved = finish.points > previous
            changed = db.session.execute(update(BestResult).where(
                BestResult.user_id == user_id, BestResult.content_id == content_id,
                BestResult.points == previous, BestResult.outcome == current.outcome,
                BestResult.perfect == current.perfect,
            ).values(points=max(finish.points, previous),
                     outcome="passed" if better_outcome else current.outcome,
                     perfect=current.perfect or finish.perfect,
                     attempt_id=finish.attempt_id if improved else BestResult.attempt_id,
                     skills=dict(finish.skills) if improved else BestResult.skills))
            if changed.rowcount != 1:
                continue
            if not improved:
                return 0
        improvement = finish.points - previous
        moment = utcnow()
        add_to_skills(user_id, previous_skills, finish.skills, moment)
        if improvement > 0:
            award(user_id, f"attempt:{finish.attempt_id}", improvement, f"Improved best result: {finish.title}",
                  content_id=content_id, attempt_id=finish.attempt_id)
            add_to_courses(user_id, list(finish.course_ids), improvement, moment)
        return max(0, improvement)
    raise RuntimeError("best result kept changing; giving up")


def rebuild_totals() -> dict[int, tuple[int, int]]:
    """Set every user's cached total to their ledger sum; return {user id: (was, now)} for those that differed."""
    def run() -> dict[int, tuple[int, int]]:
        sums = dict(db.session.execute(select(PointsEntry.user_id, func.sum(PointsEntry.amount))
                                       .group_by(PointsEntry.user_id)).all())
        changed = {}
        for user_id, cached in db.session.execute(select(User.id, User.points_total)).all():
            actual = int(sums.get(user_id) or 0)
            if cached != actual:
                changed[user_id] = (cached, actual)
                db.session.execute(update(User).where(User.id == user_id).values(points_total=actual))
        return changed
    return write(run)
