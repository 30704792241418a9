"""Trainers and admins see the library's health (problems, stats, branch maps) and can sync the library."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, flash, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from .. import library_health
from ..analytics import map_text
from ..content_sync import sync_library
from ..security import roles_required
from . import markdown
from .htmx import redirect_to

bp = Blueprint("library", __name__, url_prefix="/library")


def init_app(app: Flask) -> None:
    """Register the blueprint and the markdown filter used by every content page."""
    app.register_blueprint(bp)
    markdown.init_app(app)


@bp.get("/problems")
@roles_required("trainer")
def problems():
    """Library health: every file with its errors and warnings, its stats and a way to its branch map."""
    files = library_health.library_health()
    text = map_text()
    maps = [library_health.branch_map(file.content_id, text) for file in files if file.has_map and file.content_id]
    # Maps are built with ElementTree, which escapes every text and attribute taken from the YAML.
    return render_template("library/problems.html", files=files,
                           maps=[(scenario, Markup(svg)) for scenario, svg in maps])  # noqa: S704


@bp.get("/scenarios/<content_id>/map")
@roles_required("trainer")
def branch_map(content_id: str):
    """A role-play's branch map, drawn by the server."""
    try:
        scenario, svg = library_health.branch_map(content_id, map_text())
    except library_health.NotFound:
        abort(404)
    # The SVG is built with ElementTree, which escapes every text and attribute taken from the YAML.
    return render_template("library/map.html", scenario=scenario, svg=Markup(svg))  # noqa: S704


@bp.post("/sync")
@roles_required("trainer")
def sync():
    """Read the library folders again and store what changed as new versions."""
    result = sync_library(Path(current_app.config["CONTENT_ROOT"]), Path(current_app.static_folder or "static"))
    flash(_("Library synced: %(files)s files, %(new)s new versions, %(skipped)s skipped.",
            files=result.files, new=result.new_versions, skipped=len(result.skipped)), "info")
    return redirect_to(url_for("library.problems"))
