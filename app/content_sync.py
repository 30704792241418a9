"""Sync the YAML library into the database as immutable versions, and read stored versions back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import bindparam, delete, func, select, text, true, update

from . import board_cache, library_version
from .database import upsert_insert, write
from .engine.library import read_stored
from .engine.model import Badge, Course, Scenario, Skill
from .engine.validate import validate
from .extensions import db
from .lessons import read_lessons, store_lessons, with_lessons
from .models import ContentVersion, LessonText, LibraryEntry, LibraryProblem, Publication
from .models.users import utcnow
from .scores import refresh_course_scores

CATALOGUE_IDS = {"skills": "catalogue:skills", "badges": "catalogue:badges"}


@dataclass(frozen=True)
class SyncResult:
    """What a sync did: files seen, versions added, files skipped for errors."""

    files: int
    new_versions: int
    skipped: list[str]


def content_hash(kind: str, source_text: str) -> str:
    """The identity of a version: its kind and its exact text."""
    return hashlib.sha256(f"{kind}\n{source_text}".encode("utf-8")).hexdigest()


def bundle_hash(kind: str, source_text: str, lessons: dict[str, str]) -> str:
    """The identity of a version with its lessons, the same whether it came from a file or was published."""
    return content_hash(kind, with_lessons(source_text, lessons))


def published_kinds() -> dict[str, str]:
    """Every id published from the browser, with its kind (roleplay, case_study or course)."""
    return dict(db.session.execute(select(Publication.content_id, ContentVersion.kind).join(
        ContentVersion, Publication.version_id == ContentVersion.id).distinct()).all())


def latest_publications() -> dict[str, int]:
    """Each published id's newest version row."""
    newest = select(Publication.content_id, func.max(Publication.number).label("number")).group_by(
        Publication.content_id).subquery()
    return dict(db.session.execute(select(Publication.content_id, Publication.version_id).join(
        newest, (Publication.content_id == newest.c.content_id) & (Publication.number == newest.c.number))).all())


def sync_library(root: Path, static_dir: Path | None) -> SyncResult:
    """Store each valid file's current text as a version and point the catalogue at it.

    Content published from the browser is the second source: it stays in the catalogue, and a file that
    defines a published id is an error (skipped, and listed on the problems page): published content wins.
    """
    reports = validate([], root, static_dir, published=published_kinds())

    def apply() -> SyncResult:
        if db.engine.dialect.name == "postgresql":
            # One sync at a time across workers; the lock ends with the transaction.
            db.session.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        db.session.execute(delete(LibraryProblem))
        courses_before = active_course_versions()
        seen: set[str] = set()
        skipped: list[str] = []
        new_versions = 0
        for report in reports:
            db.session.add_all(LibraryProblem(path=report.display, line=p.line, col=p.col, severity=p.severity,
                                              message=p.message) for p in report.problems)
            if report.errors or report.content is None:
                # Trainees keep the last good version of a file that now has errors.
                skipped.append(report.display)
                continue
            content_id, kind, title, language = describe_content(report.content, report.kind)
            # The very text the checks read: a file saved again since then waits for the next sync.
            source_text = report.source_text
            lessons = read_lessons(report.content, report.path, root) if isinstance(report.content, Course) else {}
            digest = content_hash(kind, with_lessons(source_text, lessons))
            inserted = db.session.execute(upsert_insert(ContentVersion).values(
                content_id=content_id, kind=kind, content_hash=digest, source=report.display,
                yaml_text=source_text, title=title, language=language, created_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=["content_hash"]).returning(ContentVersion.id))
            # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT that adds nothing.
            version_id = inserted.scalar()
            new_versions += version_id is not None
            if version_id is None:
                version_id = db.session.scalar(select(ContentVersion.id).where(ContentVersion.content_hash == digest))
            store_lessons(version_id, lessons)
            db.session.execute(upsert_insert(LibraryEntry).values(
                content_id=content_id, kind=kind, version_id=version_id, active=True, updated_at=utcnow(),
            ).on_conflict_do_update(index_elements=["content_id"], set_={
                "kind": kind, "version_id": version_id, "active": True, "updated_at": utcnow()}))
            seen.add(content_id)
        for content_id, version_id in latest_publications().items():
            kind = db.session.scalar(select(ContentVersion.kind).where(ContentVersion.id == version_id))
            db.session.execute(upsert_insert(LibraryEntry).values(
                content_id=content_id, kind=kind, version_id=version_id, active=True, updated_at=utcnow(),
            ).on_conflict_do_update(index_elements=["content_id"], set_={
                "kind": kind, "version_id": version_id, "active": True, "updated_at": utcnow()}))
            seen.add(content_id)
        # Trainees keep the last good version of a file that now has errors.
        seen.update(db.session.scalars(select(LibraryEntry.content_id).join(
            ContentVersion, LibraryEntry.version_id == ContentVersion.id).where(ContentVersion.source.in_(skipped))))
        gone = LibraryEntry.content_id.not_in(seen) if seen else true()
        db.session.execute(update(LibraryEntry).where(gone).values(active=False))
        library_version.bump()
        refresh_changed_courses(courses_before)
        return SyncResult(files=len(reports), new_versions=new_versions, skipped=skipped)

    return write(apply)


