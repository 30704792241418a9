"""The `if:` condition language: parsed by hand and evaluated on plain values, never with eval."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Union

_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|<=|>=|<|>|\(|\)|-)|(?P<visited>visited\s*\()|(?P<word>[a-z0-9][a-z0-9_-]*)|(?P<bad>\S))"
)
_KEYWORDS = {"and", "or", "not"}
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class ConditionError(ValueError):
    """A condition that does not parse; `offset` is the 0-based character where it went wrong."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Number:
    """A whole-number literal."""

    value: int


@dataclass(frozen=True)
class Variable:
    """A declared variable, read by name."""

    name: str


@dataclass(frozen=True)
class Visited:
    """True when the named node has been entered in this attempt."""

    node: str


@dataclass(frozen=True)
class Not:
    """Logical negation."""

    operand: "Expr"


@dataclass(frozen=True)
class BoolOp:
    """`and` / `or` over two or more operands."""

    op: str
    operands: tuple["Expr", ...]


@dataclass(frozen=True)
class Compare:
    """One comparison between two atoms (no chaining)."""

    op: str
    left: "Expr"
    right: "Expr"


Expr = Union[Number, Variable, Visited, Not, BoolOp, Compare]


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        kind = match.lastgroup or "bad"
        start = match.start(kind)
        value = match.group(kind)
        if kind == "bad":
            raise ConditionError(f"unexpected character {value!r}", start)
        if kind == "word" and value in _KEYWORDS:
            kind = value
        tokens.append((kind, value, start))
        position = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


MAX_NESTING = 32
MAX_LENGTH = 1000


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.index = 0
        self.nesting = 0

    def deeper(self, offset: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ConditionError(f"the condition nests deeper than {MAX_NESTING} levels", offset)

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, value: str, what: str) -> None:
        token = self.take()
        if token[0] != kind or token[1] != value:
            raise ConditionError(f"expected {what}{_found(token)}", token[2])

    def parse(self) -> Expr:
        expr = self.expr()
        token = self.peek()
        if token[0] != "end":
            raise ConditionError(f"unexpected {token[1]!r}; join conditions with `and` or `or`", token[2])
        return expr

    def expr(self) -> Expr:
        return self._chain("or", self.conjunction)

    def conjunction(self) -> Expr:
        return self._chain("and", self.negation)

    def _chain(self, keyword: str, operand: Callable[[], Expr]) -> Expr:
        operands = [operand()]
        while self.peek()[0] == keyword:
            self.take()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(keyword, tuple(operands))

    def negation(self) -> Expr:
        if self.peek()[0] == "not":
            self.deeper(self.take()[2])
            result = Not(self.negation())
            self.nesting -= 1
            return result
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.atom()
        kind, value, _ = self.peek()
        if kind == "op" and value in _COMPARE:
            self.take()
            right = self.atom()
            following = self.peek()
            if following[0] == "op" and following[1] in _COMPARE:
                raise ConditionError("comparisons cannot be chained; join them with `and`", following[2])
            return Compare(value, left, right)
        return left

    def atom(self) -> Expr:
        kind, value, offset = self.take()
        if kind == "op" and value == "(":
            self.deeper(offset)
            inner = self.expr()
            self.expect("op", ")", "`)`")
            self.nesting -= 1
            return inner
        if kind == "op" and value == "-":
            number = self.take()
            if number[0] != "word" or not number[1].isdigit():
                raise ConditionError(f"expected a number after `-`{_found(number)}", number[2])
            return Number(-int(number[1]))
        if kind == "visited":
            node = self.take()
            if node[0] != "word":
                raise ConditionError(f"expected a node id inside visited(...){_found(node)}", node[2])
            self.expect("op", ")", "`)` after the node id")
            return Visited(node[1])
        if kind == "word":
            return Number(int(value)) if value.isdigit() else Variable(value)
        raise ConditionError(f"expected a number, a variable, visited(node) or `(`{_found((kind, value, offset))}", offset)


def _found(token: tuple[str, str, int]) -> str:
    return ", found the end" if token[0] == "end" else f", found {token[1]!r}"


def parse(text: str) -> Expr:
    """Parse a condition or raise ConditionError."""
    if not text.strip():
        raise ConditionError("the condition is empty", 0)
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(text).parse()


def names(expr: Expr) -> tuple[set[str], set[str]]:
    """The variable names and the visited() node ids an expression reads."""
    variables: set[str] = set()
    nodes: set[str] = set()
    stack: list[Expr] = [expr]
    while stack:
        item = stack.pop()
        if isinstance(item, Variable):
            variables.add(item.name)
        elif isinstance(item, Visited):
            nodes.add(item.node)
        elif isinstance(item, Not):
            stack.append(item.operand)
        elif isinstance(item, BoolOp):
            stack.extend(item.operands)
        elif isinstance(item, Compare):
            stack.extend((item.left, item.right))
    return variables, nodes


def evaluate(expr: Expr, variables: Mapping[str, int], visited: Callable[[str], bool]) -> int:
    """Evaluate to a whole number; truth is "not 0"."""
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, Variable):
        return variables[expr.name]
    if isinstance(expr, Visited):
        return int(visited(expr.node))
    if isinstance(expr, Not):
        return int(not evaluate(expr.operand, variables, visited))
    if isinstance(expr, BoolOp):
        results = (bool(evaluate(operand, variables, visited)) for operand in expr.operands)
        return int(any(results) if expr.op == "or" else all(results))
    left = evaluate(expr.left, variables, visited)
    return int(_COMPARE[expr.op](left, evaluate(expr.right, variables, visited)))
