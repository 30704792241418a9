"""The points ledger: awards as unique rows, each user's total kept beside it, best results by compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import bindparam, func, select, update

from .database import prebuilt, upsert_insert, write
from .direct_sql import DirectStatement
from .extensions import db
from .models import BestResult, PointsEntry, User
from .models.users import utcnow
from .scores import add_to_courses, add_to_periods, add_to_skills
from .signed_in import POINTS, note_changed


@dataclass(frozen=True)
class HeaderPoints:
    """What the header's counter shows: the ledger total, and the running attempt's points during play."""

    total: int
    attempt: int | None = None


def ledger_total(user_id: int) -> int:
    """A trainee's total recomputed from the ledger itself (what `users.points_total` must equal)."""
    return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                             .where(PointsEntry.user_id == user_id)) or 0


_LEDGER, _USERS = PointsEntry.__table__, User.__table__
_ENTRY_COLUMNS = ("user_id", "key", "amount", "reason", "content_id", "attempt_id", "created_at")


def _new_entry() -> Any:
    """INSERT a ledger row unless its key is there already, returning its id (none when it was)."""
    return (upsert_insert(_LEDGER).values({name: bindparam(name, type_=_LEDGER.c[name].type) for name in _ENTRY_COLUMNS})
            .on_conflict_do_nothing(index_elements=["key"]).returning(_LEDGER.c.id))


# SQL expressions, so concurrent awards add up; each returns the new total, for the header.
_ADD_TO_TOTAL = _USERS.update().where(_USERS.c.id == bindparam("user_id")).values(
    points_total=_USERS.c.points_total + bindparam("amount")).returning(_USERS.c.points_total)
# Only a gain moves "reached at": ties go to whoever reached a score first, and a grade lowered
# (or a zero-point row) must not send a trainee to the back of their tie.
_GAIN_TO_TOTAL = _ADD_TO_TOTAL.values(points_reached_at=bindparam("created_at"))


def _entry_then(add: Any) -> Any:
    """PostgreSQL: the ledger row and the total's update in one statement; no row (and no update) for a known key."""
    entry = _new_entry().cte("entry")
    return add.add_cte(entry).where(select(entry.c.id).exists())


_NEW_ENTRY = DirectStatement(_new_entry)
_TO_TOTAL = {True: DirectStatement(lambda: _GAIN_TO_TOTAL), False: DirectStatement(lambda: _ADD_TO_TOTAL)}
_ENTRY_TO_TOTAL = {True: DirectStatement(lambda: _entry_then(_GAIN_TO_TOTAL)),
                   False: DirectStatement(lambda: _entry_then(_ADD_TO_TOTAL))}


def award(user_id: int, key: str, amount: int, reason: str, content_id: str | None = None,
          attempt_id: int | None = None) -> bool:
    """Add one ledger row unless `key` was already awarded; must run inside a write transaction."""
    moment = utcnow()
    connection = db.session.connection()
    values = {"user_id": user_id, "key": key, "amount": amount, "reason": reason, "content_id": content_id,
              "attempt_id": attempt_id, "created_at": moment}
    if connection.dialect.name == "postgresql":
        added = _ENTRY_TO_TOTAL[amount > 0].first(connection, values)
    else:
        added = _NEW_ENTRY.first(connection, values) and _TO_TOTAL[amount > 0].first(connection, values)
    if added is None:
        return False
    add_to_periods(user_id, amount, moment)
    note_changed(user_id, POINTS, added[0])
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


@dataclass(frozen=True)
class BestRead:
    """A trainee's best for a scenario id, read by an earlier statement of this transaction (None: none yet).

    Its values: points, outcome, perfect, skills.
    """

    row: tuple[Any, ...] | None


_BEST = BestResult.__table__
# A best result as `record_result` and `BestRead` hold it; bound values: trainee (user id), scenario (content id).
_BEST_VALUES = (_BEST.c.points, _BEST.c.outcome, _BEST.c.perfect, _BEST.c.skills)
_THIS_BEST = (_BEST.c.user_id == bindparam("trainee"), _BEST.c.content_id == bindparam("scenario"))
_CURRENT_BEST = DirectStatement(lambda: select(*_BEST_VALUES).where(*_THIS_BEST))


def best_as_json() -> Any:
    """The trainee's best as one JSON array of `BestRead`'s values (NULL when none), to read with another statement.

    PostgreSQL only (json_build_array).
    """
    return select(func.json_build_array(*_BEST_VALUES)).where(*_THIS_BEST).scalar_subquery()
# Compare-and-set: the row changes only if it still holds what was read.
# (Bind names differ from column names: SQLAlchemy keeps those for the SET clause.)
_SAME_BEST = _BEST.update().where(
    _BEST.c.user_id == bindparam("trainee"), _BEST.c.content_id == bindparam("scenario"),
    _BEST.c.points == bindparam("was_points"), _BEST.c.outcome == bindparam("was_outcome"),
    _BEST.c.perfect == bindparam("was_perfect"))
_RAISE_BEST = _SAME_BEST.values(points=bindparam("new_points"), outcome=bindparam("new_outcome"),
                                perfect=bindparam("new_perfect"), attempt_id=bindparam("new_attempt"),
                                skills=bindparam("new_skills"))
# A better outcome or a first perfect run at the same points keeps the best attempt and its skills.
_MARK_BEST = _SAME_BEST.values(outcome=bindparam("new_outcome"), perfect=bindparam("new_perfect"))


@prebuilt
def _first_best() -> Any:
    """INSERT the first best result for a scenario id, unless a concurrent finish just did."""
    return upsert_insert(_BEST).on_conflict_do_nothing(index_elements=["user_id", "content_id"]) \
        .returning(_BEST.c.user_id)


def record_result(finish: Finish, read_before: BestRead | None = None) -> int:
    """Raise the trainee's best for a scenario id if this attempt beats it; award only the improvement.

    `read_before` spares reading the best first; the compare-and-set below notices should it have changed
    since, and then reads it again.
    """
    user_id, content_id = finish.user_id, finish.content_id
    connection = db.session.connection()
    keys = {"trainee": user_id, "scenario": content_id}
    for _ in range(20):
        if read_before is not None:
            current, read_before = read_before.row, None
        else:
            current = _CURRENT_BEST.first(connection, keys)
        if current is None:
            created = connection.execute(_first_best(), {
                "user_id": user_id, "content_id": content_id, "points": finish.points, "outcome": finish.outcome, "attempt_id": finish.attempt_id,
                "perfect": finish.perfect, "skills": dict(finish.skills)}).first()
            if created is None:
                continue
            previous, previous_skills = 0, {}
        else:
            previous, was_outcome, was_perfect, was_skills = current
            previous_skills = was_skills or {}
            better_outcome = finish.outcome == "passed" and was_outcome != "passed"
            newly_perfect = finish.perfect and not was_perfect
            if finish.points <= previous and not better_outcome and not newly_perfect:
                return 0
            improved = finish.points > previous
            was = {**keys, "was_points": previous, "was_outcome": was_outcome, "was_perfect": was_perfect,
                   "new_outcome": "passed" if better_outcome else was_outcome,
                   "new_perfect": was_perfect or finish.perfect}
            if improved:
                changed = connection.execute(_RAISE_BEST, {**was, "new_points": finish.points,
                                                           "new_attempt": finish.attempt_id,
                                                           "new_skills": dict(finish.skills)})
            else:
                changed = connection.execute(_MARK_BEST, was)
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
