"""The JSON Schemas in static/schemas/ are valid, accept every bundled file and refuse typical mistakes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

from jsonschema import Draft202012Validator  # noqa: E402
from referencing import Registry, Resource  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "static" / "schemas"
SCENARIOS = ROOT / "scenarios"
COURSES = ROOT / "courses"
SCHEMA_NAMES = ("common", "scenario", "case-study", "scenario-any", "course", "badges", "skills")


def _load_schemas() -> dict[str, dict[str, Any]]:
    return {name: json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
            for name in SCHEMA_NAMES}


SCHEMAS = _load_schemas()
# Cross-file "$ref"s ("common.schema.json#/$defs/id") resolve against each schema's $id.
REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values())


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[name], registry=REGISTRY)


def errors(name: str, data: Any) -> list[str]:
    """Every schema error for `data`, as 'path: message'."""
    found = validator(name).iter_errors(data)
    return [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}" for error in found]


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(path for pattern in ("*.yaml", "*.yml") for path in folder.rglob(pattern))


def _load_yaml(path: Path) -> Any:
    # PyYAML's safe loader, as the spec says (YAML 1.1: bare yes/no are booleans); utf-8-sig drops a BOM.
    return yaml.safe_load(path.read_text(encoding="utf-8-sig"))


def schema_for(path: Path, data: Any) -> str:
    """Which schema a bundled file must match: its place decides, and in scenarios/ its `kind`."""
    if path.is_relative_to(SCENARIOS):
        kind = data.get("kind") if isinstance(data, dict) else None
        return "case-study" if kind == "case_study" else "scenario"
    if path == COURSES / "badges.yaml":
        return "badges"
    if path == COURSES / "skills.yaml":
        return "skills"
    return "course"


BUNDLED = [path for path in _yaml_files(SCENARIOS) + _yaml_files(COURSES)
           if not path.is_relative_to(COURSES / "lessons")]


# -- the schemas themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://crm-dojo.invalid/schemas/{name}.schema.json"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_ref_resolves(name: str) -> None:
    resolver = REGISTRY.resolver(base_uri=SCHEMAS[name]["$id"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolver.lookup(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMAS[name])


@pytest.mark.parametrize("name", [name for name in SCHEMA_NAMES if name != "scenario-any"])
def test_every_property_is_annotated(name: str) -> None:
    """Editors show title and description in autocomplete, so every named property carries both."""
    missing = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if "$ref" in sub and not sub.keys() - {"$ref"}:
                    target = REGISTRY.resolver(base_uri=SCHEMAS[name]["$id"]).lookup(sub["$ref"]).contents
                    sub = target
                if not ("title" in sub and "description" in sub):
                    missing.append(f"{where}/{key}")
            for key, value in node.items():
                if key not in ("contains", "not", "if"):  # assertions, not properties an author writes
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(SCHEMAS[name], "")
    assert not missing, f"properties without title/description: {missing}"


# -- the bundled library ---------------------------------------------------------------------------


def test_there_is_bundled_content() -> None:
    """Guards the parametrised test below, which would otherwise pass by collecting nothing."""
    assert _yaml_files(SCENARIOS), f"no bundled scenario in {SCENARIOS}"


@pytest.mark.parametrize("path", BUNDLED, ids=[str(path.relative_to(ROOT)) for path in BUNDLED])
def test_bundled_file_matches_its_schema(path: Path) -> None:
    data = _load_yaml(path)
    name = schema_for(path, data)
    assert not errors(name, data), f"{path.relative_to(ROOT)} against {name}.schema.json"
    if path.is_relative_to(SCENARIOS):
        assert not errors("scenario-any", data)


# -- what the schemas accept and refuse --------------------------------------------------------------

ROLEPLAY = """\
id: late-delivery
title: A third late delivery
language: en
summary: A loyal customer calls, angry.
skills: [empathy]
difficulty: 2
minutes: 5
tags: [delivery]
persona: {name: Ayşe Yılmaz, role: Customer for four years}
variables:
  mood: {initial: 2, min: 0, max: 5, label: Customer mood, show: true}
