"""Property tests: the loader and the validator never crash; played attempts keep the spec's invariants."""

from __future__ import annotations

import operator
import re
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.engine import stats as stats_module
from app.engine.library import Library
from app.engine.model import Option, Question, Scenario
from app.engine.play import Action, ActionRefused, Playthrough
from app.engine.problems import ContentError
from app.engine.stats import scenario_stats
from app.engine.validate import render_json, render_text, validate
from app.engine.yamlsafe import Loaded, load_bytes, load_text

# Modest example counts keep this file well under 30 s; raise them locally to hunt for bugs.
SETTINGS = settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
VALIDATOR_SETTINGS = settings(SETTINGS, max_examples=120)
SKILLS = ("empathy", "de-escalation", "positive-language", "analysis")
SKILLS_YAML = "skills:\n" + "".join(f"  - {{id: {skill}, name: {skill.title()}}}\n" for skill in SKILLS)


# ===========================================================================================
# (a) the loader answers every input with data or a ContentError
# ===========================================================================================

YAMLISH = ":-[]{}#&*!|>\"' \n\t\r,?%@`~.0123456789abcIİıé\ufeff"
YAML_LINE = (r"\A(( {0,4}(- )?[a-zI]{1,3}: ?(yes|No|on|~|[0-9]{1,4}|-?[0-9]\.[0-9]|2024-0[1-9]-1[0-9]|"
             r"'[a-z ]*'|\"[a-z\\]*\"|\[[a-z, ]*\]?|\{[a-z:, ]*\}?|&a|\*a|!!python/object:x|!x|\||>|#c)?\n)"
             r"|(---|\.\.\.|%YAML 1\.1)\n){1,8}\Z")

yamlish_text = st.one_of(
    st.text(alphabet=YAMLISH, max_size=120),
    st.from_regex(YAML_LINE),
    st.lists(st.sampled_from(["a", "b: ", ": ", "- ", "[", "]", "{", "}", ", ", "\n", "  ", "&x ", "*x", "!!str ",
                              "!!python/name:os.system ", "'", '"', "yes", "2024-01-01", "#", "|\n", "? ", "---\n",
                              "İ", "ı", "é", "\t", "\r\n", "\x07"]), max_size=40).map("".join),
)


def check_loaded_or_refused(load: Callable[[Any], Loaded], source: Any) -> None:
    try:
        loaded = load(source)
    except ContentError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.col >= 1, problem
            assert problem.severity == "error" and problem.message
        return
    assert isinstance(loaded.data, dict)
    for problem in loaded.problems:
        assert problem.line >= 1 and problem.col >= 1, problem
    for mark in [*loaded.key_marks.values(), *loaded.value_marks.values()]:
        assert mark.line >= 1 and mark.col >= 1


@SETTINGS
@given(st.binary(max_size=300))
def test_load_bytes_on_random_bytes_returns_a_mapping_or_a_content_error(raw: bytes) -> None:
    check_loaded_or_refused(load_bytes, raw)


@SETTINGS
@given(yamlish_text)
def test_load_bytes_on_yamlish_text_returns_a_mapping_or_a_content_error(text: str) -> None:
    check_loaded_or_refused(load_bytes, text.encode("utf-8"))
    check_loaded_or_refused(load_text, text)


@SETTINGS
@given(st.text(st.characters(exclude_categories=()), max_size=200))
def test_load_text_on_any_text_returns_a_mapping_or_a_content_error(text: str) -> None:
    # Lone surrogates included: text decoded with errors="surrogateescape" may hold them.
    check_loaded_or_refused(load_text, text)


@pytest.fixture(params=["libyaml", "pure-python"])
def either_parser(request: pytest.FixtureRequest) -> Iterator[None]:
    from app.engine import yamlsafe
    parser = getattr(yaml, "CSafeLoader", None) if request.param == "libyaml" else yaml.SafeLoader
    if parser is None:
        pytest.skip("PyYAML is built without libyaml")
    with mock.patch.object(yamlsafe, "_Loader", parser):
        yield


