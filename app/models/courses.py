"""Lesson texts stored with each course version, the lessons trainees opened, and the courses they completed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .users import utcnow


class LessonText(db.Model):
    """The markdown of one lesson as it was when its course version was stored; never changed afterwards."""

    __tablename__ = "lesson_texts"

    version_id: Mapped[int] = mapped_column(ForeignKey("content_versions.id"), primary_key=True)
    ref: Mapped[str] = mapped_column(String(500), primary_key=True)
    markdown: Mapped[str] = mapped_column(Text)


class LessonOpen(db.Model):
    """A trainee opened a lesson of a course; the key makes a second opening record nothing."""

    __tablename__ = "lesson_opens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lesson: Mapped[str] = mapped_column(String(500), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CourseCompletion(db.Model):
    """A trainee completed a course (every module passed), recorded once at the moment it happened."""

    __tablename__ = "course_completions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("content_versions.id"))
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
