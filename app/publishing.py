"""Trainers publish scenarios, case studies and courses from the browser as immutable, numbered versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import library_version
from .content_reload import files_digest
from .content_sync import (active_course_versions, bundle_hash, describe_content, published_kinds,
                           refresh_changed_courses, stored_lessons)
from .lessons import store_lessons
from .database import upsert_insert, write
from .engine.library import FileReport, Library, draft_lesson_paths
from .engine.model import Course, Scenario
from .engine.problems import Problem
from .extensions import db
from .models import ContentVersion, LibraryEntry, Publication, User
from .models.users import utcnow

MAX_LESSON_CHARS = 200_000
DRAFT_NAME = "draft.yaml"


@dataclass(frozen=True)
class Draft:
    """What the editor sends: the YAML, its lessons by path, and which published version it was opened from."""

    text: str
    lessons: dict[str, str] = field(default_factory=dict)
    replaces: str | None = None  # the published id this is a new version of; None for new content
    base: int = 0  # the number of the publication it was opened from; 0 for new content


@dataclass(frozen=True)
class DraftCheck:
    """Every problem in a draft, checked against the whole library, and the lessons a course names."""

    draft: Draft
    report: FileReport
    lesson_paths: list[str]

    @property
    def errors(self) -> list[Problem]:
        """The errors, in line order."""
        return self.report.errors

    @property
    def warnings(self) -> list[Problem]:
        """The warnings, in line order."""
        return self.report.warnings

    @property
    def ok(self) -> bool:
        """True when the draft may be published."""
        return self.report.ok and self.report.content is not None

    @property
    def content(self) -> Scenario | Course | None:
        """The scenario or course the draft builds, when it reads."""
        content = self.report.content
        return content if isinstance(content, (Scenario, Course)) else None

    def source_line(self, number: int) -> str:
        """The draft's text at a 1-based line, for showing a problem in context."""
        lines = self.draft.text.split("\n")
        return lines[number - 1] if 1 <= number <= len(lines) else ""


@dataclass(frozen=True)
class Published:
    """The outcome of a publish: the id, its publication number, and whether this text was new."""

    content_id: str
    number: int
    new: bool


class Refused(Exception):
    """The draft has errors; nothing was published."""

    def __init__(self, check: DraftCheck):
        super().__init__(f"{len(check.errors)} errors")
        self.check = check


class Stale(Exception):
    """Someone published this id after the editor was opened; nothing was published."""

    def __init__(self, content_id: str, number: int):
        super().__init__(f"{content_id} is now at version {number}")
        self.content_id = content_id
        self.number = number


class NotFound(Exception):
    """No such published id or version."""


_cached: dict[str, Library] = {}


def _library() -> Library:
    """The library folders plus published ids; parsed again only when a file or a publication changed."""
    root = Path(current_app.config["CONTENT_ROOT"])
    published = published_kinds()
    key = files_digest(root) + repr(sorted(published.items()))
    library = _cached.get(key)
    if library is None:
        library = Library(root, Path(current_app.static_folder or "static"), published)
        _cached.clear()
        _cached[key] = library
    return library


def normalise(text: str) -> str:
    """Browsers send text areas with CRLF line ends; store LF like a file, without a byte-order mark."""
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")


def check_draft(draft: Draft) -> DraftCheck:
    """Check a draft against the library folders and published content, with every problem at its line."""
    lesson_paths = draft_lesson_paths(draft.text)
    lessons = {path: draft.lessons.get(path, "") for path in lesson_paths}
    newest = latest_number(draft.replaces) if draft.replaces else 0
    report = _library().check_text(draft.text, DRAFT_NAME, lessons, draft.replaces,
                                   newest if newest != draft.base else None)
    for path, text in lessons.items():
        if len(text) > MAX_LESSON_CHARS:
            report.problems.append(Problem(1, 1, "error", f"lesson {path!r} is longer than "
                                           f"{MAX_LESSON_CHARS:,} characters"))
    return DraftCheck(draft, report, lesson_paths)


def latest_number(content_id: str) -> int:
    """The number of the newest publication of an id; 0 when it was never published."""
    return db.session.scalar(select(func.max(Publication.number)).where(Publication.content_id == content_id)) or 0


