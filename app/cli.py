"""`flask` command groups: `scenarios validate` and `scenarios play`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .accounts_cli import users_cli
from .engine.library import Library, library_root_of
from .engine.play import Action, ActionRefused, play
from .engine.transcript import as_json, as_text
from .engine.validate import render_json, render_text, totals, validate

scenarios_cli = AppGroup("scenarios", help="Check and try trainer content (role-plays, case studies, courses).")


def _content_root() -> Path:
    return Path(current_app.config["CONTENT_ROOT"])


def _static_dir() -> Path:
    return Path(current_app.static_folder or "static")


@scenarios_cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--json", "as_json_output", is_flag=True, help="Print one JSON object instead of lines.")
def validate_command(paths: tuple[str, ...], as_json_output: bool) -> None:
    """Check content files or folders (default: scenarios/ and courses/)."""
    reports = validate(list(paths), _content_root(), _static_dir())
    click.echo(render_json(reports) if as_json_output else render_text(reports))
    errors, _ = totals(reports)
    sys.exit(1 if errors else 0)


@scenarios_cli.command("play")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("actions", nargs=-1)
@click.option("--json", "as_json_output", is_flag=True, help="Print one JSON object instead of a transcript.")
def play_command(file: str, actions: tuple[str, ...], as_json_output: bool) -> None:
    """Play FILE from its start: each ACTION is a choice id, reply:TEXT, or an option number."""
    path = Path(file)
    library = Library(library_root_of(path) or _content_root(), _static_dir())
    report = library.check(path, file)
    if report.errors or report.kind != "scenario" or report.content is None:
        for problem in report.errors or []:
            click.echo(problem.format(file), err=True)
        if report.kind != "scenario":
            click.echo(f"{file}: this is a {report.kind} file, not a scenario", err=True)
        sys.exit(1)
    playthrough = None
    try:
        playthrough = play(report.content, [Action.parse(action) for action in actions])  # type: ignore[arg-type]
    except ActionRefused as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(1)
    click.echo(as_json(playthrough) if as_json_output else as_text(playthrough))


content_cli = AppGroup("content", help="Keep the database in step with the library folders.")


@content_cli.command("sync")
def sync_command() -> None:
    """Store every valid library file as a version; list the files skipped for errors."""
    from .content_sync import sync_library
    from .database import prepare_for_command

    prepare_for_command()
    result = sync_library(_content_root(), _static_dir())
    for path in result.skipped:
        click.echo(f"skipped (has errors): {path}", err=True)
    click.echo(f"{result.files} files, {result.new_versions} new versions, {len(result.skipped)} skipped")


points_cli = AppGroup("points", help="Check the points totals against the append-only ledger.")


@points_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every total and board score from the ledger and best results; list the totals that were wrong."""
    from .board_cache import bump_version
    from .database import prepare_for_command, write
    from .points import rebuild_totals
    from .rewards import rebuild_boards

    prepare_for_command()
    changed = rebuild_totals()
    for user_id, (was, now) in sorted(changed.items()):
        click.echo(f"user {user_id}: total was {was}, ledger says {now}; fixed")
    click.echo(f"{len(changed)} totals corrected")
    rebuild_boards()
    write(bump_version)
    click.echo("weekly, monthly, skill and course boards recomputed")


def init_app(app: Flask) -> None:
    """Register the command groups on the app."""
    app.cli.add_command(scenarios_cli)
    app.cli.add_command(content_cli)
    app.cli.add_command(points_cli)
    app.cli.add_command(users_cli)
