"""Admins group people into teams and choose how leaderboards show; thin views over app.teams and app.boards."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, flash, request, url_for
from flask_babel import gettext as _

from .. import boards, teams
from ..security import roles_required
from .htmx import redirect_to, render

bp = Blueprint("teams", __name__, url_prefix="/admin")


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)


def _page(status: int = 200, error: str | None = None) -> Response:
    return render("admin/teams.html", "admin/_teams.html", status=status, teams=teams.list_teams(),
                  mode=boards.board_mode(), modes=boards.MODES, error=error)


@bp.get("/teams")
@roles_required("admin")
def index() -> Response:
    """Every team with its members, and the leaderboard setting."""
    return _page()


@bp.post("/teams")
@roles_required("admin")
def create() -> Response:
    """Add a team."""
    try:
        teams.create_team(request.form.get("name", ""))
    except teams.TeamError as exc:
        return _page(400, str(exc))
    flash(_("Team created."), "success")
    return redirect_to(url_for("teams.index"))


@bp.post("/teams/<id:team_id>/delete")
@roles_required("admin")
def delete(team_id: int) -> Response:
    """Remove a team; its members keep their accounts and points."""
    try:
        teams.delete_team(team_id)
    except LookupError:
        abort(404)
    flash(_("Team removed."), "success")
    return redirect_to(url_for("teams.index"))


@bp.post("/teams/<id:team_id>/members")
@roles_required("admin")
def add_member(team_id: int) -> Response:
    """Put a user in a team by username."""
    try:
        name = teams.add_member(team_id, request.form.get("username", ""))
    except LookupError:
        abort(404)
    except teams.TeamError as exc:
        return _page(400, str(exc))
    flash(_("%(name)s is in the team.", name=name), "success")
    return redirect_to(url_for("teams.index"))


@bp.post("/teams/<id:team_id>/members/<id:user_id>/remove")
@roles_required("admin")
def remove_member(team_id: int, user_id: int) -> Response:
    """Take a user out of a team."""
    try:
        teams.remove_member(team_id, user_id)
    except LookupError:
        abort(404)
    flash(_("Removed from the team."), "success")
    return redirect_to(url_for("teams.index"))


@bp.post("/leaderboards")
@roles_required("admin")
def board_mode() -> Response:
    """Switch leaderboards on, off, or to anonymous for everyone."""
    mode = request.form.get("mode", "")
    if mode not in boards.MODES:
        return _page(400, _("Choose on, anonymous or off."))
    boards.set_board_mode(mode)
    flash(_("Leaderboard setting saved."), "success")
    return redirect_to(url_for("teams.index"))
