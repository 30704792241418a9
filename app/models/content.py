"""Immutable content versions, the library as it stands now, and files that failed to load."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .users import utcnow


SCENARIO_KINDS = ("roleplay", "case_study")


class ContentVersion(db.Model):
    """One version of a scenario, case study or course, identified by the hash of its text."""

    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(500))
    # Read only when a version is first parsed in a process; parsed versions are cached by hash.
    yaml_text: Mapped[str] = mapped_column(Text, deferred=True)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(35), default="en")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LibraryEntry(db.Model):
    """Which version of each id the catalogue offers now; inactive once its file is gone."""

    __tablename__ = "library_entries"

    content_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version_id: Mapped[int] = mapped_column(ForeignKey("content_versions.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[ContentVersion] = relationship(lazy="joined")


class LibraryProblem(db.Model):
    """A problem found in a library file at the last sync, for the trainers' problems page."""

    __tablename__ = "library_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(500))
    line: Mapped[int] = mapped_column(Integer)
    col: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)


class Publication(db.Model):
    """The n-th version of an id published from the browser; (content_id, number) is unique, so of two
    trainers publishing on top of the same version only one gets the next number."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("content_id", "number", name="one_publication_per_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[str] = mapped_column(String(64), index=True)
    number: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("content_versions.id"))
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    version: Mapped[ContentVersion] = relationship(lazy="joined")

