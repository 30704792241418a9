"""Trainers and admins see which library files were skipped and why, and can sync the library."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, render_template, url_for
from flask_babel import gettext as _

from .. import catalogue
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
    """Every problem found at the last sync, grouped by file."""
    rows = catalogue.library_problems()
    files = [(path, list(items)) for path, items in groupby(rows, key=lambda row: row.path)]
    return render_template("library/problems.html", files=files)


@bp.post("/sync")
@roles_required("trainer")
def sync():
    """Read the library folders again and store what changed as new versions."""
    result = sync_library(Path(current_app.config["CONTENT_ROOT"]), Path(current_app.static_folder or "static"))
    flash(_("Library synced: %(files)s files, %(new)s new versions, %(skipped)s skipped.",
            files=result.files, new=result.new_versions, skipped=len(result.skipped)), "info")
    return redirect_to(url_for("library.problems"))
