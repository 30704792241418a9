"""The append-only points ledger: every award is a row with a unique key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .users import utcnow


class PointsEntry(db.Model):
    """One award; `key` names what earned it (e.g. `attempt:42`) and is unique, so nothing pays twice."""

    __tablename__ = "points_ledger"
    # A trainee's rows newest first, as the points history pages through them (PostgreSQL's index on the user
    # alone would read all of a trainee's rows and sort them).
    __table_args__ = (Index("ledger_by_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(120), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    content_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