def active_course_versions() -> dict[str, tuple[int, str]]:
    """Each active course's version id and hash."""
    return {row.content_id: (row.version_id, row.content_hash) for row in db.session.execute(
        select(LibraryEntry.content_id, LibraryEntry.version_id, ContentVersion.content_hash)
        .join(ContentVersion, ContentVersion.id == LibraryEntry.version_id)
        .where(LibraryEntry.kind == "course", LibraryEntry.active.is_(True)))}


def refresh_changed_courses(before: dict[str, tuple[int, str]]) -> None:
    """Recompute the boards of courses that appeared, changed version or went away since `before`."""
    after = active_course_versions()
    for course_id in sorted(set(before) | set(after)):
        if before.get(course_id) == after.get(course_id):
            continue
        course = stored_by_hash("course", after[course_id][1]) if course_id in after else None
        refs = [module.ref for module in course.modules if module.kind != "lesson"] if isinstance(course, Course) else []
        refresh_course_scores(course_id, refs)
        board_cache.bump_version()


def describe_content(content: object, kind: str) -> tuple[str, str, str, str]:
    """The stored id, kind, title and language of a built file."""
    if isinstance(content, Scenario):
        return content.id, content.kind, content.title, content.language
    if isinstance(content, Course):
        return content.id, "course", content.title, content.language
    return CATALOGUE_IDS[kind], kind, kind.title(), "en"


@lru_cache(maxsize=512)
def stored_by_hash(kind: str, digest: str) -> Scenario | Course | list[Badge] | list[Skill]:
    """A stored version built back into engine objects; cached by hash, since a version never changes."""
    source_text = db.session.scalar(select(ContentVersion.yaml_text).where(ContentVersion.content_hash == digest))
    if source_text is None:
        raise LookupError(f"no stored version {digest}")
    return read_stored(kind, source_text)


def stored_content(version: ContentVersion) -> Scenario | Course | list[Badge] | list[Skill]:
    """A stored version built back into engine objects."""
    return stored_by_hash(version.kind, version.content_hash)


_VERSIONS, _ENTRIES = ContentVersion.__table__, LibraryEntry.__table__
# Built once: pages ask for the skills catalogue's digest on every visit.
_CURRENT_DIGEST = (select(_VERSIONS.c.content_hash)
                   .join_from(_ENTRIES, _VERSIONS, _VERSIONS.c.id == _ENTRIES.c.version_id)
                   .where(_ENTRIES.c.content_id == bindparam("content_id"), _ENTRIES.c.active.is_(True)))


def current_digest(content_id: str) -> str | None:
    """The hash of the version the library offers now for an id, if any."""
    return db.session.connection().execute(_CURRENT_DIGEST, {"content_id": content_id}).scalar()


def stored_scenario(version: ContentVersion) -> Scenario:
    """A stored role-play or case study."""
    content = stored_content(version)
    if not isinstance(content, Scenario):
        raise TypeError(f"version {version.id} is a {version.kind}, not a scenario")
    return content


def stored_lessons(version_id: int) -> dict[str, str]:
    """The lessons stored with a course version (from its files, or published with it), by path."""
    return dict(db.session.execute(select(LessonText.ref, LessonText.markdown)
                                   .where(LessonText.version_id == version_id)).all())