def publish(user_id: int, draft: Draft) -> Published:
    """Store a valid draft as the next version of its id, or say it is already the newest one."""
    check = check_draft(draft)
    content = check.content
    if content is None:
        raise Refused(check)
    content_id, kind, title, language = describe_content(content, check.report.kind)
    lessons = {path: draft.lessons.get(path, "") for path in check.lesson_paths}
    digest = bundle_hash(kind, draft.text, lessons)
    if _newest_hash(content_id) == digest:
        # Sent twice (a double click, a second tab): the newest version already is this text.
        return Published(content_id, latest_number(content_id), new=False)
    if not check.ok:
        raise Refused(check)

    def apply() -> Published:
        if latest_number(content_id) != draft.base:
            raise Stale(content_id, latest_number(content_id))
        inserted = db.session.execute(upsert_insert(ContentVersion).values(
            content_id=content_id, kind=kind, content_hash=digest, source=f"published:{content_id}",
            yaml_text=draft.text, title=title, language=language, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["content_hash"]))
        version_id = db.session.scalar(select(ContentVersion.id).where(ContentVersion.content_hash == digest))
        if version_id is not None:
            store_lessons(version_id, lessons)
        number = draft.base + 1
        db.session.add(Publication(content_id=content_id, number=number, version_id=version_id,
                                   published_by=user_id, published_at=utcnow()))
        db.session.flush()  # the unique (content_id, number) decides between two trainers publishing at once
        courses_before = active_course_versions()
        db.session.execute(upsert_insert(LibraryEntry).values(
            content_id=content_id, kind=kind, version_id=version_id, active=True, updated_at=utcnow(),
        ).on_conflict_do_update(index_elements=["content_id"], set_={
            "kind": kind, "version_id": version_id, "active": True, "updated_at": utcnow()}))
        library_version.bump()
        refresh_changed_courses(courses_before)
        return Published(content_id, number, new=True)

    try:
        return write(apply, durable=True)  # a trainer was told it is published
    except IntegrityError:
        if _newest_hash(content_id) == digest:
            return Published(content_id, latest_number(content_id), new=False)
        raise Stale(content_id, latest_number(content_id)) from None


def _newest_hash(content_id: str) -> str | None:
    number = latest_number(content_id)
    return db.session.scalar(select(ContentVersion.content_hash).join(
        Publication, Publication.version_id == ContentVersion.id).where(
        Publication.content_id == content_id, Publication.number == number)) if number else None


@dataclass(frozen=True)
class StudioEntry:
    """One id in the library as the studio lists it: where it comes from and its newest publication."""

    content_id: str
    kind: str
    title: str
    source: str
    published: int  # newest publication number; 0 when the id comes from a file
    active: bool


def studio_entries() -> list[StudioEntry]:
    """Every scenario, case study and course the library knows, files and published, by id."""
    numbers = dict(db.session.execute(select(Publication.content_id, func.max(Publication.number))
                                      .group_by(Publication.content_id)).all())
    entries = db.session.scalars(select(LibraryEntry).where(
        LibraryEntry.kind.in_(("roleplay", "case_study", "course"))).order_by(LibraryEntry.content_id))
    return [StudioEntry(entry.content_id, entry.kind, entry.version.title,
                        "" if entry.content_id in numbers else entry.version.source,
                        numbers.get(entry.content_id, 0), entry.active) for entry in entries]


@dataclass(frozen=True)
class PublicationRow:
    """One publication in an id's history."""

    number: int
    published_by: str
    published_at: object
    content_hash: str


def history(content_id: str) -> list[PublicationRow]:
    """An id's publications, newest first."""
    rows = db.session.execute(select(Publication.number, User.display_name, Publication.published_at,
                                     ContentVersion.content_hash)
                              .join(User, Publication.published_by == User.id)
                              .join(ContentVersion, Publication.version_id == ContentVersion.id)
                              .where(Publication.content_id == content_id)
                              .order_by(Publication.number.desc())).all()
    return [PublicationRow(*row) for row in rows]


def open_draft(content_id: str) -> Draft:
    """The newest published version of an id as a draft to edit; NotFound when it was never published."""
    number = latest_number(content_id)
    if not number:
        raise NotFound(content_id)
    version = _publication(content_id, number).version
    return Draft(version.yaml_text, stored_lessons(version.id), content_id, number)


def _publication(content_id: str, number: int) -> Publication:
    publication = db.session.scalar(select(Publication).where(
        Publication.content_id == content_id, Publication.number == number))
    if publication is None:
        raise NotFound(f"{content_id} version {number}")
    return publication


def download(content_id: str, number: int | None = None) -> str:
    """The YAML of a publication, or of the version the library offers now, exactly as stored."""
    if number is not None:
        return _publication(content_id, number).version.yaml_text
    text = db.session.scalar(select(ContentVersion.yaml_text).join(
        LibraryEntry, LibraryEntry.version_id == ContentVersion.id).where(
        LibraryEntry.content_id == content_id, LibraryEntry.kind.in_(("roleplay", "case_study", "course"))))
    if text is None:
        raise NotFound(content_id)
    return text