pass_points: 10
review: false
start: opening
x-note: drafted with the support team
nodes:
  opening:
    narrate: The phone rings.
    say: This is the **third time**!
    choices:
      - id: acknowledge
        text: I'm so sorry.
        points: 10
        skills: {empathy: 2}
        change: {mood: 1}
        set: {}
        feedback: Naming the feeling first helps.
        if: mood >= 1 and not visited(check)
        goto: check
        x-why: the model answer
      - text: The courier caused it.
        points: -5
        goto: escalation
  check:
    reply:
      prompt: Explain the delay.
      min_words: 5
      max_chars: 2000
      points: 5
      look_for:
        - {phrases: ["I will", "refund*"], points: 5, skills: {empathy: 1}, feedback: Good.}
      avoid:
        - {phrases: ["not my problem"], points: -5}
      goto: resolved
  escalation:
    ending: failure
    debrief: Blame shifts anger.
  resolved:
    ending: success
rubric:
  - {id: empathy, label: Empathy, max: 5}
"""

CASE_STUDY = """\
id: loyalty-case
title: The coffee chain loyalty card
kind: case_study
language: tr
case: |
  A coffee chain runs a loyalty card.
pass_points: 10
questions:
  - id: q1
    ask: Which metric shows retention?
    points: 5
    options:
      - {text: Customer retention rate, correct: true, feedback: Yes.}
      - {text: Number of calls answered}
  - ask: Propose one change.
    reply: {min_words: 30, points: 5, look_for: [{phrases: [ölç*], points: 2}]}
"""

COURSE = """\
id: crm-foundations
title: CRM foundations
description: Strategy, people, process and technology.
unlock: sequential
modules:
  - lesson: lessons/four-components.md
    title: The four components of CRM
  - scenario: late-delivery
  - case_study: loyalty-case
badge: crm-foundations-done
"""

BADGES = """\
badges:
  - id: first-call
    name: First call
    description: Finish your first role-play.
    icon: phone
    criteria: {completed: 1}
  - id: all-round
    name: All round
    icon: badges/all-round.svg
    criteria: {passed: 3, perfect: 1, points: 100, skills: {empathy: 10}, skill_tag: empathy,
               course: crm-foundations, streak_days: 5, reviewed: 2, x-note: the hardest one}
