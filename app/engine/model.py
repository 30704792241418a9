"""Validated content as immutable plain objects: scenarios, case studies, courses, badges, skills."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

from .conditions import Expr
from .phrases import primary_language

RTL_LANGUAGES = frozenset({"fa", "ar", "he", "ur"})
ICON_NAMES = frozenset({
    "phone", "star", "trophy", "heart", "shield", "flame", "chat", "chart", "medal", "rocket", "ear", "smile",
})
DEFAULT_RUBRIC_IDS = ("empathy", "emotional-stability", "conscientiousness", "adaptability", "optimism")

EndingKind = Literal["success", "partial", "failure"]
Deltas = Mapping[str, int]


@dataclass(frozen=True)
class VariableSpec:
    """A whole-number variable with optional clamping bounds."""

    name: str
    initial: int
    min: int | None = None
    max: int | None = None
    label: str = ""
    show: bool = False

    def clamp(self, value: int) -> int:
        """Keep a value within the declared bounds."""
        if self.min is not None and value < self.min:
            return self.min
        if self.max is not None and value > self.max:
            return self.max
        return value


@dataclass(frozen=True)
class PhraseGroup:
    """A look_for or avoid group: any phrase matching earns the group once."""

    phrases: tuple[str, ...]
    points: int = 0
    skills: Deltas = field(default_factory=dict)
    feedback: str | None = None


@dataclass(frozen=True)
class Reply:
    """A free-text turn: limits, base points, phrase groups and where it leads."""

    prompt: str | None = None
    min_words: int = 1
    max_chars: int = 2000
    points: int = 0
    look_for: tuple[PhraseGroup, ...] = ()
    avoid: tuple[PhraseGroup, ...] = ()
    goto: str | None = None


@dataclass(frozen=True)
class Choice:
    """One offered choice in a role-play node."""

    id: str
    text: str
    goto: str
    points: int = 0
    skills: Deltas = field(default_factory=dict)
    change: Deltas = field(default_factory=dict)
    set: Deltas = field(default_factory=dict)
    feedback: str | None = None
    condition: str | None = None
    expr: Expr | None = None


@dataclass(frozen=True)
class Node:
    """A role-play step: choices, a reply turn, or an ending."""

    id: str
    narrate: str | None = None
    say: str | None = None
    choices: tuple[Choice, ...] = ()
    reply: Reply | None = None
    ending: EndingKind | None = None
    debrief: str | None = None


@dataclass(frozen=True)
class Option:
    """An answer option of a case-study question."""

    text: str
    correct: bool = False
    feedback: str | None = None


@dataclass(frozen=True)
class Question:
    """A case-study question: options with one correct answer, or a free-text reply."""

    id: str
    ask: str
    points: int = 0
    options: tuple[Option, ...] = ()
    reply: Reply | None = None


@dataclass(frozen=True)
class RubricItem:
    """A criterion a mentor scores from 0 to `max`."""

    id: str
    label: str
    max: int = 5


@dataclass(frozen=True)
class Persona:
    """Who the trainee is talking to."""

    name: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A role-play or a case study."""

    id: str
    title: str
    kind: Literal["roleplay", "case_study"] = "roleplay"
    language: str = "en"
    summary: str | None = None
    skills: tuple[str, ...] = ()
    difficulty: int = 1
    minutes: int | None = None
    tags: tuple[str, ...] = ()
    pass_points: int | None = None
    rubric: tuple[RubricItem, ...] = ()
    review: bool = False
    persona: Persona | None = None
    variables: Mapping[str, VariableSpec] = field(default_factory=dict)
    start: str | None = None
    nodes: Mapping[str, Node] = field(default_factory=dict)
    case: str | None = None
    questions: tuple[Question, ...] = ()

    @property
    def is_case_study(self) -> bool:
        """True for a case study, False for a role-play."""
        return self.kind == "case_study"

    @property
    def rtl(self) -> bool:
        """True when the scenario's language is written right to left."""
        return primary_language(self.language) in RTL_LANGUAGES


@dataclass(frozen=True)
class Module:
    """One step of a course: a lesson file, a role-play or a case study."""

    kind: Literal["lesson", "scenario", "case_study"]
    ref: str
    title: str | None = None


@dataclass(frozen=True)
class Course:
    """An ordered set of modules with an unlock rule."""

    id: str
    title: str
    language: str = "en"
    description: str | None = None
    unlock: Literal["sequential", "open"] = "sequential"
    modules: tuple[Module, ...] = ()
    badge: str | None = None


@dataclass(frozen=True)
class Criteria:
    """What a trainee must reach for a badge; every given key must hold."""

    completed: int | None = None
    passed: int | None = None
    perfect: int | None = None
    points: int | None = None
    skills: Deltas = field(default_factory=dict)
    skill_tag: str | None = None
    course: str | None = None
    streak_days: int | None = None
    reviewed: int | None = None


@dataclass(frozen=True)
class Badge:
    """An award with its criteria."""

    id: str
    name: str
    description: str | None = None
    icon: str | None = None
    criteria: Criteria = Criteria()
    # Optional bonus points paid into the ledger when the badge is awarded (an extension of the format).
    points: int = 0


@dataclass(frozen=True)
class Skill:
    """A skill trainees build."""

    id: str
    name: str
    description: str | None = None
