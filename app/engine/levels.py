"""Levels: a ladder of named point thresholds, and where a total stands on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping


@dataclass(frozen=True)
class Level:
    """One rung: reached at `points` or more."""

    name: str
    points: int


@dataclass(frozen=True)
class LevelProgress:
    """A total's current level, the next one (None at the top), and how far along the way it is."""

    points: int
    level: Level
    number: int
    next: Level | None

    @property
    def percent(self) -> int:
        """Whole percent of the way from this level's threshold to the next (100 at the top)."""
        if self.next is None:
            return 100
        span = self.next.points - self.level.points
        return max(0, min(100, (self.points - self.level.points) * 100 // span))

    @property
    def to_next(self) -> int:
        """Points still needed for the next level (0 at the top)."""
        return 0 if self.next is None else max(0, self.next.points - self.points)


def parse_ladder(raw: Iterable[Mapping[str, object]]) -> tuple[Level, ...]:
    """A ladder from settings like [{"name": ..., "points": ...}]; thresholds must rise, starting at 0."""
    ladder = []
    for entry in raw:
        name, points = entry.get("name"), entry.get("points")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("every level needs a name")
        if not isinstance(points, int) or isinstance(points, bool) or points < 0:
            raise ValueError(f"level {name!r} needs a whole number of points, 0 or more")
        ladder.append(Level(name.strip(), points))
    if not ladder or ladder[0].points != 0:
        raise ValueError("the first level must start at 0 points")
    if any(later.points <= earlier.points for earlier, later in zip(ladder, ladder[1:])):
        raise ValueError("level thresholds must rise from one level to the next")
    return tuple(ladder)


def progress(points: int, ladder: tuple[Level, ...]) -> LevelProgress:
    """Where `points` stands: the highest level reached and the one after it."""
    number = 0
    for index, level in enumerate(ladder):
        if points >= level.points:
            number = index
    following = ladder[number + 1] if number + 1 < len(ladder) else None
    return LevelProgress(points, ladder[number], number + 1, following)