def test_both_parsers_never_raise_anything_else(either_parser: None) -> None:
    @settings(deadline=None, max_examples=150)
    @given(st.one_of(st.binary(max_size=200), yamlish_text.map(lambda text: text.encode("utf-8"))))
    def run(raw: bytes) -> None:
        check_loaded_or_refused(load_bytes, raw)
    run()


# Plain data that YAML can hold, for round trips and for the validator.
plain_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff"),
                     max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), plain_text,
                    st.floats(allow_nan=False, allow_infinity=False, width=32), st.dates())
documents = st.dictionaries(plain_text, st.recursive(
    scalars, lambda children: st.one_of(st.lists(children, max_size=4),
                                        st.dictionaries(plain_text, children, max_size=4)),
    max_leaves=15), max_size=6)


@SETTINGS
@given(documents)
def test_safe_dumped_documents_read_back_as_pyyaml_reads_them(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    loaded = load_text(text)
    assert loaded.problems == []
    assert loaded.data == yaml.safe_load(text) == document


bracket_text = st.text(st.sampled_from("[]{}'\"#|>:-?&*!,% \n\tabİış"), max_size=150)
bracket_documents = st.dictionaries(st.sampled_from(["a", "b", "title", "x-y"]), st.one_of(
    bracket_text, st.lists(bracket_text, max_size=3), st.dictionaries(bracket_text, bracket_text, max_size=2)),
    min_size=1, max_size=4)


@SETTINGS
@given(bracket_documents, st.sampled_from([None, True, False]), st.sampled_from([20, 80, 1000]))
def test_text_full_of_brackets_and_quotes_is_not_taken_for_nesting(document: dict[str, Any], flow: bool | None,
                                                                   width: int) -> None:
    """The cheap nesting scan must not refuse text that only looks like brackets, however PyYAML quotes it."""
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=flow, width=width)
    assert load_text(text).data == document


# ===========================================================================================
# (b) the full validator never raises
# ===========================================================================================

