"""The trainee's side of reviews: the list, one review beside its transcript, and one question back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from . import clock
from .database import write
from .extensions import db
from .models import Attempt, Review
from .clock import aware
from .reviews import Invalid, NotFound, Refused, Transcript, load_transcript
from .signed_in import REVIEWS, note_changed

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class ReviewSummary:
    """A row of the trainee's reviews page."""

    id: int
    attempt_id: int
    title: str
    score_total: int
    score_max: int
    points: int
    updated_at: datetime
    unseen: bool


def my_reviews(trainee_id: int) -> list[ReviewSummary]:
    """The trainee's reviews, newest first."""
    rows = db.session.execute(select(Review, Attempt).join(Attempt, Attempt.id == Review.attempt_id)
                              .where(Review.trainee_id == trainee_id)
                              .order_by(Review.updated_at.desc(), Review.id.desc())).all()
    return [ReviewSummary(review.id, attempt.id, attempt.version.title, review.score_total, review.score_max,
                          review.points, aware(review.updated_at), review.seen_revision < review.revision)
            for review, attempt in rows]


def _own_review(trainee_id: int, review_id: int) -> Review:
    review = db.session.scalar(select(Review).where(Review.id == review_id, Review.trainee_id == trainee_id))
    if review is None:
        raise NotFound("no such review")
    return review


def open_review(trainee_id: int, review_id: int) -> Transcript:
    """One of the trainee's reviews with its transcript; opening it marks the current revision seen."""
    review = _own_review(trainee_id, review_id)
    if review.seen_revision < review.revision:
        def mark() -> None:
            db.session.execute(update(Review).where(Review.id == review_id, Review.seen_revision < Review.revision)
                               .values(seen_revision=Review.revision))
            note_changed(trainee_id, REVIEWS)
        write(mark)
        review = _own_review(trainee_id, review_id)
    return load_transcript(db.session.get(Attempt, review.attempt_id))


def ask_question(trainee_id: int, review_id: int, text: str) -> None:
    """Reply once to a review with a question for the mentor; Refused when one was already sent."""
    text = text.strip()
    if not text:
        raise Invalid("Write your question first.")
    if len(text) > MAX_QUESTION_CHARS:
        raise Invalid(f"A question is at most {MAX_QUESTION_CHARS} characters.")

    def run() -> None:
        review = _own_review(trainee_id, review_id)
        asked = db.session.execute(update(Review).where(Review.id == review.id, Review.question.is_(None))
                                   .values(question=text, question_at=clock.now()))
        if asked.rowcount != 1:
            raise Refused("You have already replied to this review.")

    write(run)
