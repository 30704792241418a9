"""Problems found in a content file, each pointing at a line and column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One error or warning at a 1-based line and column of a file."""

    line: int
    col: int
    severity: Severity
    message: str

    @property
    def is_error(self) -> bool:
        """True for an error, False for a warning."""
        return self.severity == "error"

    def format(self, path: str) -> str:
        """Render as `path:line:col: severity: message`."""
        return f"{path}:{self.line}:{self.col}: {self.severity}: {self.message}"


class ContentError(Exception):
    """A file could not be read as content at all; carries the problems found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