@contextmanager
def library(files: dict[str, str]) -> Iterator[Path]:
    """A throwaway library holding a skills catalogue and the given files."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "scenarios").mkdir()
        (root / "courses").mkdir()
        (root / "courses" / "skills.yaml").write_text(SKILLS_YAML, encoding="utf-8")
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        yield root


def validate_everything(root: Path, paths: list[Path]) -> None:
    """Run the validator as the command does and check the shape of what it says."""
    reports = validate([str(path) for path in paths], root)
    assert len(reports) == len(paths)
    for report in reports:
        for problem in report.problems:
            assert problem.line >= 1 and problem.col >= 1 and problem.severity in ("error", "warning")
            assert problem.message
    render_text(reports)
    render_json(reports)


SCENARIO_KEYS = ["id", "title", "kind", "language", "summary", "skills", "difficulty", "minutes", "tags",
                 "pass_points", "rubric", "review", "persona", "variables", "start", "nodes", "case", "questions",
                 "narrate", "say", "choices", "reply", "ending", "debrief", "text", "points", "change", "set",
                 "feedback", "if", "goto", "prompt", "min_words", "max_chars", "look_for", "avoid", "phrases",
                 "initial", "min", "max", "label", "show", "name", "role", "ask", "options", "correct", "modules",
                 "lesson", "scenario", "case_study", "badge", "badges", "criteria", "icon", "completed", "passed",
                 "x-note", "a", "b", "mood", "empathy"]
VALUE_WORDS = ["success", "failure", "partial", "roleplay", "case_study", "a", "b", "mood", "mood >= 1",
               "visited(a)", "empathy", "en", "tr", "q1", "sequential", "open", "", " ", "yes", "1 < x < 3"]
keys = st.one_of(st.sampled_from(SCENARIO_KEYS), plain_text)
values = st.recursive(
    st.one_of(scalars, st.sampled_from(VALUE_WORDS), st.integers(-3, 12)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25)
vocabulary_documents = st.dictionaries(keys, values, max_size=8)
PLACES = ["scenarios/x.yaml", "scenarios/deep/y.yml", "courses/c.yaml", "courses/badges.yaml", "courses/skills.yaml"]


@VALIDATOR_SETTINGS
@given(st.one_of(documents, vocabulary_documents), st.sampled_from(PLACES))
def test_the_validator_never_raises_on_random_documents(document: dict[str, Any], place: str) -> None:
    with library({place: yaml.safe_dump(document, allow_unicode=True)}) as root:
        validate_everything(root, [root / place])


VALID_SCENARIO: dict[str, Any] = {
    "id": "late", "title": "Late", "language": "en", "skills": ["empathy"], "difficulty": 2, "pass_points": 5,
    "persona": {"name": "Ayşe", "role": "Customer"},
    "variables": {"mood": {"initial": 1, "min": 0, "max": 3, "label": "Mood", "show": True}},
    "nodes": {
        "a": {"say": "Hi", "choices": [
            {"id": "kind", "text": "Sorry", "points": 5, "skills": {"empathy": 1}, "change": {"mood": 1},
             "goto": "b"},
            {"text": "Blame", "points": -5, "if": "mood >= 1 and not visited(b)", "set": {"mood": 0}, "goto": "f"}]},
        "b": {"reply": {"prompt": "Say", "min_words": 2, "points": 1, "goto": "s",
                        "look_for": [{"phrases": ["I will"], "points": 3, "skills": {"empathy": 1}}],
                        "avoid": [{"phrases": ["cannot"], "points": -2, "feedback": "No."}]}},
        "s": {"ending": "success", "debrief": "Good"},
        "f": {"ending": "failure"},
    },
}
VALID_CASE: dict[str, Any] = {
    "id": "case", "title": "Case", "kind": "case_study", "case": "Text", "pass_points": 5,
    "questions": [{"id": "q1", "ask": "Which?", "points": 5,
                   "options": [{"text": "A", "correct": True}, {"text": "B"}]},
                  {"ask": "Why?", "reply": {"min_words": 3, "points": 2}}],
}


def paths_in(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_in(child, path + (index,))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario or case study with a few random edits: deletions, replacements, additions."""
    document = yaml.safe_load(yaml.safe_dump(draw(st.sampled_from([VALID_SCENARIO, VALID_CASE]))))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths_in(document)))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        edit = draw(st.sampled_from(["delete", "replace", "add"]))
        if not path:
            continue
        last = path[-1]
        if edit == "delete":
            del parent[last]
        elif edit == "replace":
            parent[last] = draw(values)
        elif isinstance(parent[last], dict):
            parent[last][draw(keys)] = draw(values)
        elif isinstance(parent[last], list):
            parent[last].append(draw(values))
    return document


@VALIDATOR_SETTINGS
@given(mutated_documents())
def test_the_validator_never_raises_on_mutated_scenarios(document: dict[str, Any]) -> None:
    with library({"scenarios/m.yaml": yaml.safe_dump(document, allow_unicode=True)}) as root:
        validate_everything(root, [root / "scenarios/m.yaml"])


def test_the_unmutated_documents_are_valid() -> None:
    with library({"scenarios/a.yaml": yaml.safe_dump(VALID_SCENARIO), "scenarios/b.yaml": yaml.safe_dump(VALID_CASE)}
                 ) as root:
        reports = validate([], root)
        assert [report.errors for report in reports] == [[], [], []]


@pytest.mark.parametrize("nodes", [
    "a:\n    choices:\n      - {text: x, goto: b}\n  b: 5\n  e: {ending: success}\n",
    "a:\n    choices:\n      - {text: x, goto: Bad}\n  Bad: {ending: success}\n",
    "a:\n    choices:\n      - {text: x}\n      - {text: y, goto: e}\n  e: {ending: success}\n",
    "a:\n    reply: {goto: b}\n  b: [oops]\n  e: {ending: success}\n",
], ids=["goto-to-a-non-mapping-node", "goto-to-a-bad-node-id", "choice-without-goto", "reply-goto-to-a-list"])
def test_validator_survives_a_goto_to_a_node_it_dropped(nodes: str) -> None:
    # Once a crash (KeyError in stats._search): the reader drops a broken node but gotos still name it.
    with library({"scenarios/s.yaml": "id: s\ntitle: S\nnodes:\n  " + nodes}) as root:
        [report] = validate([str(root / "scenarios/s.yaml")], root)
        assert report.errors


