"""The library at a glance for trainers: every file with its problems, its scenario's stats and branch map."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select

from .catalogue import library_problems
from .content_sync import stored_by_hash
from .engine.branch_map import MapText, draw
from .engine.model import Scenario
from .engine.stats import Stats, scenario_stats
from .extensions import db
from .models import LibraryEntry, LibraryProblem


class NotFound(LookupError):
    """No role-play with this id in the library now."""


@dataclass(frozen=True)
class FileHealth:
    """One library file: what it defines now, what is wrong with it, and its scenario's shape."""

    path: str
    content_id: str | None = None
    kind: str | None = None
    title: str | None = None
    errors: list[LibraryProblem] = field(default_factory=list)
    warnings: list[LibraryProblem] = field(default_factory=list)
    stats: Stats | None = None

    @property
    def has_map(self) -> bool:
        """True for a role-play, the only kind with a graph to draw."""
        return self.kind == "roleplay"


@lru_cache(maxsize=256)
def _stats(kind: str, digest: str) -> Stats | None:
    """A stored scenario's stats; cached by hash, since a version never changes."""
    scenario = stored_by_hash(kind, digest)
    return scenario_stats(scenario) if isinstance(scenario, Scenario) else None


def library_health() -> list[FileHealth]:
    """Every file the last sync saw: those offered now (with stats) and those with problems, by path."""
    problems: dict[str, list[LibraryProblem]] = {}
    for problem in library_problems():
        problems.setdefault(problem.path, []).append(problem)
    files: dict[str, FileHealth] = {}
    for entry in db.session.scalars(select(LibraryEntry).where(LibraryEntry.active.is_(True))):
        version = entry.version
        found = problems.get(version.source, [])
        stats = _stats(entry.kind, version.content_hash) if entry.kind in ("roleplay", "case_study") else None
        files[version.source] = FileHealth(
            version.source, entry.content_id, entry.kind, version.title,
            [p for p in found if p.severity == "error"], [p for p in found if p.severity != "error"], stats)
    for path, found in problems.items():
        if path not in files:
            files[path] = FileHealth(path, errors=[p for p in found if p.severity == "error"],
                                     warnings=[p for p in found if p.severity != "error"])
    return [files[path] for path in sorted(files)]


@lru_cache(maxsize=256)
def _drawn(digest: str, text: MapText) -> str:
    scenario = stored_by_hash("roleplay", digest)
    assert isinstance(scenario, Scenario)
    return draw(scenario, None, text)


def branch_map(content_id: str, text: MapText) -> tuple[Scenario, str]:
    """The role-play the library offers now under this id, and its branch map as SVG."""
    entry = db.session.scalar(select(LibraryEntry).where(LibraryEntry.content_id == content_id,
                                                         LibraryEntry.active.is_(True),
                                                         LibraryEntry.kind == "roleplay"))
    if entry is None:
        raise NotFound("no such role-play")
    scenario = stored_by_hash("roleplay", entry.version.content_hash)
    assert isinstance(scenario, Scenario)
    return scenario, _drawn(entry.version.content_hash, text)
