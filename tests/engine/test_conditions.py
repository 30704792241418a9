"""The `if:` condition language: grammar, evaluation, errors, and no Python eval anywhere."""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Mapping

import pytest

from app.engine import conditions
from app.engine.conditions import (BoolOp, Compare, ConditionError, Not, Number, Variable, Visited, evaluate,
                                   names, parse)
from app.engine.play import Playthrough, play


def run(text: str, variables: Mapping[str, int] | None = None, visited: set[str] | frozenset[str] = frozenset()) -> int:
    return evaluate(parse(text), variables or {}, visited.__contains__)


# -- grammar ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, tree", [
    ("mood", Variable("mood")),
    ("3", Number(3)),
    ("007", Number(7)),
    ("-3", Number(-3)),
    ("- 3", Number(-3)),
    ("mood >= 1", Compare(">=", Variable("mood"), Number(1))),
    ("mood>=-1", Compare(">=", Variable("mood"), Number(-1))),
    ("-2 < mood", Compare("<", Number(-2), Variable("mood"))),
    ("a == b", Compare("==", Variable("a"), Variable("b"))),
    ("a != 0", Compare("!=", Variable("a"), Number(0))),
    ("visited(check)", Visited("check")),
    ("visited (check)", Visited("check")),
    ("visited( check )", Visited("check")),
    ("visited(node-2_b)", Visited("node-2_b")),
    ("not a", Not(Variable("a"))),
    ("not not a", Not(Not(Variable("a")))),
    ("a and b", BoolOp("and", (Variable("a"), Variable("b")))),
    ("a and b and c", BoolOp("and", (Variable("a"), Variable("b"), Variable("c")))),
    ("a or b or c", BoolOp("or", (Variable("a"), Variable("b"), Variable("c")))),
    ("  a   or\tb\n", BoolOp("or", (Variable("a"), Variable("b")))),
    ("var_1 > 0", Compare(">", Variable("var_1"), Number(0))),
    ("calls-made > 0", Compare(">", Variable("calls-made"), Number(0))),
])
def test_parse_trees(text: str, tree: object) -> None:
    assert parse(text) == tree


def test_and_binds_tighter_than_or() -> None:
    assert parse("a or b and c") == BoolOp("or", (Variable("a"), BoolOp("and", (Variable("b"), Variable("c")))))
    assert parse("a and b or c") == BoolOp("or", (BoolOp("and", (Variable("a"), Variable("b"))), Variable("c")))


def test_not_binds_tighter_than_and_but_looser_than_a_comparison() -> None:
    assert parse("not a and b") == BoolOp("and", (Not(Variable("a")), Variable("b")))
    assert parse("not a == 1") == Not(Compare("==", Variable("a"), Number(1)))
    assert parse("not a or not b") == BoolOp("or", (Not(Variable("a")), Not(Variable("b"))))


def test_parentheses_override_precedence() -> None:
    assert parse("(a or b) and c") == BoolOp("and", (BoolOp("or", (Variable("a"), Variable("b"))), Variable("c")))
    assert parse("not (a and b)") == Not(BoolOp("and", (Variable("a"), Variable("b"))))
    assert parse("((a))") == Variable("a")


def test_a_parenthesised_expression_is_an_atom_of_a_comparison() -> None:
    # atom := "(" expr ")", so (a < 1) == 0 is one comparison of two atoms, not chaining
    assert parse("(a < 1) == 0") == Compare("==", Compare("<", Variable("a"), Number(1)), Number(0))


def test_names_lists_variables_and_visited_nodes() -> None:
    expr = parse("not (mood >= 2 and visited(check)) or calls == -1 or visited(opening) and x")
    assert names(expr) == ({"mood", "calls", "x"}, {"check", "opening"})
    assert names(parse("3 > 2")) == (set(), set())


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, offset, fragment", [
    ("1 < x < 3", 6, "cannot be chained"),
    ("a == b == c", 7, "cannot be chained"),
    ("a < b >= c", 6, "cannot be chained"),
    ("", 0, "empty"),
    ("   ", 0, "empty"),
    ("mood >= ", 8, "found the end"),
    ("mood >=", 7, "found the end"),
    ("(a or b", 7, "`)`"),
    ("a or b)", 6, "unexpected ')'"),
    ("()", 1, "expected a number"),
    ("a b", 2, "join conditions"),
    ("a and", 5, "found the end"),
    ("and a", 0, "expected a number"),
    ("not", 3, "found the end"),
    ("--1", 1, "expected a number after `-`"),
    ("-x", 1, "expected a number after `-`"),
    ("- (1)", 2, "expected a number after `-`"),
    ("visited()", 8, "node id"),
    ("visited(a", 9, "`)` after the node id"),
    ("visited(a b)", 10, "`)` after the node id"),
    ("visited(1 < 2)", 10, "`)` after the node id"),
    ("mood = 1", 5, "unexpected character '='"),
    ("mood => 1", 5, "unexpected character '='"),
    ("Mood > 1", 0, "unexpected character 'M'"),
    ("mood > 1.5", 8, "unexpected character '.'"),
    ("mood && x", 5, "unexpected character '&'"),
    ("mood || x", 5, "unexpected character '|'"),
    ("!mood", 0, "unexpected character '!'"),
    ("mood + 1 > 2", 5, "unexpected character '+'"),
    ("mood > 'a'", 7, "unexpected character"),
    ("ışık > 1", 0, "unexpected character 'ı'"),
    ("mood >= ١", 8, "unexpected character '١'"),
])
def test_parse_errors(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert caught.value.offset == offset
    assert fragment in str(caught.value)


def test_a_condition_error_is_a_value_error_with_an_offset() -> None:
    with pytest.raises(ValueError):
        parse("?")


# -- never Python ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')",
    "__import__('os')",
    "open('/etc/passwd')",
    "exec('x=1')",
    "mood.__class__",
    "[x for x in ()]",
    "lambda: 1",
    "1 if mood else 0",
    "mood[0]",
    "True",
    "None",
    "mood is 1",
    "mood in (1, 2)",
    "2 ** 100",
])
def test_python_expressions_do_not_parse(text: str) -> None:
    with pytest.raises(ConditionError):
        parse(text)


