"""Attempts at scenarios, their steps, and each trainee's best result per scenario id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .content import ContentVersion
from .users import utcnow

ACTIVE = "active"
FINISHED = "finished"
ABANDONED = "abandoned"


class Attempt(db.Model):
    """One trainee playing one stored version of a scenario."""

    __tablename__ = "attempts"
    __table_args__ = (
        # At most one running attempt per trainee and scenario: a double-clicked Start creates one.
        Index("one_active_attempt", "user_id", "content_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        Index("review_waiting", "needs_review", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("content_versions.id"))
    # The skills catalogue in force at the start, so the attempt's skill names never change under it.
    skills_version_id: Mapped[int | None] = mapped_column(ForeignKey("content_versions.id"), nullable=True)
    content_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    outcome: Mapped[str] = mapped_column(String(16), default="unfinished")
    ending: Mapped[str | None] = mapped_column(String(16), nullable=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    # The actions so far, in order, so the state replays from this row alone (the steps table is the record).
    actions: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set when it ends with a written reply, or finishes a scenario marked `review: true`: it waits for a mentor.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    version: Mapped[ContentVersion] = relationship(lazy="joined", foreign_keys=[version_id])
    skills_version: Mapped[ContentVersion | None] = relationship(lazy="joined", foreign_keys=[skills_version_id])


class AttemptStep(db.Model):
    """One action in an attempt: unique per attempt and step number, so a replay cannot record twice."""

    __tablename__ = "attempt_steps"
    __table_args__ = (UniqueConstraint("attempt_id", "number", name="one_row_per_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    number: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    points: Mapped[int] = mapped_column(Integer, default=0)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    feedback: Mapped[list[str]] = mapped_column(JSON, default=list)
    shown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BestResult(db.Model):
    """A trainee's best points for a scenario id, across versions; updated by compare-and-set."""

    __tablename__ = "best_results"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    content_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16), default="completed")
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    # Whether any attempt reached the highest points its own version allows.
    perfect: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The skill totals of the best attempt, so the skills board can move by the difference when it improves.
    skills: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