def test_validator_survives_a_start_naming_a_node_it_dropped() -> None:
    with library({"scenarios/s.yaml": "id: s\ntitle: S\nstart: b\nnodes:\n  a: {ending: success}\n  b: 5\n"}) as root:
        [report] = validate([str(root / "scenarios/s.yaml")], root)
        assert report.errors


# ===========================================================================================
# (c) random valid role-plays played with random actions
# ===========================================================================================

WORDS = ("sorry", "refund", "today", "call", "will", "cannot", "order", "late", "help", "fix")
SEPARATORS = (" ", " ", "-", "_", ", ", "! ", "’")
COMPARE: dict[str, Callable[[int, int], bool]] = {"==": operator.eq, "!=": operator.ne, "<": operator.lt,
                                                   "<=": operator.le, ">": operator.gt, ">=": operator.ge}

# A condition as a small tree: ("num", k) | ("var", name) | ("visited", node) | ("not", e) | ("and"|"or", [e...])
# | ("cmp", op, a, b). Rendered to the `if:` language and evaluated here independently.
Tree = tuple[Any, ...]


def condition_trees(variables: list[str], nodes: list[str]) -> st.SearchStrategy[Tree]:
    atoms = [st.tuples(st.just("num"), st.integers(-3, 4)), st.tuples(st.just("visited"), st.sampled_from(nodes))]
    if variables:
        atoms.append(st.tuples(st.just("var"), st.sampled_from(variables)))
    atom = st.one_of(atoms)
    comparison = st.tuples(st.just("cmp"), st.sampled_from(sorted(COMPARE)), atom, atom)
    return st.recursive(st.one_of(atom, comparison), lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)),
        st.tuples(st.just("cmp"), st.sampled_from(sorted(COMPARE)), inner, atom),
    ), max_leaves=5)


def render(tree: Tree) -> str:
    kind = tree[0]
    if kind == "num":
        return str(tree[1])
    if kind == "var":
        return tree[1]
    if kind == "visited":
        return f"visited({tree[1]})"
    if kind == "not":
        return f"not ({render(tree[1])})"
    if kind in ("and", "or"):
        return f" {kind} ".join(f"({render(part)})" for part in tree[1])
    return f"({render(tree[2])}) {tree[1]} {render(tree[3])}"


def truth(tree: Tree, variables: dict[str, int], visited: set[str]) -> int:
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return variables[tree[1]]
    if kind == "visited":
        return int(tree[1] in visited)
    if kind == "not":
        return int(not truth(tree[1], variables, visited))
    if kind == "and":
        return int(all(truth(part, variables, visited) for part in tree[1]))
    if kind == "or":
        return int(any(truth(part, variables, visited) for part in tree[1]))
    return int(COMPARE[tree[1]](truth(tree[2], variables, visited), truth(tree[3], variables, visited)))


@dataclass
class Generated:
    """A generated role-play: its YAML document and the condition trees behind its `if:` texts."""

    document: dict[str, Any]
    trees: dict[tuple[str, int], Tree] = field(default_factory=dict)


def phrase_lists(min_words: int = 1) -> st.SearchStrategy[str]:
    word = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS).map(lambda w: w[:3] + "*"))
    return st.lists(word, min_size=min_words, max_size=2).map(" ".join)


def groups(points: st.SearchStrategy[int]) -> st.SearchStrategy[list[dict[str, Any]]]:
    group = st.fixed_dictionaries(
        {"phrases": st.lists(phrase_lists(), min_size=1, max_size=2), "points": points},
        optional={"skills": st.dictionaries(st.sampled_from(SKILLS), st.integers(-2, 2), max_size=2),
                  "feedback": st.sampled_from(["Good.", "Hmm.", "Yes: that."])})
    return st.lists(group, max_size=2)


