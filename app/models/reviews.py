"""Mentoring: mentor-trainee pairs, claims, reviews and their revisions, turn comments, retry requests, audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .users import utcnow


class MentorAssignment(db.Model):
    """One mentor paired with one trainee; a trainee may have several mentors and a mentor several trainees."""

    __tablename__ = "mentor_assignments"

    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewClaim(db.Model):
    """A mentor working on an attempt's review; one per attempt, taken over once it expires."""

    __tablename__ = "review_claims"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Review(db.Model):
    """The current grade of one attempt; `revision` counts saves and guards against concurrent overwrites."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    score_total: Mapped[int] = mapped_column(Integer, default=0)
    score_max: Mapped[int] = mapped_column(Integer, default=0)
    bonus: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    comment: Mapped[str] = mapped_column(Text, default="")
    shout_out: Mapped[str] = mapped_column(String(280), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The revision the trainee last opened; a newer revision counts as a new review in their header.
    seen_revision: Mapped[int] = mapped_column(Integer, default=0)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    question_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReviewRevision(db.Model):
    """One saved grade, kept forever: the history behind a review's current values and its ledger rows."""

    __tablename__ = "review_revisions"
    __table_args__ = (UniqueConstraint("review_id", "number", name="one_row_per_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"))
    number: Mapped[int] = mapped_column(Integer)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    bonus: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TurnComment(db.Model):
    """A mentor's comment on one recorded step of an attempt (the stored row, not a node of today's YAML)."""

    __tablename__ = "turn_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("attempt_steps.id"))
    step_number: Mapped[int] = mapped_column(Integer)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RetryRequest(db.Model):
    """A mentor asking the trainee to play a scenario again; open until the trainee starts a new attempt."""

    __tablename__ = "retry_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One request per reviewed attempt: asking twice changes nothing.
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    content_id: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    new_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True)


class ReviewAudit(db.Model):
    """Who did what to which attempt's review, and when: grade, edit, bonus, claim, release, retry request."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
