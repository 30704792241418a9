"""What a file may refer to in its library: skills, badges, scenario and course ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LibraryIndex:
    """The ids a library defines, for checking references from one file to another."""

    root: Path | None = None
    skills: set[str] = field(default_factory=set)
    badges: set[str] = field(default_factory=set)
    scenario_kinds: dict[str, str] = field(default_factory=dict)
    courses: set[str] = field(default_factory=set)
    static_dir: Path | None = None
    trusted: bool = False  # references were checked when the text was stored; accept them as they are

    def has_skill(self, skill_id: str) -> bool:
        """True when the library defines the skill (or references are trusted)."""
        return self.trusted or skill_id in self.skills