@st.composite
def roleplays(draw: st.DrawFn) -> Generated:
    inner = [f"n{index}" for index in range(draw(st.integers(1, 5)))]
    endings = [f"e{index}" for index in range(draw(st.integers(1, 3)))]
    everything = inner + endings
    variables: dict[str, dict[str, int]] = {}
    for index in range(draw(st.integers(0, 2))):
        low = draw(st.integers(-3, 1))
        high = draw(st.integers(low, low + 4))
        variables[f"v{index}"] = {"initial": draw(st.integers(low, high)), "min": low, "max": high}
    names = sorted(variables)
    trees = condition_trees(names, everything)
    generated = Generated({"id": "gen", "title": "Generated", "language": draw(st.sampled_from(["en", "tr", "fa"])),
                           "nodes": {}})
    if variables:
        generated.document["variables"] = variables
    if draw(st.booleans()):
        generated.document["pass_points"] = draw(st.integers(0, 25))
    nodes: dict[str, Any] = generated.document["nodes"]
    for index, node_id in enumerate(inner):
        # A way forward keeps an ending reachable in the graph (the validator requires one).
        ahead = inner[index + 1:] + endings
        next_node = inner[index + 1] if index + 1 < len(inner) else endings[0]
        forward = st.one_of(st.just(next_node), st.sampled_from(ahead))
        if draw(st.integers(0, 3)) == 0:
            reply: dict[str, Any] = {"points": draw(st.integers(-3, 5)), "goto": draw(forward),
                                     "min_words": draw(st.integers(1, 3)),
                                     "look_for": draw(groups(st.integers(-2, 5))),
                                     "avoid": draw(groups(st.integers(-5, 0)))}
            if draw(st.booleans()):
                reply["max_chars"] = 30
            nodes[node_id] = {"say": "Well?", "reply": reply}
            continue
        choices = []
        named = draw(st.booleans())
        for number in range(draw(st.integers(1, 3))):
            choice: dict[str, Any] = {"text": f"Choice {number}",
                                      "goto": draw(forward if number == 0 else st.sampled_from(everything))}
            if named:
                choice["id"] = f"go-{number}"
            choice["points"] = draw(st.integers(-10, 10))
            if draw(st.booleans()):
                choice["skills"] = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(-2, 2), max_size=2))
            if names and draw(st.booleans()):
                choice["set"] = draw(st.dictionaries(st.sampled_from(names), st.integers(-6, 6), max_size=2))
            if names and draw(st.booleans()):
                choice["change"] = draw(st.dictionaries(st.sampled_from(names), st.integers(-3, 3), max_size=2))
            if draw(st.integers(0, 2)) == 0:
                tree = draw(trees)
                choice["if"] = render(tree)
                generated.trees[(node_id, number)] = tree
            choices.append(choice)
        nodes[node_id] = {"choices": choices}
    for node_id in endings:
        nodes[node_id] = {"ending": draw(st.sampled_from(["success", "partial", "failure"])), "debrief": "Done."}
    return generated


def build(generated: Generated) -> Scenario:
    """Validate the generated YAML through the library and return the scenario (it must have no error)."""
    # sort_keys=False: the first node written is the default start.
    text = yaml.safe_dump(generated.document, allow_unicode=True, sort_keys=False)
    with library({"scenarios/gen.yaml": text}) as root:
        report = Library(root).check(root / "scenarios/gen.yaml")
    assert not report.errors, [problem.format("gen.yaml") for problem in report.errors]
    assert isinstance(report.content, Scenario)
    return report.content


def fold(text: str, language: str) -> str:
    return (text.replace("I", "ı") if language == "tr" else text).lower().replace("’", "'")


def split_words(text: str, language: str, star: bool = False) -> list[str]:
    return re.findall(r"[a-zı']+\*?" if star else r"[a-zı']+", fold(text, language))


def phrase_hit(phrase: str, reply_words: list[str], language: str) -> bool:
    pattern = split_words(phrase, language, star=True)
    for start in range(len(reply_words) - len(pattern) + 1):
        if all(word.startswith(p[:-1]) if p.endswith("*") else word == p
               for p, word in zip(pattern, reply_words[start:start + len(pattern)])):
            return True
    return False


