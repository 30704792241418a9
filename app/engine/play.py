"""Play a scenario deterministically: offered actions, scoring, transcript and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping

from . import conditions, phrases
from .model import Choice, Node, PhraseGroup, Question, Reply, Scenario

Outcome = Literal["passed", "completed", "failed", "unfinished"]


class ActionRefused(ValueError):
    """An action that is not offered at the current step; the attempt is unchanged."""

    def __init__(self, message: str, step: str, offered: list[str]):
        super().__init__(message)
        self.step = step
        self.offered = offered


def is_plain_number(text: str) -> bool:
    """ASCII digits only, at most nine: `²` or `١` pass str.isdigit but not int(), and huge numbers mean nothing."""
    return text.isascii() and text.isdigit() and len(text) <= 9


@dataclass(frozen=True)
class Action:
    """A trainee's action: choose a choice id, write a reply, or answer an option by its 1-based number."""

    kind: Literal["choose", "reply", "answer"]
    value: str

    @classmethod
    def parse(cls, text: str) -> "Action":
        """Read an action as the play command writes it: `id`, `reply:TEXT` or an option number."""
        if text.startswith("reply:"):
            return cls("reply", text[len("reply:"):])
        if is_plain_number(text):
            return cls("answer", text)
        return cls("choose", text)

    def __str__(self) -> str:
        return f"reply:{self.value}" if self.kind == "reply" else self.value


@dataclass(frozen=True)
class Step:
    """One transcript entry: what was shown, what the trainee did, and what it earned."""

    number: int
    node: str
    action: str
    shown: dict[str, str | None]
    answer: str
    points: int
    skills: dict[str, int]
    feedback: tuple[str, ...]
    matched: tuple[str, ...] = ()
    avoided: tuple[str, ...] = ()
    correct: bool | None = None


