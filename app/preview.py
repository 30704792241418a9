"""Trainers play any scenario or draft without a trace: the state travels signed in the form, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from .content_sync import bundle_hash, current_digest, stored_content, stored_lessons, stored_scenario
from .engine.catalogue_reader import relative_inside
from .engine.model import Course, Scenario
from .engine.play import Action, ActionRefused, Playthrough, Step
from .extensions import db
from .models import ContentVersion, LibraryEntry, LibraryProblem
from .publishing import Draft, DraftCheck, check_draft

MAX_ENTRIES = 300
_SALT = "preview-state"


class NotFound(Exception):
    """No scenario or case study with that id in the library."""


class BadState(Exception):
    """The preview state was not signed by this server or does not belong to this scenario."""


@dataclass(frozen=True)
class Preview:
    """A preview at its current step, with the signed state to send with the next step."""

    scenario: Scenario
    playthrough: Playthrough
    state: str
    error: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def last_step(self) -> Step | None:
        """The step just taken, for its feedback."""
        return self.playthrough.steps[-1] if self.playthrough.steps else None

    @property
    def step_ids(self) -> list[str]:
        """Every node or question a trainer may jump to."""
        if self.scenario.is_case_study:
            return [question.id for question in self.scenario.questions]
        return list(self.scenario.nodes)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _load_state(token: str | None, digest: str) -> list[str]:
    """The entries of a signed state made for this version; none for a new preview."""
    if not token:
        return []
    try:
        state = _serializer().loads(token)
    except BadSignature:
        raise BadState("the preview state was not made by this server") from None
    if not isinstance(state, dict) or not isinstance(state.get("e"), list):
        raise BadState("the preview state is malformed")
    if state.get("v") != digest:
        return []  # the draft or the library changed under the preview: start again
    return [entry for entry in state["e"] if isinstance(entry, str)]


def _replay(scenario: Scenario, entries: list[str]) -> Playthrough:
    """Replay jumps (`j:` node) and actions (`a:` action) through the engine."""
    playthrough = Playthrough(scenario)
    for entry in entries:
        kind, _, value = entry.partition(":")
        if kind == "j":
            playthrough.jump(value)
        else:
            playthrough.apply(Action.parse(value))
    return playthrough


def _advance(scenario: Scenario, digest: str, token: str | None, action: Action | None,
             jump: str | None, notes: tuple[str, ...] = ()) -> Preview:
    entries = _load_state(token, digest)
    try:
        playthrough = _replay(scenario, entries)
    except (ActionRefused, ValueError):
        entries, playthrough = [], Playthrough(scenario)
    error = None
    entry = f"j:{jump}" if jump is not None else f"a:{action}" if action is not None else None
    if entry is not None and len(entries) >= MAX_ENTRIES:
        error = f"a preview stops after {MAX_ENTRIES} steps; restart it"
    elif entry is not None:
        try:
            if jump is not None:
                playthrough.jump(jump)
            else:
                assert action is not None
                playthrough.apply(action)
            entries.append(entry)
        except ActionRefused as exc:
            error = str(exc)
    state = _serializer().dumps({"v": digest, "e": entries})
    return Preview(scenario, playthrough, state, error, notes)


def preview_stored(content_id: str, token: str | None = None, action: Action | None = None,
                   jump: str | None = None, digest: str | None = None) -> Preview:
    """Preview the version the library offers now (or the version the state was started on)."""
    version = _version(content_id, token, digest)
    scenario = stored_scenario(version)
    notes = tuple(f"{row.line}:{row.col}: {row.message}" for row in db.session.scalars(
        select(LibraryProblem).where(LibraryProblem.path == version.source).order_by(LibraryProblem.line)))
    return _advance(scenario, version.content_hash, token, action, jump, notes)


def _version(content_id: str, token: str | None, digest: str | None) -> ContentVersion:
    """The version a preview plays: the one its state names, else the library's current one."""
    if token:
        try:
            state = _serializer().loads(token)
        except BadSignature:
            raise BadState("the preview state was not made by this server") from None
        digest = state.get("v") if isinstance(state, dict) and isinstance(state.get("v"), str) else None
    digest = digest or current_digest(content_id)
    version = db.session.scalar(select(ContentVersion).where(
        ContentVersion.content_hash == digest, ContentVersion.content_id == content_id,
        ContentVersion.kind.in_(("roleplay", "case_study")))) if digest else None
    if version is None:
        raise NotFound(content_id)
    return version


@dataclass(frozen=True)
class CoursePreview:
    """A course as trainees will find it: its modules in order, lessons rendered, scenarios by title."""

    course: Course
    lessons: dict[str, str]
    titles: dict[str, str]


def _course_preview(course: Course, lessons: dict[str, str]) -> CoursePreview:
    refs = [module.ref for module in course.modules if module.kind != "lesson"]
    titles = dict(db.session.execute(select(LibraryEntry.content_id, ContentVersion.title).join(
        ContentVersion, LibraryEntry.version_id == ContentVersion.id).where(LibraryEntry.content_id.in_(refs))).all())
    return CoursePreview(course, lessons, titles)


def preview_course(content_id: str) -> CoursePreview:
    """The course the library offers now, with its lessons: stored with it, or read from its folder."""
    version = db.session.scalar(select(ContentVersion).join(
        LibraryEntry, LibraryEntry.version_id == ContentVersion.id).where(
        LibraryEntry.content_id == content_id, ContentVersion.kind == "course"))
    if version is None:
        raise NotFound(content_id)
    course = stored_content(version)
    assert isinstance(course, Course)
    lessons = stored_lessons(version.id)
    if not lessons:
        root = Path(current_app.config["CONTENT_ROOT"])
        for module in course.modules:
            if module.kind == "lesson":
                target = relative_inside(module.ref, (root / version.source).parent, root)
                lessons[module.ref] = target.read_text(encoding="utf-8") if target and target.is_file() else ""
    return _course_preview(course, lessons)


def preview_draft(draft: Draft, token: str | None = None, action: Action | None = None,
                  jump: str | None = None) -> Preview | CoursePreview | DraftCheck:
    """Preview a draft with no errors (warnings are fine); else its check, to show the errors."""
    check = check_draft(draft)
    content = check.content
    if isinstance(content, Course) and not check.errors:
        return _course_preview(content, {path: draft.lessons.get(path, "") for path in check.lesson_paths})
    if not isinstance(content, Scenario) or check.errors:
        return check
    digest = bundle_hash(content.kind, draft.text, {})
    notes = tuple(f"{problem.line}:{problem.col}: {problem.message}" for problem in check.warnings)
    return _advance(content, digest, token, action, jump, notes)
