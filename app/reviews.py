"""Grading attempts: the rubric, saving a grade with its ledger rows, turn comments and retry requests.

Other parts of the platform read reviews through `well_graded_count`, `open_retry_requests` and
`unseen_review_count`; every save of a grade goes through `save_review`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from flask import current_app
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import clock
from .clock import aware
from .content_sync import stored_content, stored_scenario
from .database import upsert_insert, write
from .engine.model import RubricItem, Scenario, Skill
from .engine.play import is_plain_number
from .extensions import db
from .mentoring import NotFound, Person, Refused, record, visible_attempt
from .models import (Attempt, AttemptStep, ContentVersion, RetryRequest, Review, ReviewClaim, ReviewRevision,
                     TurnComment, User)
from .models.play import ACTIVE
from .points import award
from .review_queue import claim_holder
from .rewards import award_due_badges, post_kudos, well_graded_count
from .signed_in import RETRIES, REVIEWS, note_changed, stored_count

__all__ = ["Conflict", "Grade", "Invalid", "NotFound", "Refused", "add_comment", "link_retry_requests",
           "load_transcript", "mentor_transcript", "open_retry_requests", "parse_grade", "request_retry", "rubric_for", "save_review",
           "unseen_review_count", "well_graded_count"]

MAX_COMMENT_CHARS = 5000
MAX_OVERALL_CHARS = 10_000
MAX_SHOUT_OUT_CHARS = 280
MAX_NOTE_CHARS = 2000


class Invalid(ValueError):
    """The form's values break a rule; nothing was written."""


class Conflict(RuntimeError):
    """Someone saved this review first; nothing of this save was written."""


@dataclass(frozen=True)
class Grade:
    """What a mentor gives an attempt: a score per rubric item, bonus points, comments."""

    scores: dict[str, int]
    bonus: int = 0
    comment: str = ""
    shout_out: str = ""


def rubric_for(scenario: Scenario) -> tuple[RubricItem, ...]:
    """The scenario's own rubric, or the platform's default (the DEFAULT_RUBRIC setting)."""
    if scenario.rubric:
        return scenario.rubric
    return tuple(RubricItem(item["id"], item["label"], int(item.get("max", 5)))
                 for item in current_app.config["DEFAULT_RUBRIC"])


def parse_grade(rubric: tuple[RubricItem, ...], form: Mapping[str, str], bonus_cap: int) -> Grade:
    """Read a grade form (`score-<item id>`, `bonus`, `comment`, `shout_out`); Invalid names the first problem."""
    scores: dict[str, int] = {}
    for item in rubric:
        raw = form.get(f"score-{item.id}", "").strip()
        if not is_plain_number(raw) or int(raw) > item.max:
            raise Invalid(f"Score '{item.label}' from 0 to {item.max}.")
        scores[item.id] = int(raw)
    raw_bonus = form.get("bonus", "").strip() or "0"
    if not is_plain_number(raw_bonus) or int(raw_bonus) > bonus_cap:
        raise Invalid(f"Bonus points are a whole number from 0 to {bonus_cap}.")
    comment = form.get("comment", "").strip()
    shout_out = form.get("shout_out", "").strip()
    if len(comment) > MAX_OVERALL_CHARS:
        raise Invalid(f"The overall comment is longer than {MAX_OVERALL_CHARS} characters.")
    if len(shout_out) > MAX_SHOUT_OUT_CHARS:
        raise Invalid(f"The shout-out is longer than {MAX_SHOUT_OUT_CHARS} characters.")
    return Grade(scores, int(raw_bonus), comment, shout_out)


@dataclass(frozen=True)
class SavedReview:
    """The outcome of a save: the review, its new revision number, and the points it is worth now."""

    review_id: int
    revision: int
    points: int
    points_change: int


def _best_grade(trainee_id: int, content_id: str) -> int:
    """The highest points any current grade gives the trainee for one scenario id (0 when none)."""
    return db.session.scalar(select(func.coalesce(func.max(Review.points), 0)).join(
        Attempt, Attempt.id == Review.attempt_id).where(Review.trainee_id == trainee_id,
                                                        Attempt.content_id == content_id)) or 0