@dataclass
class Playthrough:
    """The state of one attempt at a scenario, advanced one action at a time."""

    scenario: Scenario
    variables: dict[str, int] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    scored: set[str] = field(default_factory=set)
    raw_points: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    position: str | None = None
    question_index: int = 0
    finished: bool = False
    stuck: bool = False

    def __post_init__(self) -> None:
        self.variables = {name: spec.initial for name, spec in self.scenario.variables.items()}
        if not self.scenario.is_case_study:
            start = self.scenario.start or next(iter(self.scenario.nodes), None)
            if start is None:
                raise ValueError(f"scenario {self.scenario.id!r} has no nodes")
            self._enter(start)
        elif not self.scenario.questions:
            self.finished = True

    # -- what the trainee sees -------------------------------------------------------------------

    @property
    def node(self) -> Node | None:
        """The current role-play node (None for a case study)."""
        return self.scenario.nodes[self.position] if self.position is not None else None

    @property
    def question(self) -> Question | None:
        """The current case-study question, or None when there is none."""
        if not self.scenario.is_case_study or self.question_index >= len(self.scenario.questions):
            return None
        return self.scenario.questions[self.question_index]

    @property
    def step_id(self) -> str:
        """The id of the current node or question."""
        question = self.question
        if question is not None:
            return question.id
        return self.position or ""

    def offered(self) -> list[Choice]:
        """The choices offered now: those whose condition holds."""
        node = self.node
        if self.finished or node is None:
            return []
        return [choice for choice in node.choices if self._holds(choice)]

    @property
    def reply(self) -> Reply | None:
        """The free-text turn awaited now, if any."""
        if self.finished:
            return None
        if self.scenario.is_case_study:
            question = self.question
            return question.reply if question else None
        node = self.node
        return node.reply if node else None

    @property
    def points(self) -> int:
        """The attempt's total so far, floored at 0."""
        return max(0, self.raw_points)

    @property
    def ending(self) -> str | None:
        """The kind of ending reached, if any."""
        node = self.node
        return node.ending if self.finished and node is not None else None

    @property
    def outcome(self) -> Outcome:
        """passed, completed, failed or unfinished, by the spec's rules."""
        if not self.finished:
            return "unfinished"
        if self.scenario.is_case_study:
            return "passed" if self._case_passed() else "completed"
        if self.ending == "failure":
            return "failed"
        if self.ending == "success" and (self.scenario.pass_points is None
                                         or self.points >= self.scenario.pass_points):
            return "passed"
        return "completed"

    def _case_passed(self) -> bool:
        if self.scenario.pass_points is not None:
            return self.points >= self.scenario.pass_points
        return all(step.correct for step in self.steps if step.correct is not None)

    def describe_offer(self) -> list[str]:
        """The actions accepted now, written as the play command takes them."""
        if self.finished:
            return []
        if self.reply is not None:
            return ["reply:TEXT"]
        question = self.question
        if question is not None:
            return [str(number) for number in range(1, len(question.options) + 1)]
        return [choice.id for choice in self.offered()]

    # -- acting ----------------------------------------------------------------------------------

    def apply(self, action: Action) -> Step:
        """Apply one action, or raise ActionRefused and change nothing."""
        if self.finished:
            raise ActionRefused(f"the attempt has finished ({self.outcome}); no more actions are accepted",
                                self.step_id, [])
        reply = self.reply
        if reply is not None:
            if action.kind != "reply":
                self._refuse(action, "a written reply is expected here (reply:TEXT)")
            return self._reply(reply, action)
        if self.scenario.is_case_study:
            return self._answer(action)
        return self._choose(action)

    def jump(self, step_id: str) -> None:
        """Move to any node or question, keeping variables and points so far: a trainer's preview shortcut."""
        if self.scenario.is_case_study:
            ids = [question.id for question in self.scenario.questions]
            if step_id not in ids:
                raise ActionRefused(f"there is no question {step_id!r}", self.step_id, ids)
            self.question_index = ids.index(step_id)
            self.finished = False
            return
        if step_id not in self.scenario.nodes:
            raise ActionRefused(f"there is no node {step_id!r}", self.step_id, list(self.scenario.nodes))
        self.finished = self.stuck = False
        self._enter(step_id)

    def _refuse(self, action: Action, reason: str) -> None:
        offered = self.describe_offer()
        where = "question" if self.scenario.is_case_study else "node"
        message = f"at {where} {self.step_id!r}: {str(action)!r} is not offered; {reason}"
        raise ActionRefused(message, self.step_id, offered)

    def _choose(self, action: Action) -> Step:
        offered = {choice.id: choice for choice in self.offered()}
        # An all-digit choice id reads like an option number; in a role-play it names the choice.
        choice = offered.get(action.value) if action.kind in ("choose", "answer") else None
        if choice is None:
            self._refuse(action, f"offered: {', '.join(offered) or 'nothing'}")
        assert choice is not None and self.node is not None
        node = self.node
        for name, value in choice.set.items():
            self.variables[name] = self.scenario.variables[name].clamp(value)
        for name, value in choice.change.items():
            self.variables[name] = self.scenario.variables[name].clamp(self.variables[name] + value)
        points, skills = self._score(f"{node.id}/{choice.id}", choice.points, choice.skills)
        step = self._record(node.id, action, _shown(node), choice.text, points, skills,
                            tuple(filter(None, [choice.feedback])))
        self._enter(choice.goto)
        return step

    def _reply(self, reply: Reply, action: Action) -> Step:
        text = action.value
        language = self.scenario.language
        word_count = phrases.count_words(text, language)
        if word_count < reply.min_words:
            self._refuse(action, f"the reply has {word_count} words; write at least {reply.min_words}")
        if phrases.count_chars(text) > reply.max_chars:
            self._refuse(action, f"the reply is longer than {reply.max_chars} characters")
        words = phrases.words(text, language)
        found = [group for group in reply.look_for if _group_matches(group, words, language)]
        avoided = [group for group in reply.avoid if _group_matches(group, words, language)]
        earned = reply.points + sum(group.points for group in found + avoided)
        gained: dict[str, int] = {}
        for group in found + avoided:
            for name, value in group.skills.items():
                gained[name] = gained.get(name, 0) + value
        step_id = self.step_id
        points, skills = self._score(f"{step_id}/reply", earned, gained)
        feedback = tuple(group.feedback for group in found + avoided if group.feedback)
        shown = _shown(self.node) if self.node else _question_shown(self.question)
        shown["prompt"] = reply.prompt
        step = self._record(step_id, action, shown, text, points, skills, feedback,
                            matched=tuple(_first_phrase(group, words, language) for group in found),
                            avoided=tuple(_first_phrase(group, words, language) for group in avoided))
        self._advance(reply.goto)
        return step

    def _answer(self, action: Action) -> Step:
        question = self.question
        assert question is not None
        number = int(action.value) if action.kind == "answer" and is_plain_number(action.value) else 0
        if not 1 <= number <= len(question.options):
            self._refuse(action, f"answer with an option number from 1 to {len(question.options)}")
        option = question.options[number - 1]
        points, skills = self._score(f"{question.id}/options", question.points if option.correct else 0, {})
        step = self._record(question.id, action, _question_shown(question), option.text, points, skills,
                            tuple(filter(None, [option.feedback])), correct=option.correct)
        self._advance(None)
        return step

    def _advance(self, goto: str | None) -> None:
        if self.scenario.is_case_study:
            self.question_index += 1
            self.finished = self.question_index >= len(self.scenario.questions)
        elif goto is not None:
            self._enter(goto)

    def _score(self, key: str, points: int, skills: Mapping[str, int]) -> tuple[int, dict[str, int]]:
        """Award points and skills the first time `key` scores in this attempt; later times earn nothing."""
        if key in self.scored:
            return 0, {}
        self.scored.add(key)
        gained = {name: value for name, value in skills.items() if value}
        self.raw_points += points
        for name, value in gained.items():
            self.skills[name] = self.skills.get(name, 0) + value
        return points, gained

    def _record(self, node: str, action: Action, shown: dict[str, str | None], answer: str, points: int,
                skills: dict[str, int], feedback: tuple[str, ...], **extra: object) -> Step:
        step = Step(len(self.steps) + 1, node, str(action), shown, answer, points, skills, feedback,
                    **extra)  # type: ignore[arg-type]
        self.steps.append(step)
        return step

    def _enter(self, node_id: str) -> None:
        self.position = node_id
        if node_id not in self.visited:
            self.visited.append(node_id)
        node = self.scenario.nodes[node_id]
        if node.ending is not None:
            self.finished = True
        elif node.reply is None and not self.offered():
            self.finished = True
            self.stuck = True

    def _holds(self, choice: Choice) -> bool:
        if choice.expr is None:
            return True
        visited = set(self.visited)
        return bool(conditions.evaluate(choice.expr, self.variables, visited.__contains__))


def _shown(node: Node) -> dict[str, str | None]:
    return {"narrate": node.narrate, "say": node.say}


def _question_shown(question: Question | None) -> dict[str, str | None]:
    return {"ask": question.ask if question else None}


def _group_matches(group: PhraseGroup, reply_words: tuple[str, ...], language: str) -> bool:
    return any(phrases.matches(phrases.phrase_words(phrase, language), reply_words) for phrase in group.phrases)


def _first_phrase(group: PhraseGroup, reply_words: tuple[str, ...], language: str) -> str:
    return next(phrase for phrase in group.phrases
                if phrases.matches(phrases.phrase_words(phrase, language), reply_words))


def play(scenario: Scenario, actions: Iterable[Action | str]) -> Playthrough:
    """Play actions from the start; raise ActionRefused at the first one not offered."""
    playthrough = Playthrough(scenario)
    for action in actions:
        playthrough.apply(action if isinstance(action, Action) else Action.parse(action))
    return playthrough