"""

SKILLS = """\
skills:
  - {id: empathy, name: Empathy, description: Naming the customer's feelings.}
  - {id: de-escalation, name: De-escalation}
"""

SAMPLES = {"scenario": ROLEPLAY, "case-study": CASE_STUDY, "course": COURSE, "badges": BADGES, "skills": SKILLS}


def sample(name: str) -> Any:
    return yaml.safe_load(SAMPLES[name])


@pytest.mark.parametrize("name", SAMPLES)
def test_a_full_sample_is_accepted(name: str) -> None:
    assert errors(name, sample(name)) == []


@pytest.mark.parametrize("name", ["scenario", "case-study"])
def test_the_combined_scenario_schema_picks_by_kind(name: str) -> None:
    assert errors("scenario-any", sample(name)) == []


def test_the_combined_scenario_schema_refuses_a_role_play_marked_as_case_study() -> None:
    data = sample("scenario")
    data["kind"] = "case_study"
    assert errors("scenario-any", data)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _drop(data: Any, path: tuple[Any, ...]) -> Any:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


REFUSED = {
    # unknown keys (typos must not pass silently)
    "unknown top-level key": ("scenario", lambda d: _set(d, ("titel",), "Typo")),
    "unknown key in a choice": ("scenario", lambda d: _set(d, ("nodes", "opening", "choices", 0, "score"), 1)),
    "unknown key in a node": ("scenario", lambda d: _set(d, ("nodes", "resolved", "text"), "Hi")),
    "unknown key in a reply group": ("scenario", lambda d: _set(
        d, ("nodes", "check", "reply", "look_for", 0, "phrase"), ["x"])),
    "case-study key in a role-play": ("scenario", lambda d: _set(d, ("case",), "A case.")),
    "role-play key in a case study": ("case-study", lambda d: _set(d, ("nodes",), {})),
    "goto in a case-study reply": ("case-study", lambda d: _set(d, ("questions", 1, "reply", "goto"), "q1")),
    "unknown key in a course": ("course", lambda d: _set(d, ("modules", 0, "file"), "x.md")),
    "unknown key in a skill": ("skills", lambda d: _set(d, ("skills", 0, "label"), "Empathy")),
    "unknown badge criterion": ("badges", lambda d: _set(d, ("badges", 0, "criteria", "finished"), 1)),
    # ids
    "bad scenario id": ("scenario", lambda d: _set(d, ("id",), "Late Delivery")),
    "id starting with a dash": ("scenario", lambda d: _set(d, ("id",), "-late")),
    "id longer than 64": ("course", lambda d: _set(d, ("id",), "a" * 65)),
    "bad node id": ("scenario", lambda d: _set(d, ("nodes", "Bad Node"), {"ending": "success"})),
    "bad choice id": ("scenario", lambda d: _set(d, ("nodes", "opening", "choices", 0, "id"), "Acknowledge")),
    "bad variable name": ("scenario", lambda d: _set(d, ("variables", "Mood"), {"initial": 1})),
    "bad skill id in deltas": ("scenario", lambda d: _set(d, ("nodes", "opening", "choices", 0, "skills"),
                                                         {"Empathy!": 1})),
    "bad question id": ("case-study", lambda d: _set(d, ("questions", 0, "id"), "Q1")),
    "bad badge id": ("badges", lambda d: _set(d, ("badges", 0, "id"), "first call")),
    # missing required keys
    "missing title": ("scenario", lambda d: _drop(d, ("title",))),
    "missing nodes": ("scenario", lambda d: _drop(d, ("nodes",))),
    "missing goto in a choice": ("scenario", lambda d: _drop(d, ("nodes", "opening", "choices", 0, "goto"))),
    "missing goto in a reply": ("scenario", lambda d: _drop(d, ("nodes", "check", "reply", "goto"))),
    "missing variable initial": ("scenario", lambda d: _drop(d, ("variables", "mood", "initial"))),
    "missing case": ("case-study", lambda d: _drop(d, ("case",))),
    "missing kind in a case study": ("case-study", lambda d: _drop(d, ("kind",))),
    "missing modules": ("course", lambda d: _drop(d, ("modules",))),
    "missing criteria": ("badges", lambda d: _drop(d, ("badges", 0, "criteria"))),
    "missing skill name": ("skills", lambda d: _drop(d, ("skills", 1, "name"))),
    # wrong types and limits
    "integer where text is required": ("scenario", lambda d: _set(d, ("summary",), 3)),
    "empty text": ("scenario", lambda d: _set(d, ("title",), "   ")),
    "decimal where a whole number is required": ("scenario", lambda d: _set(d, ("pass_points",), 2.5)),
    "boolean where a whole number is required": ("scenario", lambda d: _set(
        d, ("nodes", "opening", "choices", 0, "points"), True)),
    "text where a whole number is required": ("scenario", lambda d: _set(d, ("variables", "mood", "initial"), "2")),
    "difficulty 0": ("scenario", lambda d: _set(d, ("difficulty",), 0)),
    "difficulty 6": ("scenario", lambda d: _set(d, ("difficulty",), 6)),
    "max_chars above the hard cap": ("scenario", lambda d: _set(d, ("nodes", "check", "reply", "max_chars"), 10001)),
    "condition that is not text": ("scenario", lambda d: _set(d, ("nodes", "opening", "choices", 0, "if"), 1)),
    "show that is not a boolean": ("scenario", lambda d: _set(d, ("variables", "mood", "show"), "yes")),
    "unknown ending kind": ("scenario", lambda d: _set(d, ("nodes", "resolved", "ending"), "win")),
    "unknown kind": ("scenario", lambda d: _set(d, ("kind",), "quiz")),
    "unknown unlock": ("course", lambda d: _set(d, ("unlock",), "timed")),
    "bad language tag": ("scenario", lambda d: _set(d, ("language",), "english please")),
    "criterion count 0": ("badges", lambda d: _set(d, ("badges", 0, "criteria", "completed"), 0)),
    "empty criteria": ("badges", lambda d: _set(d, ("badges", 0, "criteria"), {})),
    "criteria with only notes": ("badges", lambda d: _set(d, ("badges", 0, "criteria"), {"x-todo": "later"})),
    "unknown icon name": ("badges", lambda d: _set(d, ("badges", 0, "icon"), "unicorn")),
    "icon path climbing out": ("badges", lambda d: _set(d, ("badges", 0, "icon"), "../secret.png")),
    "absolute lesson path": ("course", lambda d: _set(d, ("modules", 0, "lesson"), "/etc/passwd")),
    "lesson path climbing out": ("course", lambda d: _set(d, ("modules", 0, "lesson"), "lessons/../../x.md")),
    "lesson path with a drive": ("course", lambda d: _set(d, ("modules", 0, "lesson"), "C:\\x.md")),
    # node and module shapes
    "node with choices and ending": ("scenario", lambda d: _set(d, ("nodes", "resolved", "choices"),
                                                               [{"text": "Again", "goto": "opening"}])),
    "node with reply and ending": ("scenario", lambda d: _set(d, ("nodes", "check", "ending"), "partial")),
    "node with none of choices, reply, ending": ("scenario", lambda d: _set(d, ("nodes", "resolved"), {"say": "Hi"})),
    "debrief without ending": ("scenario", lambda d: _set(d, ("nodes", "check", "debrief"), "Well done.")),
    "empty choices": ("scenario", lambda d: _set(d, ("nodes", "opening", "choices"), [])),
    "51 choices": ("scenario", lambda d: _set(d, ("nodes", "opening", "choices"),
                                              [{"text": f"Say {i}", "goto": "resolved"} for i in range(51)])),
    "501 nodes": ("scenario", lambda d: _set(d, ("nodes",), {f"n{i}": {"ending": "success"} for i in range(501)})),
    "no nodes": ("scenario", lambda d: _set(d, ("nodes",), {})),
    "question with options and reply": ("case-study", lambda d: _set(d, ("questions", 0, "reply"), {"points": 1})),
    "points beside a question's reply": ("case-study", lambda d: _set(d, ("questions", 1, "points"), 5)),
    "two correct options": ("case-study", lambda d: _set(d, ("questions", 0, "options", 1, "correct"), True)),
    "no correct option": ("case-study", lambda d: _set(d, ("questions", 0, "options", 0, "correct"), False)),
    "a single option": ("case-study", lambda d: _set(d, ("questions", 0, "options"), [{"text": "Only", "correct": True}])),
    "module with lesson and scenario": ("course", lambda d: _set(d, ("modules", 0, "scenario"), "late-delivery")),
    "module with only a title": ("course", lambda d: _set(d, ("modules", 1), {"title": "Nothing"})),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_mistake_is_refused(case: str) -> None:
    name, mutate = REFUSED[case]
    data = sample(name)
    assert errors(name, data) == [], "the sample itself must be valid"
    assert errors(name, mutate(data)), f"{case}: accepted by {name}.schema.json"


@pytest.mark.parametrize("name, text", [
    ("scenario", "id: s\ntitle: yes\nnodes: {a: {ending: success}}\n"),            # YAML 1.1: yes is true
    ("scenario", "id: s\ntitle: T\nnodes: {a: {ending: success, say: off}}\n"),
    ("scenario", "id: s\ntitle: T\nnodes: {a: {ending: success, say: 2024-05-01}}\n"),   # a date
    ("course", "id: c\ntitle: On\nmodules: [{scenario: s}]\n"),
    ("skills", "skills: [{id: calm, name: no}]\n"),
    ("badges", "badges: [{id: b, name: B, description: yes, criteria: {completed: 1}}]\n"),
])
def test_a_value_yaml_reads_as_a_boolean_or_date_is_not_text(name: str, text: str) -> None:
    assert errors(name, yaml.safe_load(text))


@pytest.mark.parametrize("name, text", [
    ("scenario", "id: s\ntitle: T\nnodes: {a: {ending: success}}\n"),
    ("scenario", "id: s\ntitle: T\nkind: roleplay\nnodes: {a: {ending: partial, x-note: {any: [thing]}}}\n"),
    ("case-study", "id: c\ntitle: T\nkind: case_study\ncase: C\nquestions: [{ask: 'Why?', reply: {}}]\n"),
    ("course", "id: c\ntitle: T\nmodules: [{case_study: c2, x-note: optional}]\nx-owner: Ayşe\n"),
    ("skills", "skills: []\n"),
    ("badges", "badges: [{id: b, name: B, criteria: {skill_tag: empathy, completed: 2}}]\n"),
])
def test_minimal_files_and_author_notes_are_accepted(name: str, text: str) -> None:
    assert errors(name, yaml.safe_load(text)) == []