def save_review(mentor_id: int, attempt_id: int, expected_revision: int, grade: Grade) -> SavedReview:
    """Save a grade as the next revision (compare-and-set on `expected_revision`) and settle its points.

    The ledger gets one row per revision, keyed `review:<id>:r<n>`, worth the change in the trainee's best
    grade for that scenario id, so their review points always equal the best current grade per scenario
    (editing a grade replaces its points; grading a replay never adds them twice). Raises Conflict when
    another save got there first, Refused while another mentor holds the claim, Invalid for bad values.
    """
    def run() -> SavedReview:
        attempt = visible_attempt(mentor_id, attempt_id)
        if attempt.status == ACTIVE:
            raise Refused("This attempt is still being played; review it once it has ended.")
        if attempt.user_id == mentor_id:
            raise Refused("Nobody grades their own attempt.")
        scenario = stored_scenario(attempt.version)
        rubric = rubric_for(scenario)
        if set(grade.scores) != {item.id for item in rubric}:
            raise Invalid("Score every item of the rubric.")
        if grade.bonus < 0 or grade.bonus > int(current_app.config["MENTOR_BONUS_CAP"]):
            raise Invalid("Bonus points are over the cap.")
        holder = claim_holder(attempt.id)
        if holder is not None and holder.mentor_id != mentor_id:
            raise Refused(f"{holder.mentor_name} is reviewing this attempt; their claim ends "
                          f"{holder.expires_at:%H:%M} UTC.")
        now = clock.now()
        # One grade per trainee and scenario counts toward the total, like a best result: grading a replay
        # pays only what it adds over the best grade so far. The trainee's row is locked (PostgreSQL) so two
        # mentors grading two attempts of one scenario at once settle one after the other.
        db.session.execute(select(User.id).where(User.id == attempt.user_id).with_for_update())
        best_before = _best_grade(attempt.user_id, attempt.content_id)
        total = sum(grade.scores.values())
        points = total + grade.bonus
        values = dict(mentor_id=mentor_id, scores=dict(grade.scores), score_total=total,
                      score_max=sum(item.max for item in rubric), bonus=grade.bonus, points=points,
                      comment=grade.comment, shout_out=grade.shout_out, updated_at=now)
        if expected_revision == 0:
            try:
                with db.session.begin_nested():
                    review_id = db.session.execute(insert(Review).values(
                        attempt_id=attempt.id, trainee_id=attempt.user_id, revision=1, created_at=now,
                        seen_revision=0, **values).returning(Review.id)).scalar_one()
            except IntegrityError:
                raise Conflict("Another mentor saved a grade for this attempt first.") from None
            previous_bonus = 0
        else:
            current = db.session.execute(select(Review.id, Review.revision, Review.points, Review.bonus)
                                         .where(Review.attempt_id == attempt.id)).first()
            if current is None or current.revision != expected_revision:
                raise Conflict("This grade was changed by someone else since you opened it.")
            moved = db.session.execute(update(Review).where(
                Review.id == current.id, Review.revision == expected_revision,
            ).values(revision=expected_revision + 1, **values))
            if moved.rowcount != 1:
                raise Conflict("This grade was changed by someone else since you opened it.")
            review_id, previous_bonus = current.id, current.bonus
        number = expected_revision + 1
        db.session.add(ReviewRevision(review_id=review_id, number=number, mentor_id=mentor_id,
                                      scores=dict(grade.scores), bonus=grade.bonus, points=points,
                                      comment=grade.comment, created_at=now))
        change = _best_grade(attempt.user_id, attempt.content_id) - best_before
        award(attempt.user_id, f"review:{review_id}:r{number}", change,
              f"Mentor review: {scenario.title}"[:300], content_id=attempt.content_id, attempt_id=attempt.id)
        if grade.shout_out:
            # One shout-out per review in the team feed: the first one given, even if later edits add another.
            post_kudos(attempt.user_id, "shout_out", f"review:{review_id}", grade.shout_out, actor_id=mentor_id)
        award_due_badges(attempt.user_id)
        record(mentor_id, "grade" if number == 1 else "edit", attempt.id, review=review_id, revision=number,
               scores=dict(grade.scores), points=points)
        if grade.bonus != previous_bonus:
            record(mentor_id, "bonus", attempt.id, review=review_id, bonus=grade.bonus, was=previous_bonus)
        # The review is done: the attempt leaves everyone's claim.
        db.session.execute(delete(ReviewClaim).where(ReviewClaim.attempt_id == attempt.id))
        return SavedReview(review_id, number, points, change)

    return write(run)


