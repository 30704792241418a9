"""Validate files and folders the way the `scenarios validate` command does, and render its output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from .library import FileReport, Library, library_root_of, yaml_files


def collect(paths: list[str], default_root: Path) -> list[tuple[Path, str]]:
    """The files to check with the names to print: as given, or as found under a given folder."""
    if not paths:
        return [(path, path.relative_to(default_root).as_posix())
                for folder in ("scenarios", "courses") if (default_root / folder).is_dir()
                for path in yaml_files(default_root / folder)]
    found: list[tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend((file, (Path(given) / file.relative_to(path)).as_posix()) for file in yaml_files(path))
        else:
            found.append((path, given))
    return found


def validate(paths: list[str], default_root: Path, static_dir: Path | None = None,
             published: Mapping[str, str] | None = None) -> list[FileReport]:
    """Check every file named or found, each against its own library (or the default one), in path order.

    `published` (id -> kind) joins the default library: the content published from the browser.
    """
    libraries: dict[Path, Library] = {}
    reports = []
    for path, display in sorted(collect(paths, default_root), key=lambda item: item[1]):
        root = library_root_of(path) or default_root
        library = libraries.get(root.resolve())
        if library is None:
            extra = published if root.resolve() == default_root.resolve() else None
            library = libraries[root.resolve()] = Library(root, static_dir, extra)
        reports.append(library.check(path, display))
    return reports


def totals(reports: list[FileReport]) -> tuple[int, int]:
    """The number of errors and warnings over all reports."""
    return sum(len(r.errors) for r in reports), sum(len(r.warnings) for r in reports)


def render_text(reports: list[FileReport]) -> str:
    """One line per problem, in path and line order, then the summary line."""
    lines = [problem.format(report.display) for report in reports
             for problem in sorted(report.problems)]
    errors, warnings = totals(reports)
    lines.append(f"{errors} errors, {warnings} warnings in {len(reports)} files")
    return "\n".join(lines)


def render_json(reports: list[FileReport]) -> str:
    """The command's `--json` object."""
    def problems(items: list) -> list[dict[str, object]]:
        return [{"line": p.line, "col": p.col, "message": p.message} for p in items]

    errors, warnings = totals(reports)
    return json.dumps({
        "files": [{
            "path": report.display,
            "id": report.id,
            "errors": problems(report.errors),
            "warnings": problems(report.warnings),
            "stats": report.stats.as_json() if report.stats is not None else None,
        } for report in reports],
        "errors": errors,
        "warnings": warnings,
    }, ensure_ascii=False, indent=2)
