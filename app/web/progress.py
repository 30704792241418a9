"""A trainee's progress pages: dashboard, badges, points history, leaderboards, kudos feed; thin views."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping

from flask import Blueprint, Flask, Response, abort, flash, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from .. import boards, progress, teams
from ..engine.model import Course
from ..rewards import LibraryFacts, library_facts
from ..signed_in import read_with_user
from .args import int_arg
from .htmx import redirect_to, render, render_or_build
from .rendered_scenes import kept_piece

bp = Blueprint("progress", __name__)


def init_app(app: Flask) -> None:
    """Register the progress pages; the boards and the feed read a trainee's teams with the signed-in user."""
    app.register_blueprint(bp)
    app.jinja_env.globals["board_rows"] = board_rows
    app.jinja_env.globals["ledger_rows"] = ledger_rows
    for endpoint in ("progress.leaderboards", "progress.feed"):
        read_with_user(app, endpoint, teams.signed_in_with_teams)


def ledger_rows(entries: list[progress.LedgerRow]) -> Markup:
    """The points history's table rows (when, why, how many), reasons escaped; built here as `board_rows` is."""
    return Markup("\n".join(  # noqa: S704 - the reason is escaped; moments and amounts are formatted numbers
        f'<tr data-testid="ledger-row"><td>{entry.created_at.strftime("%Y-%m-%d %H:%M")}</td>'
        f'<td>{escape(entry.reason)}</td><td class="{"gain" if entry.amount > 0 else "loss"}">{entry.amount:+d}</td></tr>'
        for entry in entries))


def board_rows(rows: list[boards.Row]) -> Markup:
    """A board's table rows, the viewer's own marked; names escaped.

    Built here rather than by a template loop: a board page has a few dozen rows on every request, and this
    costs a fraction of the loop.
    """
    you, anonymous = escape(_("(you)")), escape(_("Anonymous trainee"))
    html = []
    for row in rows:
        if row.is_viewer:
            name = f"<strong>{escape(row.name)}</strong> {you}"
        else:
            name = escape(row.name) if row.name else anonymous
        user = f' data-user="{row.user_id}"' if row.name else ""
        html.append(f'<tr class="{"me" if row.is_viewer else ""}" data-testid="board-row"{user}>'
                    f"<td>{row.rank}</td><td>{name}</td><td>{row.points}</td></tr>")
    return Markup("\n".join(html))  # noqa: S704 - every value escaped above (ranks, ids and points are ints)



@bp.get("/dashboard")
@login_required
def dashboard() -> str:
    """Points, level, streak, badges, skill profile, recent attempts and what to try next."""
    return render_template("progress/dashboard.html", board=progress.dashboard(current_user))


@bp.get("/profile")
@login_required
def profile() -> str:
    """The trainee's badges, earned and still locked, and their leaderboard visibility."""
    shelf = progress.badge_shelf(current_user.id)
    return render_template("progress/profile.html", held=shelf.held, locked=shelf.locked, skills=shelf.skill_names)


@bp.post("/profile/visibility")
@login_required
def visibility() -> Response:
    """Hide the trainee from the public boards and the feed, or show them again."""
    choice = request.form.get("hidden")
    if choice not in ("0", "1"):
        abort(400, description="Choose whether to hide your name.")
    progress.set_hidden(current_user.id, choice == "1")
    flash(_("Your name is now hidden from leaderboards and the team feed.") if choice == "1"
          else _("Your name now shows on leaderboards and in the team feed."), "success")
    return redirect_to(url_for("progress.profile"))


@bp.get("/points")
@login_required
def points() -> Response:
    """The trainee's points history: what, when and why, newest first."""
    page = progress.points_history(current_user, int_arg("before"))
    return render("progress/points.html", "progress/_points_rows.html", history=page)


class BoardChoices:
    """The teams, courses and skills a viewer may filter boards by, each read when first needed.

    A filter change swaps in the board fragment alone, which needs none of them unless it names a course or skill.
    """

    @cached_property
    def teams(self) -> list[teams.TeamName]:
        """Teams whose boards the viewer may open."""
        return teams.visible_teams(current_user)

    @cached_property
    def _library(self) -> LibraryFacts:
        return library_facts()

    @property
    def courses(self) -> dict[str, Course]:
        """The library's courses, by id."""
        return self._library.courses

    @property
    def skills(self) -> Mapping[str, str]:
        """Skill names, by id."""
        return self._library.skill_names


def _board_query(choices: BoardChoices) -> boards.BoardQuery:
    window = request.args.get("window") or "all"
    if window not in boards.WINDOWS:
        abort(400, description="Unknown time window.")
    team_id = int_arg("team")
    if team_id is not None and team_id not in {team.id for team in choices.teams}:
        abort(404)
    course_id = request.args.get("course") or None
    if course_id is not None and course_id not in choices.courses:
        abort(404)
    skill_id = request.args.get("skill") or None
    if skill_id is not None and skill_id not in choices.skills:
        abort(404)
    if course_id is not None and skill_id is not None:
        abort(400, description="Rank by a course or by a skill, not both.")
    return boards.BoardQuery(window, team_id, course_id, skill_id)


@bp.get("/leaderboards")
@login_required
def leaderboards() -> Response:
    """A leaderboard with the viewer's own rank and neighbours; filters swap the board in place."""
    choices = BoardChoices()
    return render("progress/leaderboards.html", "progress/_board.html",
                  board=boards.leaderboard(_board_query(choices), current_user.id), choices=choices)


@bp.get("/feed")
@login_required
def feed() -> Response:
    """Recent badges, finished courses and mentor shout-outs from the viewer's teams."""
    try:
        feed = progress.team_feed(current_user, int_arg("team"))
    except LookupError:
        abort(404)
    items = feed.items
    # Kept per worker by what it shows: most viewers are served the same feed until it is computed again.
    html = kept_piece(("feed", str(get_locale()), tuple(items)), "progress/_feed_items.html",
                      lambda: {"lines": feed_lines(items)})
    return render_or_build("progress/feed.html", lambda: html, feed_html=html, teams=feed.teams, team_id=feed.team_id)


@dataclass(frozen=True)
class FeedLine:
    """One kudos event as the feed shows it: its kind, its sentence (names escaped) and its date."""

    kind: str
    message: Markup
    iso_time: str
    day: str


def feed_lines(items: list[progress.FeedItem]) -> list[FeedLine]:
    """The feed's sentences, each translated once per page rather than once per event."""
    if not items:
        return []
    teammate, mentor = escape(_("A teammate")), escape(_("A mentor"))
    # Translations are trusted markup, as in templates; names and texts are escaped before they are filled in
    # (plain % on escaped values: Markup's own % costs more than the rest of the page's feed together).
    earned, finished = _("%(name)s earned the badge %(badge)s"), _("%(name)s finished the course %(course)s")
    praised = _("%(mentor)s to %(name)s:")
    lines = []
    for item in items:
        name = escape(item.name) if item.name else teammate
        if item.kind == "badge":
            message = earned % {"name": name, "badge": escape(item.text)}
        elif item.kind == "course":
            message = finished % {"name": name, "course": escape(item.text)}
        else:
            actor = escape(item.actor) if item.actor else mentor
            message = f"{praised % {'mentor': actor, 'name': name}} <q>{escape(item.text)}</q>"
        lines.append(FeedLine(item.kind, Markup(message), item.created_at.isoformat(),  # noqa: S704 - escaped above
                              item.created_at.strftime("%Y-%m-%d")))
    return lines
