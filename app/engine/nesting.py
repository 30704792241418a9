"""A cheap scan for deep flow nesting (`[[[...`, `{{{...`), run before any YAML parser sees the text."""

from __future__ import annotations

import re

from .problems import ContentError, Problem


def _line_col(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


_SCAN = re.compile(r"""[\[\]{}"'#]""")
_TOKEN_LIMIT = 256
_RAW_BRACKETS = re.compile(r"[\[\]{}]")
RAW_BRACKET_LIMIT = 1000
_BLOCK_SCALAR = re.compile(r"(?:^|[ \t:-])[|>][0-9+-]*[ \t]*(?:#.*)?$")


def check_flow_nesting(text: str, max_depth: int) -> None:
    """Refuse deep flow nesting cheaply, before any YAML parser sees the text.

    Brackets count where YAML would read them as flow collections: opening a value, or anywhere inside
    one; brackets in plain text, quoted text, block scalars and comments are left alone.
    """
    _check_raw_bracket_depth(text, max_depth)
    depth = 0
    quote = ""
    block_indent: int | None = None
    for line_number, line in enumerate(text.split("\n"), start=1):
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if not line.strip() or indent > block_indent:
                continue
            block_indent = None
        position = 0
        code_end = len(line)
        while True:
            if quote:
                position = _quote_end(line, position, quote)
                if position < 0:
                    break
                quote = ""
            match = _SCAN.search(line, position)
            if match is None:
                break
            char, position = match.group(), match.end()
            if char == "#" and (match.start() == 0 or line[match.start() - 1] in " \t"):
                code_end = match.start()
                break
            if depth > 0:
                # Inside a flow collection brackets are always indicators, but a quote opens a quoted scalar
                # only where a node starts (`[it's]` is plain text).
                opens_value = char not in "\"'" or _starts_flow_node(line, match.start())
            else:
                opens_value = _starts_value(line, match.start())
            if char in "\"'" and opens_value:
                quote = char
            elif char in "[{" and opens_value:
                depth += 1
                if depth > max_depth:
                    message = f"nesting deeper than {max_depth} levels is not allowed"
                    raise ContentError([Problem(line_number, match.start() + 1, "error", message)])
            elif char in "]}" and depth:
                depth -= 1
        if depth == 0 and not quote and _BLOCK_SCALAR.search(line, 0, code_end):
            block_indent = indent


def _check_raw_bracket_depth(text: str, max_depth: int) -> None:
    """A safety net under the flow scan: far more unclosed brackets than any text holds is refused outright,
    however quotes, comments or block scalars might disguise them."""
    depth = 0
    for match in _RAW_BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > RAW_BRACKET_LIMIT:
                line, col = _line_col(text, match.start())
                message = (f"nesting deeper than {max_depth} levels is not allowed "
                           f"(over {RAW_BRACKET_LIMIT} unclosed brackets)")
                raise ContentError([Problem(line, col, "error", message)])
        elif depth:
            depth -= 1


def _starts_value(line: str, index: int) -> bool:
    """Whether a bracket or quote at `index` begins a value: at the line's start, after `key: `, `- ` or
    `? `, or after an anchor or tag that itself begins one. Looks back a bounded distance, so the scan stays linear.
    """
    position = index
    for _ in range(2):  # the bracket itself, then at most one anchor or tag before it
        spaced_from = position
        while position and line[position - 1] in " \t":
            position -= 1
        if position == 0:
            return True
        previous = line[position - 1]
        if previous in ":?-":
            lone = previous == ":" or position == 1 or line[position - 2] in " \t" or line[:position] == "---"
            return lone and position < spaced_from
        window = max(0, position - _TOKEN_LIMIT)
        token_start = max(line.rfind(" ", window, position), line.rfind("\t", window, position)) + 1
        if token_start == 0 and window > 0 or line[max(token_start, window)] not in "&!":
            return False
        position = token_start
    return False


def _starts_flow_node(line: str, index: int) -> bool:
    """Whether a quote at `index` inside a flow collection begins a node (after `[`, `{`, `,`, `:` or `?`)."""
    position = index
    while position and line[position - 1] in " \t":
        position -= 1
    return position == 0 or line[position - 1] in "[{,:?"


def _quote_end(line: str, start: int, quote: str) -> int:
    """The index just past the closing quote on this line, or -1 when the quoted text goes on."""
    position = start
    while True:
        found = line.find(quote, position)
        if found < 0:
            return -1
        if quote == '"':
            backslashes = len(line[:found]) - len(line[:found].rstrip("\\"))
            if backslashes % 2:
                position = found + 1
                continue
            return found + 1
        if line.startswith("''", found):
            position = found + 2
            continue
        return found + 1
