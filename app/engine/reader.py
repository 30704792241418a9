"""Typed reads of loaded YAML values, recording a positioned problem for each thing that is wrong."""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from .problems import Problem, Severity
from .yamlsafe import KeyPath, Loaded, describe_value

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LANGUAGE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
ID_HINT = "use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit"


def _quotable(value: Any) -> bool:
    return isinstance(value, (bool, int, float)) or hasattr(value, "isoformat")


class Reader:
    """Reads values out of a Loaded file and collects problems pointing at keys and values."""

    def __init__(self, loaded: Loaded):
        self.loaded = loaded
        self.problems: list[Problem] = list(loaded.problems)

    def report(self, path: KeyPath, message: str, at: str = "value", severity: Severity = "error") -> None:
        """Record a problem at the key or the value of `path`."""
        mark = self.loaded.key_mark(path) if at == "key" else self.loaded.value_mark(path)
        self.problems.append(Problem(mark.line, mark.col, severity, message))

    @property
    def has_errors(self) -> bool:
        """True once any error has been recorded."""
        return any(problem.is_error for problem in self.problems)

    def keys(self, mapping: dict[str, Any], path: KeyPath, allowed: Iterable[str], required: Iterable[str] = (),
             where: str = "here") -> None:
        """Report unknown keys (at the key) and missing required ones (at the mapping's key)."""
        allowed = set(allowed)
        for key in mapping:
            if key not in allowed and not key.startswith("x-"):
                known = ", ".join(sorted(allowed))
                self.report(path + (key,), f"unknown key {key!r} {where} (expected one of: {known})", at="key")
        for key in required:
            if key not in mapping:
                self.report(path, f"missing required key {key!r}", at="key")

    def mapping(self, value: Any, path: KeyPath, what: str) -> dict[str, Any] | None:
        """The value when it is a mapping, else None after a problem."""
        if isinstance(value, dict):
            return value
        self.report(path, f"{what} must be a mapping of keys, but YAML read {describe_value(value)}")
        return None

    def sequence(self, value: Any, path: KeyPath, what: str) -> list[Any] | None:
        """The value when it is a list, else None after a problem."""
        if isinstance(value, list):
            return value
        self.report(path, f"{what} must be a list, but YAML read {describe_value(value)}")
        return None

    def text(self, mapping: dict[str, Any], path: KeyPath, key: str, required: bool = False) -> str | None:
        """A text value, or None when absent or wrong."""
        if key not in mapping:
            if required:
                self.report(path, f"missing required key {key!r}", at="key")
            return None
        return self.text_value(mapping[key], path + (key,), repr(key))

    def text_value(self, value: Any, path: KeyPath, what: str) -> str | None:
        """A value that must be text."""
        if isinstance(value, str):
            if not value.strip():
                self.report(path, f"{what} is empty")
                return None
            return value
        if value is None:
            self.report(path, f"{what} has no value")
            return None
        read_as = describe_value(value)
        source = self.loaded.source(path)
        if _quotable(value) and source is not None:
            self.report(path, f"{what} must be text, but YAML reads {source} as {read_as}; "
                        f"put it in quotes: \"{source}\"")
        else:
            self.report(path, f"{what} must be text, but YAML read {read_as}")
        return None

    def integer(self, mapping: dict[str, Any], path: KeyPath, key: str, default: int | None = None,
                minimum: int | None = None, maximum: int | None = None, required: bool = False) -> int | None:
        """A whole number within optional bounds, or `default` when absent or wrong."""
        if key not in mapping:
            if required:
                self.report(path, f"missing required key {key!r}", at="key")
            return default
        value = self.integer_value(mapping[key], path + (key,), repr(key), minimum, maximum)
        return default if value is None else value

    def integer_value(self, value: Any, path: KeyPath, what: str, minimum: int | None = None,
                      maximum: int | None = None) -> int | None:
        """A value that must be a whole number."""
        if isinstance(value, bool) or not isinstance(value, int):
            source = self.loaded.source(path)
            read = f"reads {source} as" if source is not None else "read"
            hint = "; write it without quotes" if isinstance(value, str) and value.strip().lstrip("-").isdigit() \
                else "; write a whole number like 5"
            self.report(path, f"{what} must be a whole number, but YAML {read} {describe_value(value)}{hint}")
            return None
        if minimum is not None and value < minimum or maximum is not None and value > maximum:
            bounds = (f"from {minimum} to {maximum}" if minimum is not None and maximum is not None
                      else f"at least {minimum}" if minimum is not None else f"at most {maximum}")
            self.report(path, f"{what} must be {bounds}, not {value}")
            return None
        return value

    def boolean(self, mapping: dict[str, Any], path: KeyPath, key: str, default: bool = False) -> bool:
        """A true/false value."""
        if key not in mapping:
            return default
        value = mapping[key]
        if isinstance(value, bool):
            return value
        self.report(path + (key,), f"{key!r} must be true or false, but YAML read {describe_value(value)}")
        return default

    def identifier(self, mapping: dict[str, Any], path: KeyPath, key: str, required: bool = False) -> str | None:
        """An id matching the id pattern."""
        value = self.text(mapping, path, key, required)
        if value is not None and not ID_PATTERN.match(value):
            self.report(path + (key,), f"{key!r} {value!r} is not a valid id: {ID_HINT}")
            return None
        return value

    def id_key(self, key: str, path: KeyPath, what: str) -> bool:
        """Check that a mapping key used as an id has the id form."""
        if ID_PATTERN.match(key):
            return True
        self.report(path, f"{what} {key!r} is not a valid id: {ID_HINT}", at="key")
        return False

    def one_of(self, mapping: dict[str, Any], path: KeyPath, key: str, options: tuple[str, ...],
               default: str | None) -> str | None:
        """A text value that must be one of `options`."""
        value = self.text(mapping, path, key)
        if value is None:
            return default
        if value not in options:
            self.report(path + (key,), f"{key!r} must be one of {', '.join(options)}, not {value!r}")
            return default
        return value

    def language(self, mapping: dict[str, Any], path: KeyPath) -> str:
        """A BCP 47 language tag, default `en`."""
        value = self.text(mapping, path, "language")
        if value is None:
            return "en"
        if not LANGUAGE_PATTERN.match(value):
            self.report(path + ("language",), f"'language' {value!r} is not a language tag like en, tr or fa")
            return "en"
        return value

    def deltas(self, mapping: dict[str, Any], path: KeyPath, key: str) -> dict[str, int]:
        """A mapping of id to whole number (skill deltas, variable changes)."""
        if key not in mapping:
            return {}
        found = self.mapping(mapping[key], path + (key,), repr(key))
        result: dict[str, int] = {}
        for name, value in (found or {}).items():
            entry_path = path + (key, name)
            number = self.integer_value(value, entry_path, f"{key!r} for {name!r}")
            if self.id_key(name, entry_path, "name") and number is not None:
                result[name] = number
        return result

    def items(self, mapping: dict[str, Any], path: KeyPath, key: str) -> Iterator[tuple[int, Any, KeyPath]]:
        """Enumerate a list value with each item's path (nothing when absent or not a list)."""
        if key not in mapping:
            return
        found = self.sequence(mapping[key], path + (key,), repr(key))
        for index, item in enumerate(found or []):
            yield index, item, path + (key, index)
