"""Gamification records: badges held, the kudos feed, active days, teams, and the boards' running scores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .users import utcnow


class BadgeAward(db.Model):
    """A badge a trainee holds; its name and look are copied in, so editing badges.yaml never takes it away."""

    __tablename__ = "badge_awards"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    badge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    icon: Mapped[str | None] = mapped_column(String(300), nullable=True)
    awarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KudosEvent(db.Model):
    """One success celebrated in the team feed: a badge, a finished course, or a mentor's shout-out."""

    __tablename__ = "kudos_events"
    __table_args__ = (
        UniqueConstraint("kind", "user_id", "ref", name="one_kudos_per_event"),
        # The feed reads newest first: across everyone, or member by member for a small team. Both indexes
        # carry the event's author, so events of people outside the feed are skipped without reading their rows.
        Index("kudos_newest_first", "created_at", "id", "user_id"),
        Index("kudos_by_author", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(500), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ActivityDay(db.Model):
    """A local calendar day on which a trainee finished an attempt (streaks count these)."""

    __tablename__ = "activity_days"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class PeriodScore(db.Model):
    """Ledger points a user gained in one week or month, bumped with every award (weekly and monthly boards)."""

    __tablename__ = "period_scores"
    __table_args__ = (Index("period_board", "period", "starts", "points", "reached_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    starts: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SkillScore(db.Model):
    """A trainee's skill total over the best attempt of each scenario (the skills board)."""

    __tablename__ = "skill_scores"
    __table_args__ = (Index("skill_board", "skill_id", "points", "reached_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    skill_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CourseScore(db.Model):
    """A trainee's best points summed over one course's scenarios (the course boards)."""

    __tablename__ = "course_scores"
    __table_args__ = (Index("course_board", "course_id", "points", "reached_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    reached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(db.Model):
    """A group of people an admin puts together, with its own board and feed."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamMember(db.Model):
    """Membership of one user in one team."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class BoardCacheEntry(db.Model):
    """A computed part of a board (its top, or one viewer's place), shared by every worker until it expires."""

    __tablename__ = "board_cache"

    # The key names everything the value depends on, so a change that must show at once simply asks another key.
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