def test_no_eval_exec_or_compile_is_ever_called(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("Python evaluation used")
    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    assert run("not (mood >= 2 and visited(check)) or mood == -1", {"mood": 3}, {"check"}) == 0
    with pytest.raises(ConditionError):
        parse("__import__('os')")


def test_the_module_does_not_use_eval() -> None:
    source = Path(conditions.__file__).read_text(encoding="utf-8")
    assert not re.search(r"(?<![\w.])(eval|exec|compile|__import__|literal_eval)\s*\(", source)
    assert "import ast" not in source


# -- evaluation ------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(0, 0), (1, 1), (-1, 1), (5, 1)])
def test_a_bare_variable_is_true_when_not_zero(value: int, expected: int) -> None:
    assert bool(run("mood", {"mood": value})) == bool(expected)
    assert run("not mood", {"mood": value}) == 1 - expected


@pytest.mark.parametrize("text, mood, expected", [
    ("mood >= 1", 1, 1),
    ("mood >= 1", 0, 0),
    ("mood > 1", 1, 0),
    ("mood < 1", 0, 1),
    ("mood <= -1", -1, 1),
    ("mood == -2", -2, 1),
    ("mood != -2", -2, 0),
    ("-1 < mood", 0, 1),
    ("3 == 3", 0, 1),
    ("0", 5, 0),
    ("-3", 5, 1),
])
def test_comparisons(text: str, mood: int, expected: int) -> None:
    assert bool(run(text, {"mood": mood})) == bool(expected)


def test_boolean_operators_follow_precedence() -> None:
    # with a=1, b=0, c=0: "a or b and c" is a or (b and c) = 1, but (a or b) and c = 0
    values = {"a": 1, "b": 0, "c": 0}
    assert run("a or b and c", values) == 1
    assert run("(a or b) and c", values) == 0
    assert run("not a or c", values) == 0
    assert run("not (a and c)", values) == 1


def test_visited_is_true_for_entered_nodes() -> None:
    assert run("visited(check)", {}, {"opening", "check"}) == 1
    assert run("visited(escalation)", {}, {"opening", "check"}) == 0
    assert run("not visited(escalation) and visited(opening)", {}, {"opening"}) == 1


def test_evaluation_results_are_plain_ints() -> None:
    for text in ("a", "a > 0", "not a", "a and 1", "a or 0", "visited(n)"):
        assert type(run(text, {"a": 2}, {"n"})) is int


def test_a_comparison_can_compare_two_variables() -> None:
    assert run("a < b", {"a": 1, "b": 2}) == 1
    assert run("a == b", {"a": 2, "b": 2}) == 1


def test_conditions_choose_what_is_offered_in_play(make_scenario) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario("""\
        id: cond
        title: Conditions
        variables:
          mood: {initial: 0, min: -2, max: 2}
        nodes:
          hub:
            choices:
              - {id: up, text: Up, change: {mood: 1}, goto: hub}
              - {id: down, text: Down, change: {mood: -1}, goto: hub}
              - {id: calm, text: Calm, if: "mood >= 2 or visited(side)", goto: done}
              - {id: low, text: Low, if: "mood == -2 and not visited(side)", goto: side}
          side:
            choices:
              - {id: back, text: Back, goto: hub}
          done: {ending: success}
        """)
    def offered(playthrough: Playthrough) -> list[str]:
        return [choice.id for choice in playthrough.offered()]

    assert offered(Playthrough(scenario)) == ["up", "down"]
    assert offered(play(scenario, ["up", "up"])) == ["up", "down", "calm"]
    assert offered(play(scenario, ["down", "down"])) == ["up", "down", "low"]
    # visited(side) stays true after leaving it
    assert offered(play(scenario, ["down", "down", "low", "back"])) == ["up", "down", "calm"]


# -- hostile conditions ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "(" * 300 + "1" + ")" * 300,
    "not " * 2000 + "1",
    "(" * 100_000,
    "not (" * 5000 + "a",
    "a and " * 50_000 + "a",
], ids=["300-parentheses", "2000-nots", "100000-open-parentheses", "5000-not-parentheses", "50000-ands"])
def test_hostile_conditions_parse_or_fail_with_a_condition_error(text: str) -> None:
    try:
        expr = parse(text)
    except ConditionError as exc:
        assert 0 <= exc.offset <= len(text)
        return
    assert evaluate(expr, {"a": 1}, lambda node: False) in (0, 1)


def test_the_validator_reports_a_deeply_nested_condition(check_file) -> None:  # type: ignore[no-untyped-def]
    condition = "(" * 300 + "1" + ")" * 300
    report = check_file(f"""\
        id: deep
        title: Deep
        nodes:
          a:
            choices:
              - {{text: Go, goto: e, if: "{condition}"}}
              - {{text: Else, goto: e}}
          e: {{ending: success}}
        """)
    [problem] = report.errors
    assert (problem.line, problem.col) == (6, 33)
    assert "does not parse" in problem.message


def test_moderate_nesting_works() -> None:
    assert run("(" * 20 + "a" + ")" * 20, {"a": 1}) == 1
    assert run("not " * 20 + "a", {"a": 1}) == 1
    assert run("not (" * 10 + "a" + ")" * 10, {"a": 0}) == 0