@dataclass(frozen=True)
class Turn:
    """One recorded step as the trainee saw it, with the mentors' comments on it."""

    number: int
    shown: dict[str, str | None]
    answer: str
    is_reply: bool
    points: int
    skills: dict[str, int]
    feedback: list[str]
    comments: list["CommentView"]


@dataclass(frozen=True)
class CommentView:
    """A comment on one turn."""

    id: int
    mentor: str
    body: str
    at: datetime


@dataclass(frozen=True)
class ReviewView:
    """The current grade of an attempt."""

    id: int
    revision: int
    mentor: str
    scores: dict[str, int]
    score_total: int
    score_max: int
    bonus: int
    points: int
    comment: str
    shout_out: str
    updated_at: datetime
    question: str | None
    question_at: datetime | None


@dataclass(frozen=True)
class RetryView:
    """A request to play a scenario again, and the attempt that answered it."""

    id: int
    attempt_id: int
    content_id: str
    title: str
    note: str
    mentor: str
    created_at: datetime
    new_attempt_id: int | None


@dataclass(frozen=True)
class RevisionView:
    """One saved grade in a review's history."""

    number: int
    mentor: str
    points: int
    bonus: int
    at: datetime


@dataclass(frozen=True)
class Transcript:
    """Everything a review page shows about one attempt: the stored scenario, the turns, grade and requests."""

    attempt_id: int
    trainee: Person
    scenario: Scenario
    status: str
    outcome: str
    points: int
    finished_at: datetime | None
    skill_names: dict[str, str]
    turns: list[Turn]
    rubric: tuple[RubricItem, ...]
    review: ReviewView | None
    retry: RetryView | None
    history: list[RevisionView]


def _review_view(review: Review) -> ReviewView:
    mentor = db.session.get(User, review.mentor_id)
    return ReviewView(review.id, review.revision, mentor.display_name if mentor else "", dict(review.scores or {}),
                      review.score_total, review.score_max, review.bonus, review.points, review.comment,
                      review.shout_out, aware(review.updated_at), review.question,
                      aware(review.question_at) if review.question_at else None)


def _retry_view(request: RetryRequest, title: str) -> RetryView:
    mentor = db.session.get(User, request.mentor_id)
    return RetryView(request.id, request.attempt_id, request.content_id, title, request.note,
                     mentor.display_name if mentor else "", aware(request.created_at), request.new_attempt_id)


def load_transcript(attempt: Attempt) -> Transcript:
    """An attempt's stored turns with comments, rubric, grade and retry request (the caller checked access)."""
    scenario = stored_scenario(attempt.version)
    comments: dict[int, list[CommentView]] = {}
    for comment, name in db.session.execute(
            select(TurnComment, User.display_name).join(User, User.id == TurnComment.mentor_id)
            .where(TurnComment.attempt_id == attempt.id).order_by(TurnComment.id)):
        comments.setdefault(comment.step_id, []).append(
            CommentView(comment.id, name, comment.body, aware(comment.created_at)))
    steps = db.session.scalars(select(AttemptStep).where(AttemptStep.attempt_id == attempt.id)
                               .order_by(AttemptStep.number)).all()
    turns = [Turn(step.number, dict(step.shown or {}), step.answer, step.action.startswith("reply:"), step.points,
                  dict(step.skills or {}), list(step.feedback or []), comments.get(step.id, []))
             for step in steps]
    review = db.session.scalar(select(Review).where(Review.attempt_id == attempt.id))
    retry = db.session.scalar(select(RetryRequest).where(RetryRequest.attempt_id == attempt.id))
    history = [] if review is None else [
        RevisionView(revision.number, name, revision.points, revision.bonus, aware(revision.created_at))
        for revision, name in db.session.execute(
            select(ReviewRevision, User.display_name).join(User, User.id == ReviewRevision.mentor_id)
            .where(ReviewRevision.review_id == review.id).order_by(ReviewRevision.number))]
    trainee = db.session.get(User, attempt.user_id)
    skills = {} if attempt.skills_version is None else {
        skill.id: skill.name for skill in stored_content(attempt.skills_version) if isinstance(skill, Skill)}
    return Transcript(attempt.id, Person(trainee.id, trainee.username, trainee.display_name), scenario,
                      attempt.status, attempt.outcome, attempt.points,
                      aware(attempt.finished_at) if attempt.finished_at else None, skills, turns,
                      rubric_for(scenario), _review_view(review) if review else None,
                      _retry_view(retry, scenario.title) if retry else None, history)


