"""Build a Scenario (role-play or case study) from loaded YAML, reporting every problem with its place."""

from __future__ import annotations

from typing import Any

from . import conditions, phrases
from .index import LibraryIndex
from .model import (Choice, Node, Option, Persona, PhraseGroup, Question, Reply, RubricItem, Scenario,
                    VariableSpec)
from .reader import Reader
from .yamlsafe import KeyPath

MAX_NODES = 500
MAX_CHOICES = 50
HARD_MAX_CHARS = 10000
COMMON_KEYS = ("id", "title", "kind", "language", "summary", "skills", "difficulty", "minutes", "tags",
               "pass_points", "rubric", "review")
ROLEPLAY_KEYS = ("persona", "variables", "start", "nodes")
CASE_KEYS = ("case", "questions")
NODE_KEYS = ("narrate", "say", "choices", "reply", "ending", "debrief")
CHOICE_KEYS = ("id", "text", "points", "skills", "change", "set", "feedback", "if", "goto")
REPLY_KEYS = ("prompt", "min_words", "max_chars", "points", "look_for", "avoid")
GROUP_KEYS = ("phrases", "points", "skills", "feedback")
ENDINGS = ("success", "partial", "failure")


class ScenarioReader:
    """Reads one scenario file, collecting problems; the flags say whether the graph is sound enough to search."""

    def __init__(self, reader: Reader, index: LibraryIndex):
        self.r = reader
        self.index = index
        self.has_reference_error = False
        self.has_broken_structure = False
        self.has_condition_error = False
        self.language = "en"

    def build(self) -> Scenario | None:
        """The scenario, or None when even its id or title cannot be read."""
        data = self.r.loaded.data
        kind = self.r.one_of(data, (), "kind", ("roleplay", "case_study"), "roleplay")
        own_keys = CASE_KEYS if kind == "case_study" else ROLEPLAY_KEYS
        where = "in a case study" if kind == "case_study" else "in a role-play"
        self.r.keys(data, (), COMMON_KEYS + own_keys, ("id", "title"), where)
        self.language = self.r.language(data, ())
        scenario_id = self.r.identifier(data, (), "id")
        title = self.r.text(data, (), "title")
        common = dict(
            language=self.language,
            summary=self.r.text(data, (), "summary"),
            skills=tuple(self._skill_list(data, ())),
            difficulty=self.r.integer(data, (), "difficulty", 1, 1, 5),
            minutes=self.r.integer(data, (), "minutes", None, 1, 600),
            tags=tuple(self._tags(data)),
            pass_points=self.r.integer(data, (), "pass_points"),
            rubric=tuple(self._rubric(data)),
            review=self.r.boolean(data, (), "review"),
        )
        specific = self._case_study(data) if kind == "case_study" else self._roleplay(data)
        if scenario_id is None or title is None:
            return None
        return Scenario(id=scenario_id, title=title, kind=kind, **common, **specific)  # type: ignore[arg-type]

    # -- shared pieces -------------------------------------------------------------------------

    def _skill(self, name: str, path: KeyPath, at: str) -> bool:
        if self.index.has_skill(name):
            return True
        self.r.report(path, f"unknown skill {name!r}: add it to courses/skills.yaml or fix the spelling", at=at)
        return False

    def _skill_list(self, data: dict[str, Any], path: KeyPath) -> list[str]:
        found = []
        for _, item, item_path in self.r.items(data, path, "skills"):
            name = self.r.text_value(item, item_path, "a skill id")
            if name is not None and self._skill(name, item_path, "value"):
                found.append(name)
        return found

    def _skill_deltas(self, mapping: dict[str, Any], path: KeyPath) -> dict[str, int]:
        deltas = self.r.deltas(mapping, path, "skills")
        return {name: value for name, value in deltas.items() if self._skill(name, path + ("skills", name), "key")}

    def _tags(self, data: dict[str, Any]) -> list[str]:
        tags = []
        for _, item, item_path in self.r.items(data, (), "tags"):
            tag = self.r.text_value(item, item_path, "a tag")
            if tag is not None:
                tags.append(tag)
        return tags

    def _rubric(self, data: dict[str, Any]) -> list[RubricItem]:
        items: list[RubricItem] = []
        seen: set[str] = set()
        for _, raw, path in self.r.items(data, (), "rubric"):
            entry = self.r.mapping(raw, path, "a rubric item")
            if entry is None:
                continue
            self.r.keys(entry, path, ("id", "label", "max"), ("id", "label"), "in a rubric item")
            item_id = self.r.identifier(entry, path, "id")
            label = self.r.text(entry, path, "label")
            maximum = self.r.integer(entry, path, "max", 5, 1, 100)
            if item_id in seen:
                self.r.report(path + ("id",), f"rubric item {item_id!r} is listed twice")
            elif item_id and label:
                seen.add(item_id)
                items.append(RubricItem(item_id, label, maximum or 5))
        return items

    def _reply(self, raw: Any, path: KeyPath, with_goto: bool) -> Reply | None:
        entry = self.r.mapping(raw, path, "'reply'")
        if entry is None:
            return None
        allowed = REPLY_KEYS + (("goto",) if with_goto else ())
        self.r.keys(entry, path, allowed, ("goto",) if with_goto else (), "in a reply")
        min_words = self.r.integer(entry, path, "min_words", 1, 1, HARD_MAX_CHARS) or 1
        max_chars = self.r.integer(entry, path, "max_chars", 2000, 1, HARD_MAX_CHARS) or 2000
        if min_words > max_chars:
            self.r.report(path + ("min_words",), f"'min_words' ({min_words}) cannot exceed 'max_chars' ({max_chars})")
        return Reply(
            prompt=self.r.text(entry, path, "prompt"),
            min_words=min_words,
            max_chars=max_chars,
            points=self.r.integer(entry, path, "points", 0) or 0,
            look_for=tuple(self._groups(entry, path, "look_for")),
            avoid=tuple(self._groups(entry, path, "avoid")),
            goto=self.r.text(entry, path, "goto") if with_goto else None,
        )

    def _groups(self, reply: dict[str, Any], path: KeyPath, key: str) -> list[PhraseGroup]:
        groups = []
        for _, raw, group_path in self.r.items(reply, path, key):
            entry = self.r.mapping(raw, group_path, f"a {key!r} group")
            if entry is None:
                continue
            self.r.keys(entry, group_path, GROUP_KEYS, ("phrases",), f"in a {key!r} group")
            found = []
            for _, phrase, phrase_path in self.r.items(entry, group_path, "phrases"):
                if isinstance(phrase, str) and not phrases.phrase_words(phrase, self.language):
                    self.r.report(phrase_path, "this phrase is empty (it has no words), so it never matches",
                                  severity="warning")
                    continue
                text = self.r.text_value(phrase, phrase_path, "a phrase")
                if text is not None:
                    found.append(text)
            if "phrases" in entry and isinstance(entry["phrases"], list) and not entry["phrases"]:
                self.r.report(group_path + ("phrases",), "this group has no phrases, so it never matches",
                              severity="warning")
            groups.append(PhraseGroup(
                phrases=tuple(found),
                points=self.r.integer(entry, group_path, "points", 0) or 0,
                skills=self._skill_deltas(entry, group_path),
                feedback=self.r.text(entry, group_path, "feedback"),
            ))
        return groups

    # -- role-play -------------------------------------------------------------------------------

    def _roleplay(self, data: dict[str, Any]) -> dict[str, Any]:
        variables = self._variables(data)
        nodes_raw = data.get("nodes")
        nodes: dict[str, Node] = {}
        if "nodes" not in data:
            self.r.report((), "missing required key 'nodes'", at="key")
        elif (mapping := self.r.mapping(nodes_raw, ("nodes",), "'nodes'")) is not None:
            if not mapping:
                self.r.report(("nodes",), "'nodes' is empty; a role-play needs at least one node")
            if len(mapping) > MAX_NODES:
                self.r.report(("nodes",), f"too many nodes ({len(mapping)}); the limit is {MAX_NODES}", at="key")
            for node_id, raw in mapping.items():
                node = self._node(node_id, raw, ("nodes", node_id))
                if node is not None:
                    nodes[node_id] = node
                else:
                    self.has_broken_structure = True
        start = self.r.text(data, (), "start")
        if start is None and isinstance(nodes_raw, dict) and nodes_raw:
            start = next(iter(nodes_raw))
        elif start is not None and isinstance(nodes_raw, dict) and start not in nodes_raw:
            self.r.report(("start",), f"'start' names node {start!r}, which does not exist")
            self.has_reference_error = True
        if start is not None and start not in nodes:
            self.has_broken_structure = True
        self._check_references(nodes, nodes_raw if isinstance(nodes_raw, dict) else {}, variables)
        persona = self._persona(data)
        return dict(persona=persona, variables=variables, start=start, nodes=nodes)

    def _persona(self, data: dict[str, Any]) -> Persona | None:
        if "persona" not in data:
            return None
        entry = self.r.mapping(data["persona"], ("persona",), "'persona'")
        if entry is None:
            return None
        self.r.keys(entry, ("persona",), ("name", "role"), (), "in 'persona'")
        return Persona(self.r.text(entry, ("persona",), "name"), self.r.text(entry, ("persona",), "role"))

    def _variables(self, data: dict[str, Any]) -> dict[str, VariableSpec]:
        if "variables" not in data:
            return {}
        mapping = self.r.mapping(data["variables"], ("variables",), "'variables'") or {}
        result = {}
        for name, raw in mapping.items():
            path = ("variables", name)
            if not self.r.id_key(name, path, "variable name"):
                continue
            entry = self.r.mapping(raw, path, f"variable {name!r}")
            if entry is None:
                continue
            self.r.keys(entry, path, ("initial", "min", "max", "label", "show"), ("initial",), "in a variable")
            initial = self.r.integer(entry, path, "initial")
            low = self.r.integer(entry, path, "min")
            high = self.r.integer(entry, path, "max")
            if low is not None and high is not None and low > high:
                self.r.report(path + ("min",), f"'min' ({low}) is above 'max' ({high})")
            elif initial is not None and (low is not None and initial < low or high is not None and initial > high):
                self.r.report(path + ("initial",), f"'initial' ({initial}) must lie within min and max")
            result[name] = VariableSpec(name, initial or 0, low, high,
                                        self.r.text(entry, path, "label") or name, self.r.boolean(entry, path, "show"))
        return result

    def _node(self, node_id: str, raw: Any, path: KeyPath) -> Node | None:
        valid_id = self.r.id_key(node_id, path, "node id")
        entry = self.r.mapping(raw, path, f"node {node_id!r}")
        if entry is None or not valid_id:
            return None
        self.r.keys(entry, path, NODE_KEYS, (), "in a node")
        present = [key for key in ("choices", "reply", "ending") if key in entry]
        if len(present) != 1:
            self.has_broken_structure = True
            found = "none" if not present else " and ".join(present)
            self.r.report(path, f"node {node_id!r} needs exactly one of choices, reply or ending (found {found})",
                          at="key")
        ending = self.r.one_of(entry, path, "ending", ENDINGS, None) if "ending" in entry else None
        if "ending" in entry and ending is None:
            self.has_broken_structure = True
        if "debrief" in entry and "ending" not in entry:
            self.r.report(path + ("debrief",), "'debrief' is shown at an ending; move it to a node with 'ending'",
                          at="key")
        reply = self._reply(entry["reply"], path + ("reply",), with_goto=True) if "reply" in entry else None
        return Node(
            id=node_id,
            narrate=self.r.text(entry, path, "narrate"),
            say=self.r.text(entry, path, "say"),
            choices=tuple(self._choices(entry, path)) if "choices" in entry else (),
            reply=reply,
            ending=ending,  # type: ignore[arg-type]
            debrief=self.r.text(entry, path, "debrief"),
        )

    def _choices(self, node: dict[str, Any], path: KeyPath) -> list[Choice]:
        raw = node["choices"]
        if isinstance(raw, list) and not raw:
            self.r.report(path + ("choices",), "'choices' is empty; give at least one choice")
        if isinstance(raw, list) and len(raw) > MAX_CHOICES:
            self.r.report(path + ("choices",), f"too many choices ({len(raw)}); the limit is {MAX_CHOICES}",
                          at="key")
        choices: list[Choice] = []
        seen: set[str] = set()
        for index, item, item_path in self.r.items(node, path, "choices"):
            entry = self.r.mapping(item, item_path, "a choice")
            if entry is None:
                continue
            self.r.keys(entry, item_path, CHOICE_KEYS, ("text", "goto"), "in a choice")
            choice_id = self.r.identifier(entry, item_path, "id") if "id" in entry else f"c{index + 1}"
            if choice_id in seen:
                self.r.report(item_path + ("id",), f"choice id {choice_id!r} is used twice in this node")
            condition = self.r.text(entry, item_path, "if")
            text = self.r.text(entry, item_path, "text", required=False)
            goto = self.r.text(entry, item_path, "goto")
            choice = Choice(
                id=choice_id or f"c{index + 1}",
                text=text or "",
                goto=goto or "",
                points=self.r.integer(entry, item_path, "points", 0) or 0,
                skills=self._skill_deltas(entry, item_path),
                change=self.r.deltas(entry, item_path, "change"),
                set=self.r.deltas(entry, item_path, "set"),
                feedback=self.r.text(entry, item_path, "feedback"),
                condition=condition,
                expr=self._condition(condition, item_path + ("if",)),
            )
            if choice_id is not None:
                seen.add(choice_id)
            choices.append(choice)
        return choices

    def _condition(self, text: str | None, path: KeyPath) -> conditions.Expr | None:
        if text is None:
            return None
        try:
            return conditions.parse(text)
        except conditions.ConditionError as exc:
            self.has_condition_error = True
            self.r.report(path, f"the condition {text!r} does not parse: {exc} (at character {exc.offset + 1})")
            return None

    def _check_references(self, nodes: dict[str, Node], raw_nodes: dict[str, Any],
                          variables: dict[str, VariableSpec]) -> None:
        """Check gotos, variables named in set/change and conditions, and visited() nodes."""
        for node in nodes.values():
            base: KeyPath = ("nodes", node.id)
            if node.reply is not None:
                self._goto(node.reply.goto, base + ("reply", "goto"), raw_nodes, nodes)
            for index, choice in enumerate(node.choices):
                path = base + ("choices", index)
                self._goto(choice.goto, path + ("goto",), raw_nodes, nodes)
                for key in ("set", "change"):
                    for name in getattr(choice, key):
                        if name not in variables:
                            self.r.report(path + (key, name), f"undeclared variable {name!r}; declare it under "
                                          "'variables'", at="key")
                if choice.expr is None:
                    continue
                used_variables, used_nodes = conditions.names(choice.expr)
                for name in sorted(used_variables - set(variables)):
                    self.has_condition_error = True
                    self.r.report(path + ("if",), f"the condition uses undeclared variable {name!r}")
                for name in sorted(used_nodes - set(raw_nodes)):
                    self.has_condition_error = True
                    self.r.report(path + ("if",), f"the condition uses visited({name}), but there is no node {name!r}")

    def _goto(self, target: str | None, path: KeyPath, raw_nodes: dict[str, Any], nodes: dict[str, Node]) -> None:
        if not target:
            self.has_broken_structure = True  # already reported as missing or not text
        elif target not in raw_nodes:
            self.has_reference_error = True
            self.r.report(path, f"'goto' names node {target!r}, which does not exist")
        elif target not in nodes:
            self.has_broken_structure = True  # the target node has errors of its own

    # -- case study ------------------------------------------------------------------------------

    def _case_study(self, data: dict[str, Any]) -> dict[str, Any]:
        case = self.r.text(data, (), "case", required=True)
        if "questions" not in data:
            self.r.report((), "missing required key 'questions'", at="key")
        elif isinstance(data["questions"], list) and not data["questions"]:
            self.r.report(("questions",), "'questions' is empty; a case study needs at least one question")
        questions: list[Question] = []
        seen: set[str] = set()
        for index, raw, path in self.r.items(data, (), "questions"):
            question = self._question(index, raw, path)
            if question is None:
                continue
            if question.id in seen:
                self.r.report(path + ("id",), f"question id {question.id!r} is used twice")
            seen.add(question.id)
            questions.append(question)
        return dict(case=case, questions=tuple(questions))

    def _question(self, index: int, raw: Any, path: KeyPath) -> Question | None:
        entry = self.r.mapping(raw, path, "a question")
        if entry is None:
            return None
        self.r.keys(entry, path, ("id", "ask", "points", "options", "reply"), ("ask",), "in a question")
        question_id = self.r.identifier(entry, path, "id") if "id" in entry else f"q{index + 1}"
        present = [key for key in ("options", "reply") if key in entry]
        if len(present) != 1:
            found = "none" if not present else "both"
            self.r.report(path, f"a question needs exactly one of options or reply (found {found})", at="key")
        if "reply" in entry and "points" in entry:
            self.r.report(path + ("points",), "a free-text question's points go inside 'reply'", at="key")
        options = tuple(self._options(entry, path)) if "options" in entry else ()
        reply = self._reply(entry["reply"], path + ("reply",), with_goto=False) if "reply" in entry else None
        return Question(
            id=question_id or f"q{index + 1}",
            ask=self.r.text(entry, path, "ask") or "",
            points=self.r.integer(entry, path, "points", 0) or 0,
            options=options,
            reply=reply,
        )

    def _options(self, question: dict[str, Any], path: KeyPath) -> list[Option]:
        options = []
        for _, raw, option_path in self.r.items(question, path, "options"):
            entry = self.r.mapping(raw, option_path, "an option")
            if entry is None:
                continue
            self.r.keys(entry, option_path, ("text", "correct", "feedback"), ("text",), "in an option")
            options.append(Option(
                text=self.r.text(entry, option_path, "text") or "",
                correct=self.r.boolean(entry, option_path, "correct"),
                feedback=self.r.text(entry, option_path, "feedback"),
            ))
        if isinstance(question.get("options"), list):
            if len(question["options"]) < 2:
                self.r.report(path + ("options",), "an option question needs at least two options")
            correct = sum(option.correct for option in options)
            if correct != 1 and len(options) == len(question["options"]):
                self.r.report(path + ("options",), f"an option question needs exactly one correct option "
                              f"(found {correct})", at="key")
        return options