class Model:
    """An independent re-implementation of the spec's rules for the generated role-plays."""

    def __init__(self, generated: Generated):
        self.document = generated.document
        self.trees = generated.trees
        self.language = self.document["language"]
        self.specs = self.document.get("variables", {})
        self.variables = {name: spec["initial"] for name, spec in self.specs.items()}
        self.visited: set[str] = set()
        self.scored: set[tuple[str, str]] = set()
        self.raw = 0
        self.skills: Counter[str] = Counter()
        self.steps = 0
        self.finished = False
        self.stuck = False
        self.enter("n0")

    def node(self) -> dict[str, Any]:
        return self.document["nodes"][self.position]

    def choice_id(self, number: int, choice: dict[str, Any]) -> str:
        return choice.get("id", f"c{number + 1}")

    def offered(self) -> list[str]:
        if self.finished or "choices" not in self.node():
            return []
        return [self.choice_id(number, choice) for number, choice in enumerate(self.node()["choices"])
                if (self.position, number) not in self.trees
                or truth(self.trees[(self.position, number)], self.variables, self.visited)]

    def enter(self, node_id: str) -> None:
        self.position = node_id
        self.visited.add(node_id)
        node = self.node()
        if "ending" in node:
            self.finished = True
        elif "choices" in node and not self.offered():
            self.finished = self.stuck = True

    def clamp(self, name: str, value: int) -> int:
        return max(self.specs[name]["min"], min(self.specs[name]["max"], value))

    def award(self, key: tuple[str, str], points: int, skills: dict[str, int]) -> int:
        if key in self.scored:
            return 0
        self.scored.add(key)
        self.raw += points
        self.skills.update(skills)
        return points

    def apply(self, action: Action) -> int | None:
        """The points the action earns, or None when it must be refused."""
        if self.finished:
            return None
        node = self.node()
        if "reply" in node:
            reply = node["reply"]
            if action.kind != "reply":
                return None
            words = split_words(action.value, self.language)
            if len(words) < reply.get("min_words", 1) or len(action.value) > reply.get("max_chars", 2000):
                return None
            hits = [group for group in reply["look_for"] + reply["avoid"]
                    if any(phrase_hit(phrase, words, self.language) for phrase in group["phrases"])]
            skills: Counter[str] = Counter()
            for group in hits:
                skills.update(group.get("skills", {}))
            earned = self.award((self.position, "reply"), reply["points"] + sum(g["points"] for g in hits), skills)
            self.steps += 1
            self.enter(reply["goto"])
            return earned
        # A choice is named by its id; an all-digit id parses as an "answer" action and names the choice too.
        if action.kind not in ("choose", "answer") or action.value not in self.offered():
            return None
        choice = next(choice for number, choice in enumerate(node["choices"])
                      if self.choice_id(number, choice) == action.value)
        for name, value in choice.get("set", {}).items():
            self.variables[name] = self.clamp(name, value)
        for name, value in choice.get("change", {}).items():
            self.variables[name] = self.clamp(name, self.variables[name] + value)
        earned = self.award((self.position, action.value), choice["points"], choice.get("skills", {}))
        self.steps += 1
        self.enter(choice["goto"])
        return earned

    def ending(self) -> str | None:
        return self.node().get("ending") if self.finished else None

    def outcome(self) -> str:
        if not self.finished:
            return "unfinished"
        pass_points = self.document.get("pass_points")
        if self.ending() == "failure":
            return "failed"
        if self.ending() == "success" and (pass_points is None or max(0, self.raw) >= pass_points):
            return "passed"
        return "completed"


def snapshot(playthrough: Playthrough) -> tuple[Any, ...]:
    return (dict(playthrough.variables), list(playthrough.visited), set(playthrough.scored), playthrough.raw_points,
            dict(playthrough.skills), list(playthrough.steps), playthrough.position, playthrough.finished,
            playthrough.stuck, playthrough.outcome)