def mentor_transcript(mentor_id: int, attempt_id: int) -> Transcript:
    """An attempt of one of the mentor's trainees, ready to review; NotFound for anyone else's."""
    return load_transcript(visible_attempt(mentor_id, attempt_id))


def add_comment(mentor_id: int, attempt_id: int, step_number: int, body: str) -> int:
    """Comment on one recorded turn of an attempt; returns the comment's id."""
    body = body.strip()
    if not body:
        raise Invalid("Write a comment first.")
    if len(body) > MAX_COMMENT_CHARS:
        raise Invalid(f"A comment is at most {MAX_COMMENT_CHARS} characters.")

    def run() -> int:
        attempt = visible_attempt(mentor_id, attempt_id)
        step = db.session.scalar(select(AttemptStep).where(AttemptStep.attempt_id == attempt.id,
                                                           AttemptStep.number == step_number))
        if step is None:
            raise Invalid("This attempt has no such turn.")
        comment = TurnComment(attempt_id=attempt.id, step_id=step.id, step_number=step.number,
                              mentor_id=mentor_id, body=body, created_at=clock.now())
        db.session.add(comment)
        db.session.flush()
        record(mentor_id, "comment", attempt.id, step=step.number, comment=comment.id)
        return comment.id

    return write(run)


def request_retry(mentor_id: int, attempt_id: int, note: str) -> bool:
    """Ask the trainee to play this attempt's scenario again; False when it was already asked."""
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(f"The note is at most {MAX_NOTE_CHARS} characters.")

    def run() -> bool:
        attempt = visible_attempt(mentor_id, attempt_id)
        if attempt.status == ACTIVE:
            raise Refused("This attempt is still being played.")
        added = db.session.execute(upsert_insert(RetryRequest).values(
            attempt_id=attempt.id, trainee_id=attempt.user_id, mentor_id=mentor_id, content_id=attempt.content_id,
            note=note, created_at=clock.now(),
        ).on_conflict_do_nothing(index_elements=["attempt_id"]).returning(RetryRequest.id)).scalar()
        if added is not None:
            record(mentor_id, "retry", attempt.id, note=note)
        return added is not None

    return write(run)


def link_retry_requests(user_id: int, content_id: str, new_attempt_id: int) -> None:
    """Answer the trainee's open retry requests for a scenario with a later attempt at it (inside its write)."""
    db.session.execute(update(RetryRequest).where(
        RetryRequest.trainee_id == user_id, RetryRequest.content_id == content_id,
        RetryRequest.new_attempt_id.is_(None), RetryRequest.attempt_id < new_attempt_id,
    ).values(new_attempt_id=new_attempt_id).execution_options(synchronize_session=False))
    note_changed(user_id, RETRIES)


_RETRIES, _ATTEMPTS = RetryRequest.__table__, Attempt.__table__
_VERSIONS, _MENTORS = ContentVersion.__table__, User.__table__.alias("mentors")
# Built once: trainees' pages show the open requests on every visit.
_OPEN_RETRIES = (
    select(_RETRIES.c.id, _RETRIES.c.attempt_id, _RETRIES.c.content_id, _VERSIONS.c.title, _RETRIES.c.note,
           _MENTORS.c.display_name, _RETRIES.c.created_at, _RETRIES.c.new_attempt_id)
    .join_from(_RETRIES, _ATTEMPTS, _ATTEMPTS.c.id == _RETRIES.c.attempt_id)
    .join(_VERSIONS, _VERSIONS.c.id == _ATTEMPTS.c.version_id)
    .outerjoin(_MENTORS, _MENTORS.c.id == _RETRIES.c.mentor_id)
    .where(_RETRIES.c.trainee_id == bindparam("user_id"), _RETRIES.c.new_attempt_id.is_(None))
    .order_by(_RETRIES.c.id))


def open_retry_requests(user_id: int) -> list[RetryView]:
    """A trainee's retry requests not yet answered by a new attempt, oldest first (for their dashboard)."""
    rows = db.session.connection().execute(_OPEN_RETRIES, {"user_id": user_id})
    return [RetryView(request_id, attempt_id, content_id, title, note, mentor or "", aware(created_at), answered_by)
            for request_id, attempt_id, content_id, title, note, mentor, created_at, answered_by in rows]


def unseen_review_count(user_id: int) -> int:
    """How many of a trainee's reviews are new or changed since they last opened them."""
    return stored_count(REVIEWS, user_id)
