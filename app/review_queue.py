"""The mentors' review queue: attempts waiting for a grade, and claims that expire so nothing stays stuck."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, exists, func, or_, select

from . import clock
from .clock import aware
from .database import upsert_insert, write
from .extensions import db
from .mentoring import NotFound, Person, record, trainee_ids, visible_attempt
from .models import Attempt, AttemptStep, Review, ReviewClaim, User
from .models.play import ACTIVE

__all__ = ["ClaimView", "NotFound", "Question", "QueueItem", "Taken", "claim", "claim_holder", "open_questions",
           "queue", "queue_count", "release"]


class Taken(RuntimeError):
    """Another mentor holds a live claim on this attempt."""

    def __init__(self, holder: "ClaimView") -> None:
        super().__init__(f"{holder.mentor_name} is reviewing this attempt")
        self.holder = holder


@dataclass(frozen=True)
class ClaimView:
    """Who is reviewing an attempt, and until when."""

    attempt_id: int
    mentor_id: int
    mentor_name: str
    expires_at: datetime


@dataclass(frozen=True)
class QueueItem:
    """One attempt waiting for a review."""

    attempt_id: int
    trainee: Person
    content_id: str
    title: str
    outcome: str
    points: int
    done_at: datetime
    has_reply: bool
    claim: ClaimView | None


def _claim_minutes() -> int:
    return int(current_app.config["REVIEW_CLAIM_MINUTES"])


def _live_claims(attempt_ids: list[int]) -> dict[int, ClaimView]:
    if not attempt_ids:
        return {}
    rows = db.session.execute(select(ReviewClaim, User.display_name).join(User, User.id == ReviewClaim.mentor_id)
                              .where(ReviewClaim.attempt_id.in_(attempt_ids),
                                     ReviewClaim.expires_at > clock.now())).all()
    return {claim.attempt_id: ClaimView(claim.attempt_id, claim.mentor_id, name, aware(claim.expires_at))
            for claim, name in rows}


def claim_holder(attempt_id: int) -> ClaimView | None:
    """The live claim on an attempt, if any (an expired claim counts as none)."""
    return _live_claims([attempt_id]).get(attempt_id)


def _waiting(mentor_id: int, trainee_id: int | None = None, content_id: str | None = None) -> Any:
    """The condition for ungraded attempts of the mentor's trainees that wait for a review."""
    conditions = [Attempt.needs_review.is_(True), Attempt.status != ACTIVE,
                  ~exists().where(Review.attempt_id == Attempt.id)]
    visible = trainee_ids(mentor_id)
    if visible is not None:
        conditions.append(Attempt.user_id.in_(visible))
    if trainee_id is not None:
        conditions.append(Attempt.user_id == trainee_id)
    if content_id:
        conditions.append(Attempt.content_id == content_id)
    return and_(*conditions)


def queue(mentor_id: int, trainee_id: int | None = None, content_id: str | None = None) -> list[QueueItem]:
    """Ungraded attempts of the mentor's trainees that need a review, oldest first."""
    has_reply = exists().where(AttemptStep.attempt_id == Attempt.id, AttemptStep.action.like("reply:%"))
    done_at = func.coalesce(Attempt.finished_at, Attempt.started_at)
    rows = list(db.session.execute(
        select(Attempt, User, has_reply.label("has_reply")).join(User, User.id == Attempt.user_id)
        .where(_waiting(mentor_id, trainee_id, content_id)).order_by(done_at, Attempt.id)))
    claims = _live_claims([attempt.id for attempt, _, _ in rows])
    return [QueueItem(attempt.id, Person(user.id, user.username, user.display_name), attempt.content_id,
                      attempt.version.title, attempt.outcome, attempt.points,
                      aware(attempt.finished_at or attempt.started_at), bool(replied), claims.get(attempt.id))
            for attempt, user, replied in rows]


@dataclass(frozen=True)
class Question:
    """A trainee's question on a review that no later edit of the review has answered yet."""

    attempt_id: int
    trainee: Person
    title: str
    text: str
    asked_at: datetime


def open_questions(mentor_id: int) -> list[Question]:
    """Questions from the mentor's trainees asked after their review was last saved, oldest first."""
    query = (select(Review, Attempt, User).join(Attempt, Attempt.id == Review.attempt_id)
             .join(User, User.id == Review.trainee_id)
             .where(Review.question.is_not(None), Review.question_at > Review.updated_at)
             .order_by(Review.question_at))
    visible = trainee_ids(mentor_id)
    if visible is not None:
        query = query.where(Review.trainee_id.in_(visible))
    return [Question(attempt.id, Person(user.id, user.username, user.display_name), attempt.version.title,
                     review.question or "", aware(review.question_at or review.updated_at))
            for review, attempt, user in db.session.execute(query)]


def queue_count(mentor_id: int) -> int:
    """How many attempts wait in the mentor's queue (the header's count), counted by the database."""
    return db.session.scalar(select(func.count()).select_from(Attempt).where(_waiting(mentor_id))) or 0


def claim(mentor_id: int, attempt_id: int) -> ClaimView:
    """Claim an attempt for review, or renew one's own claim; Taken while another mentor's claim is live."""
    def run() -> ClaimView:
        attempt = visible_attempt(mentor_id, attempt_id)
        now = clock.now()
        until = now + timedelta(minutes=_claim_minutes())
        table = ReviewClaim.__table__
        db.session.execute(upsert_insert(ReviewClaim).values(
            attempt_id=attempt.id, mentor_id=mentor_id, claimed_at=now, expires_at=until,
        ).on_conflict_do_update(
            index_elements=["attempt_id"],
            set_={"mentor_id": mentor_id, "claimed_at": now, "expires_at": until},
            # Only an expired claim or one's own is taken over; a live one stays with its mentor.
            where=or_(table.c.expires_at <= now, table.c.mentor_id == mentor_id)))
        holder = claim_holder(attempt.id)
        if holder is None:
            raise RuntimeError("claim vanished inside its own transaction")
        if holder.mentor_id != mentor_id:
            raise Taken(holder)
        record(mentor_id, "claim", attempt.id, until=until.isoformat(timespec="seconds"))
        return holder

    return write(run)


def release(mentor_id: int, attempt_id: int) -> bool:
    """Give up one's claim on an attempt; True when there was one to give up."""
    def run() -> bool:
        attempt = visible_attempt(mentor_id, attempt_id)
        removed = db.session.execute(delete(ReviewClaim).where(ReviewClaim.attempt_id == attempt.id,
                                                               ReviewClaim.mentor_id == mentor_id))
        if removed.rowcount:
            record(mentor_id, "release", attempt.id)
        return bool(removed.rowcount)

    return write(run)