def reply_texts(language: str) -> st.SearchStrategy[str]:
    word = st.sampled_from(WORDS).flatmap(lambda w: st.sampled_from([w, w.upper(), w.title(), w + "ing", w[:3]]))
    pieces = st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), min_size=1, max_size=8)
    return pieces.map(lambda parts: "".join(w + s for w, s in parts).strip())


def actions(data: st.DataObject, playthrough: Playthrough, scenario: Scenario) -> Action:
    offered = [choice.id for choice in playthrough.offered()]
    every_id = sorted({choice.id for node in scenario.nodes.values() for choice in node.choices})
    bogus = st.one_of(
        st.builds(Action, st.just("choose"), st.sampled_from(every_id + ["nope", "", "1", "reply:x"])),
        st.builds(Action, st.just("reply"), st.sampled_from(["", "-- !!", "_", "x" * 40, "sorry " * 9])),
        st.builds(Action, st.just("answer"), st.sampled_from(["1", "0", "2"])),
    )
    good: list[st.SearchStrategy[Action]] = []
    if offered:
        good.append(st.builds(Action, st.just("choose"), st.sampled_from(offered)))
    if playthrough.reply is not None:
        good.append(st.builds(Action, st.just("reply"), reply_texts(scenario.language)))
    # Mostly a real move, sometimes a bogus one (which must be refused and change nothing).
    if good and data.draw(st.integers(0, 4), label="real move?"):
        return data.draw(st.one_of(*good))
    return data.draw(bogus)


def check_invariants(playthrough: Playthrough, model: Model, generated: Generated) -> None:
    assert playthrough.position == model.position
    assert set(playthrough.visited) == model.visited
    assert playthrough.variables == model.variables
    for name, spec in model.specs.items():
        assert spec["min"] <= playthrough.variables[name] <= spec["max"]
    assert playthrough.raw_points == model.raw
    assert playthrough.points == max(0, sum(step.points for step in playthrough.steps)) == max(0, model.raw)
    total_skills: Counter[str] = Counter()
    for step in playthrough.steps:
        total_skills.update(step.skills)
    assert {k: v for k, v in playthrough.skills.items() if v} == {k: v for k, v in total_skills.items() if v} \
        == {k: v for k, v in model.skills.items() if v}
    assert len(playthrough.steps) == model.steps
    assert [step.number for step in playthrough.steps] == list(range(1, model.steps + 1))
    assert playthrough.finished == model.finished
    assert playthrough.stuck == model.stuck
    assert playthrough.ending == model.ending()
    assert playthrough.outcome == model.outcome()
    assert [choice.id for choice in playthrough.offered()] == model.offered()
    expected_offer = [] if model.finished else ["reply:TEXT"] if playthrough.reply is not None else model.offered()
    assert playthrough.describe_offer() == expected_offer
    # Each (node, choice) and each reply node scores at most once: only its first step earns anything.
    by_key: dict[tuple[str, str], list[int]] = {}
    for step in playthrough.steps:
        key = (step.node, "reply" if step.action.startswith("reply:") else step.action)
        by_key.setdefault(key, []).append(step.points)
    for (node_id, choice_id), points in by_key.items():
        assert all(p == 0 for p in points[1:]), (node_id, choice_id, points)
        if choice_id != "reply":
            node = generated.document["nodes"][node_id]
            [choice] = [c for n, c in enumerate(node["choices"]) if model.choice_id(n, c) == choice_id]
            assert sum(points) == choice["points"]


