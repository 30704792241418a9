"""The points ledger: awards as unique rows, each user's total kept beside it, best results by compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .database import write
from .extensions import db
from .models import BestResult, PointsEntry, User
from .models.users import utcnow


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
    try:
        with db.session.begin_nested():
            db.session.execute(insert(PointsEntry).values(
                user_id=user_id, key=key, amount=amount, reason=reason, content_id=content_id,
                attempt_id=attempt_id, created_at=utcnow()))
            user = db.session.get(User, user_id)
            if user is not None:
                # An SQL expression, so concurrent awards add up; the attribute reloads when next read.
                user.points_total = User.points_total + amount
                db.session.flush()
    except IntegrityError:
        return False
    return True


def record_result(user_id: int, content_id: str, attempt_id: int, points: int, outcome: str,
                  title: str) -> int:
    """Raise the trainee's best for a scenario id if this attempt beats it; award only the improvement."""
    for _ in range(20):
        current = db.session.execute(select(BestResult.points, BestResult.outcome).where(
            BestResult.user_id == user_id, BestResult.content_id == content_id)).first()
        if current is None:
            try:
                with db.session.begin_nested():
                    db.session.add(BestResult(user_id=user_id, content_id=content_id, points=points,
                                              outcome=outcome, attempt_id=attempt_id))
            except IntegrityError:
                continue
            previous = 0
        else:
            previous = current.points
            better_outcome = outcome == "passed" and current.outcome != "passed"
            if points <= previous and not better_outcome:
                return 0
            changed = db.session.execute(update(BestResult).where(
                BestResult.user_id == user_id, BestResult.content_id == content_id,
                BestResult.points == previous, BestResult.outcome == current.outcome,
            ).values(points=max(points, previous), outcome="passed" if better_outcome else current.outcome,
                     attempt_id=attempt_id if points > previous else BestResult.attempt_id))
            if changed.rowcount != 1:
                continue
        improvement = points - previous
        if improvement > 0:
            award(user_id, f"attempt:{attempt_id}", improvement, f"Improved best result: {title}",
                  content_id=content_id, attempt_id=attempt_id)
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
