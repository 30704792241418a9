"""Read one YAML file safely into plain values, remembering where each key and value stood."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .nesting import check_flow_nesting
from .problems import ContentError, Problem

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64

# libyaml when present; the pure-Python parser is slower but reads the same events.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_KIND_NAMES = {bool: "a true/false value", int: "a whole number", float: "a decimal number", type(None): "nothing"}

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column."""

    line: int
    col: int


@dataclass
class Loaded:
    """A parsed file: plain data plus the marks of every key and value by path."""

    data: dict[str, Any]
    key_marks: dict[KeyPath, Mark] = field(default_factory=dict)
    value_marks: dict[KeyPath, Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    plain_sources: dict[KeyPath, str] = field(default_factory=dict)
    # The decoded text that was parsed, so what is stored is exactly what was checked.
    text: str = ""

    def source(self, path: KeyPath) -> str | None:
        """How an unquoted scalar that YAML did not read as text was written, for "quote it" hints."""
        return self.plain_sources.get(path)

    def key_mark(self, path: KeyPath) -> Mark:
        """Where the key of `path` stands, or the nearest enclosing place we know."""
        return self._nearest(path, self.key_marks, self.value_marks)

    def value_mark(self, path: KeyPath) -> Mark:
        """Where the value at `path` stands, or the nearest enclosing place we know."""
        return self._nearest(path, self.value_marks, self.key_marks)

    @staticmethod
    def _nearest(path: KeyPath, first: dict[KeyPath, Mark], second: dict[KeyPath, Mark]) -> Mark:
        while path:
            mark = first.get(path) or second.get(path)
            if mark:
                return mark
            path = path[:-1]
        return Mark(1, 1)


def describe_value(value: Any) -> str:
    """Say what YAML read a value as, for messages that ask the author to quote it."""
    if hasattr(value, "isoformat"):
        return "a date"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return _KIND_NAMES.get(type(value), type(value).__name__)


def _line_col(text: str, index: int) -> Mark:
    line_start = text.rfind("\n", 0, index) + 1
    return Mark(text.count("\n", 0, index) + 1, index - line_start + 1)


def decode(raw: bytes) -> str:
    """Decode UTF-8 (a leading byte-order mark allowed) or raise with the line of the first bad byte."""
    if len(raw) > MAX_BYTES:
        raise ContentError([Problem(1, 1, "error", f"the file is larger than 1 MiB ({len(raw):,} bytes)")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        if line_start == 0 and raw.startswith(b"\xef\xbb\xbf"):
            line_start = 3  # the byte-order mark is not a column
        col = len(raw[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save it with UTF-8 encoding"
        raise ContentError([Problem(line, col, "error", message)]) from None
    return text.removeprefix("\ufeff")


def _check_characters(text: str) -> None:
    problems = []
    for match in _CONTROL_CHARS.finditer(text):
        mark = _line_col(text, match.start())
        code = ord(match.group())
        what = "control character" if code <= 0x9F else "character"
        message = f"{what} U+{code:04X} is not allowed"
        problems.append(Problem(mark.line, mark.col, "error", message))
        if len(problems) >= 20:
            break
    if problems:
        raise ContentError(problems)


def _mark(event: yaml.Event) -> Mark:
    return Mark(event.start_mark.line + 1, event.start_mark.column + 1)


def _fatal(event: yaml.Event, message: str) -> ContentError:
    mark = _mark(event)
    return ContentError([Problem(mark.line, mark.col, "error", message)])


class _Composer:
    """Build plain values from parser events, iteratively, refusing what content must not use."""

    def __init__(self) -> None:
        self.loaded = Loaded(data={})
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()
        # Each frame: [container, path, pending key or None, key mark, seen keys]
        self._stack: list[list[Any]] = []
        self._root: Any = None
        self._documents = 0

    def feed(self, event: yaml.Event) -> None:
        """Take one parser event."""
        if isinstance(event, yaml.DocumentStartEvent):
            self._documents += 1
            if self._documents > 1:
                raise _fatal(event, "a file holds one YAML document; remove the second `---` and what follows")
            return
        if isinstance(event, yaml.AliasEvent):
            raise _fatal(event, "aliases (*name) are not allowed; write the value out in full")
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            self._check_node_event(event)
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
            self._add(value, event, None if isinstance(value, str) else event.value)
        elif isinstance(event, yaml.MappingStartEvent):
            self._open({}, event)
        elif isinstance(event, yaml.SequenceStartEvent):
            self._open([], event)
        elif isinstance(event, yaml.CollectionEndEvent):
            container = self._stack.pop()[0]
            if not self._stack:
                self._root = container

    def _check_node_event(self, event: yaml.NodeEvent) -> None:
        if event.anchor is not None:
            raise _fatal(event, f"anchors (&{event.anchor}) are not allowed; write each value out in full")
        tag = getattr(event, "tag", None)
        if tag not in (None, "!", _STR_TAG):
            raise _fatal(event, f"tags like {tag!r} are not allowed; remove the `!` tag")

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        if event.tag == _STR_TAG or event.style in ("'", '"', "|", ">"):
            return event.value
        tag = self._resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        builder = self._constructor.yaml_constructors.get(tag)
        if builder is None or tag == _STR_TAG:
            return event.value
        try:
            return builder(self._constructor, yaml.ScalarNode(tag, event.value))
        except (ValueError, yaml.YAMLError):
            return event.value

    def _open(self, container: Any, event: yaml.NodeEvent) -> None:
        if len(self._stack) >= MAX_DEPTH:
            raise _fatal(event, f"nesting deeper than {MAX_DEPTH} levels is not allowed")
        if not self._stack and not isinstance(container, dict):
            raise _fatal(event, "the top level must be a mapping of keys like `id: ...`, not a list")
        path = self._child_path()
        self._add(container, event)
        self._stack.append([container, path, None, None, {}])

    def _child_path(self) -> KeyPath:
        """The path the next value will have in the innermost open container."""
        if not self._stack:
            return ()
        container, path, key, key_mark, _ = self._stack[-1]
        if isinstance(container, list):
            return path + (len(container),)
        return path + ((key if key_mark is not None else "?"),)

    def _add(self, value: Any, event: yaml.NodeEvent, source: str | None = None) -> None:
        mark = _mark(event)
        if not self._stack:
            if not isinstance(value, dict):
                raise _fatal(event, "the top level must be a mapping of keys like `id: ...`")
            self.loaded.value_marks[()] = mark
            return
        frame = self._stack[-1]
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            container.append(value)
            self._remember(path + (len(container) - 1,), mark, source)
            return
        if frame[3] is None:
            self._take_key(frame, value, mark)
            return
        key, key_mark = frame[2], frame[3]
        frame[2] = frame[3] = None
        if key is _SKIP:
            return
        container[key] = value
        self.loaded.key_marks[path + (key,)] = key_mark
        self._remember(path + (key,), mark, source)

    def _remember(self, path: KeyPath, mark: Mark, source: str | None) -> None:
        self.loaded.value_marks[path] = mark
        if source is not None:
            self.loaded.plain_sources[path] = source

    def _take_key(self, frame: list[Any], key: Any, mark: Mark) -> None:
        seen: dict[str, Mark] = frame[4]
        frame[3] = mark
        frame[2] = key
        if not isinstance(key, str):
            what = describe_value(key)
            self._problem(mark, f"a key must be text, but YAML read this one as {what}; put it in quotes")
            frame[2] = _SKIP
        elif key in seen:
            first = seen[key]
            self._problem(mark, f"duplicate key {key!r} (first used on line {first.line})")
            frame[2] = _SKIP
        else:
            seen[key] = mark

    def _problem(self, mark: Mark, message: str) -> None:
        self.loaded.problems.append(Problem(mark.line, mark.col, "error", message))


class _Skip:
    """Marks a mapping entry whose value is read but dropped."""


_SKIP = _Skip()


def load_text(text: str) -> Loaded:
    """Parse decoded text; raise ContentError for anything that stops reading the file."""
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        raise ContentError([Problem(1, 1, "error", "the file is larger than 1 MiB")])
    text = text.removeprefix("\ufeff")
    _check_characters(text)
    check_flow_nesting(text, MAX_DEPTH)
    composer = _Composer()
    try:
        for event in yaml.parse(text, Loader=_Loader):
            composer.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ContentError([Problem(line, col, "error", f"bad YAML: {detail}")]) from None
    except yaml.YAMLError as exc:
        raise ContentError([Problem(1, 1, "error", f"bad YAML: {exc}")]) from None
    if composer._root is None:
        raise ContentError([Problem(1, 1, "error", "the file is empty; it must be a mapping of keys like `id: ...`")])
    composer.loaded.data = composer._root
    composer.loaded.text = text
    return composer.loaded


def load_bytes(raw: bytes) -> Loaded:
    """Decode and parse raw file bytes."""
    return load_text(decode(raw))


def load_file(path: Path) -> Loaded:
    """Read a file (never more than the size limit plus one byte) and parse it."""
    with open(path, "rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        size = path.stat().st_size
        raise ContentError([Problem(1, 1, "error", f"the file is larger than 1 MiB ({size:,} bytes)")])
    return load_bytes(raw)