@contextmanager
def small_state_limit() -> Iterator[None]:
    with mock.patch.object(stats_module, "STATE_LIMIT", 20_000):
        yield


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(roleplays(), st.data())
def test_random_play_keeps_the_scoring_rules(generated: Generated, data: st.DataObject) -> None:
    scenario = build(generated)
    with small_state_limit():
        stats = scenario_stats(scenario)
    for _ in range(data.draw(st.integers(1, 3), label="attempts")):
        playthrough = Playthrough(scenario)
        model = Model(generated)
        check_invariants(playthrough, model, generated)
        for _ in range(data.draw(st.integers(3, 14), label="actions")):
            action = actions(data, playthrough, scenario)
            before = snapshot(playthrough)
            expected = model.apply(action)
            try:
                step = playthrough.apply(action)
            except ActionRefused as refusal:
                assert expected is None, f"{action} was refused but the rules accept it: {refusal}"
                assert snapshot(playthrough) == before, "a refused action changed the attempt"
                assert refusal.offered == playthrough.describe_offer()
            else:
                assert expected is not None, f"{action} was accepted but the rules refuse it"
                assert step.points == expected
                assert step is playthrough.steps[-1] and step.action == str(action)
            check_invariants(playthrough, model, generated)
        event(f"outcome: {playthrough.outcome}{' (stuck)' if playthrough.stuck else ''}")
        event(f"steps taken: {min(len(playthrough.steps), 5)}{'+' if len(playthrough.steps) >= 5 else ''}")
        if stats.too_branchy:
            event("too branchy for the stats check")
        if playthrough.finished and not stats.too_branchy:
            assert stats.min_points is not None and stats.max_points is not None
            assert stats.min_points <= playthrough.points <= stats.max_points
            for node_id in playthrough.visited:
                assert node_id not in stats.unreachable and node_id not in stats.never_entered
            if playthrough.stuck:
                assert playthrough.position in stats.stuck


def test_the_generator_makes_scenarios_the_validator_accepts() -> None:
    @settings(deadline=None, max_examples=30)
    @given(roleplays())
    def run(generated: Generated) -> None:
        build(generated)
    run()


# -- targeted checks behind the properties ---------------------------------------------------


def test_bound_is_reached_by_some_attempt() -> None:
    """max_points / min_points are exact for a small loop: both extremes are reachable."""
    generated = Generated({"id": "g", "title": "G", "language": "en", "nodes": {
        "n0": {"choices": [{"id": "up", "text": "Up", "points": 4, "goto": "n0"},
                           {"id": "down", "text": "Down", "points": -9, "goto": "n0"},
                           {"id": "end", "text": "End", "points": 1, "goto": "e0"}]},
        "e0": {"ending": "success"}}})
    scenario = build(generated)
    stats = scenario_stats(scenario)
    assert (stats.min_points, stats.max_points) == (0, 5)
    best = Playthrough(scenario)
    for choice in ("up", "up", "end"):
        best.apply(Action.parse(choice))
    assert best.points == 5


CASE = Scenario(id="case", title="Case", kind="case_study", questions=(
    Question(id="q1", ask="Which?", points=5, options=(Option("A", True), Option("B"))),
))


@pytest.mark.parametrize("text", ["0", "3", "x", "reply:1", "-1", "1.0", ""])
def test_a_bogus_answer_to_a_case_study_is_refused_and_changes_nothing(text: str) -> None:
    playthrough = Playthrough(CASE)
    before = snapshot(playthrough)
    with pytest.raises(ActionRefused):
        playthrough.apply(Action.parse(text))
    assert snapshot(playthrough) == before


@pytest.mark.parametrize("action", [Action.parse("²"), Action("answer", "²"), Action("answer", "abc"),
                                    Action("answer", ""), Action("answer", "9" * 5000), Action("choose", "1")],
                         ids=["parsed-superscript", "superscript", "letters", "empty", "huge", "choose-kind"])
def test_an_odd_answer_to_a_case_study_is_refused_and_changes_nothing(action: Action) -> None:
    # Once a crash: "²".isdigit() is true, but int("²") raises ValueError.
    playthrough = Playthrough(CASE)
    before = snapshot(playthrough)
    with pytest.raises(ActionRefused):
        playthrough.apply(action)
    assert snapshot(playthrough) == before


def test_after_the_finish_every_action_is_refused() -> None:
    playthrough = Playthrough(CASE)
    playthrough.apply(Action.parse("1"))
    assert playthrough.finished and playthrough.outcome == "passed"
    before = snapshot(playthrough)
    for text in ("1", "2", "reply:hello", "go"):
        with pytest.raises(ActionRefused):
            playthrough.apply(Action.parse(text))
    assert snapshot(playthrough) == before

