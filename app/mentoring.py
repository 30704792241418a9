"""Mentor-trainee pairs, who may see whose attempts, and the audit trail of everything mentors do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from .database import upsert_insert, write
from .extensions import db
from .models import Attempt, MentorAssignment, ReviewAudit, User
from .models.users import utcnow

MENTOR_ROLES = ("mentor",)
AUDIT_ACTIONS = ("grade", "edit", "bonus", "claim", "release", "retry", "comment", "pair", "unpair")


class NotFound(LookupError):
    """No such attempt or person for this mentor (another mentor's trainee is "not found" too)."""


class Refused(ValueError):
    """The change is not allowed; nothing was written."""


@dataclass(frozen=True)
class Person:
    """A user as mentoring pages list them."""

    id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class Pair:
    """One mentor-trainee pair."""

    mentor: Person
    trainee: Person


def _person(user: User) -> Person:
    return Person(user.id, user.username, user.display_name)


def is_admin(user_id: int) -> bool:
    """True for an active admin, who sees every trainee."""
    user = db.session.get(User, user_id)
    return user is not None and user.role == "admin"


def trainee_ids(mentor_id: int) -> list[int] | None:
    """The trainees a mentor may see; None means everyone (admins)."""
    if is_admin(mentor_id):
        return None
    return list(db.session.scalars(select(MentorAssignment.trainee_id)
                                   .where(MentorAssignment.mentor_id == mentor_id)))


def may_see_trainee(mentor_id: int, trainee_id: int) -> bool:
    """Whether a mentor is paired with this trainee (admins may see all)."""
    visible = trainee_ids(mentor_id)
    return visible is None or trainee_id in visible


def visible_attempt(mentor_id: int, attempt_id: int) -> Attempt:
    """An attempt of one of the mentor's trainees; NotFound for anyone else's."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or not may_see_trainee(mentor_id, attempt.user_id):
        raise NotFound("no such attempt")
    return attempt


def my_trainees(mentor_id: int) -> list[Person]:
    """The trainees a mentor sees, by name (every trainee for admins)."""
    query = select(User).where(User.role == "trainee", User.active.is_(True))
    visible = trainee_ids(mentor_id)
    if visible is not None:
        query = query.where(User.id.in_(visible))
    return [_person(user) for user in db.session.scalars(query.order_by(User.display_name, User.id))]


def pairs() -> list[Pair]:
    """Every pair, by mentor then trainee."""
    mentor, trainee = aliased(User), aliased(User)
    rows = db.session.execute(select(mentor, trainee).select_from(MentorAssignment)
                              .join(mentor, mentor.id == MentorAssignment.mentor_id)
                              .join(trainee, trainee.id == MentorAssignment.trainee_id)
                              .order_by(mentor.display_name, trainee.display_name)).all()
    return [Pair(_person(m), _person(t)) for m, t in rows]


def candidates() -> tuple[list[Person], list[Person]]:
    """Active mentors and active trainees, for the pairing form."""
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)).all()
    return ([_person(u) for u in people if u.role in MENTOR_ROLES],
            [_person(u) for u in people if u.role == "trainee"])


def assign(by: int, mentor_id: int, trainee_id: int) -> None:
    """Pair a mentor with a trainee; pairing them twice changes nothing."""
    def run() -> None:
        mentor, trainee = db.session.get(User, mentor_id), db.session.get(User, trainee_id)
        if mentor is None or trainee is None:
            raise NotFound("no such person")
        if mentor.role not in MENTOR_ROLES or not mentor.active:
            raise Refused("Only an active mentor can be paired with a trainee (admins see every trainee anyway).")
        if trainee.role != "trainee" or not trainee.active:
            raise Refused("Only an active trainee can be given a mentor.")
        added = db.session.execute(upsert_insert(MentorAssignment).values(
            mentor_id=mentor_id, trainee_id=trainee_id, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["mentor_id", "trainee_id"])
            .returning(MentorAssignment.mentor_id)).scalar()
        if added is not None:
            record(by, "pair", None, mentor=mentor_id, trainee=trainee_id)
    write(run)


def unassign(by: int, mentor_id: int, trainee_id: int) -> None:
    """End a pair; ending one that does not exist changes nothing."""
    def run() -> None:
        removed = db.session.execute(delete(MentorAssignment).where(
            MentorAssignment.mentor_id == mentor_id, MentorAssignment.trainee_id == trainee_id))
        if removed.rowcount:
            record(by, "unpair", None, mentor=mentor_id, trainee=trainee_id)
    write(run)


def record(actor_id: int, action: str, attempt_id: int | None, **detail: Any) -> None:
    """Add one audit row; runs inside the caller's write transaction, so it stands or falls with the change."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    db.session.add(ReviewAudit(actor_id=actor_id, action=action, attempt_id=attempt_id, detail=detail,
                               created_at=utcnow()))
    db.session.flush()


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit page."""

    id: int
    at: datetime
    actor: str
    action: str
    attempt_id: int | None
    detail: dict[str, Any]


def audit_log(limit: int = 500, action: str | None = None) -> list[AuditEntry]:
    """The newest audit rows first, optionally of one action."""
    query = (select(ReviewAudit, User.username).join(User, User.id == ReviewAudit.actor_id)
             .order_by(ReviewAudit.id.desc()).limit(limit))
    if action:
        query = query.where(ReviewAudit.action == action)
    return [AuditEntry(row.id, row.created_at, username, row.action, row.attempt_id, dict(row.detail or {}))
            for row, username in db.session.execute(query)]
