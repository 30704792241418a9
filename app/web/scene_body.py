"""A scene's body, rendered once per scenario version, place in it and language, then filled in per attempt.

Every answer re-renders the play region, and the body is its dearest part: narration, the persona's line,
the case text, the choices and the forms. None of it depends on the attempt beyond where it stands in a
version (which never changes) and which choices its conditions offer, so the rendered HTML is kept per
worker with holes for the attempt's own values: the form's URL, the CSRF token and the step number.
Nothing from a scenario can make a hole: its text reaches the body escaped, and its Markdown sanitised
to an allow-list of tags, so a literal `<hole-...>` tag in the HTML is always one left here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape

from ..attempts import AttemptState
from ..extensions import csrf

HOLES = {"act_url": Markup("<hole-act-url>"), "csrf": Markup("<hole-csrf>"), "next_step": Markup("<hole-step>")}
# Versions x places x offered choices x languages in play at once are few; a case study's body carries its
# whole case text, so the store is bounded by the characters it holds, and emptied when they would pass it.
MAX_CHARS = 8_000_000


def scene_body(state: AttemptState, content_lang: Markup) -> Markup:
    """The body of the attempt's current scene or question, with the attempt's form values filled in."""
    playthrough, scenario = state.playthrough, state.scenario
    # The body sees only what its key holds, so no attempt's own state can reach another's page.
    if scenario.is_case_study:
        where: dict[str, Any] = {"question": playthrough.question, "question_index": playthrough.question_index}
        place: tuple[object, ...] = (playthrough.question_index,)
    else:
        where = {"node": playthrough.node, "offered": tuple(playthrough.offered())}
        place = (playthrough.node.id, *(choice.id for choice in where["offered"]))
    key = (state.attempt.version_hash, str(get_locale()), place)
    store: _Store = current_app.extensions["scene_bodies"]
    html = store.bodies.get(key)
    if html is None:
        template = current_app.jinja_env.get_template("play/_scene_body.html")
        html = template.render(scenario=scenario, content_lang=content_lang, **where, **HOLES)
        # With templates reloading (development), an edited template must show on the next page.
        if not current_app.jinja_env.auto_reload:
            store.keep(key, html)
    filled = (html.replace(HOLES["act_url"], str(escape(url_for("play.act", attempt_id=state.attempt.id))))
              .replace(HOLES["csrf"], str(escape(csrf.page_token())))
              .replace(HOLES["next_step"], str(state.attempt.step_count + 1)))
    return Markup(filled)  # noqa: S704 - rendered with autoescape; the filled values are escaped above


class _Store:
    """Rendered bodies by key, and how many characters they hold together."""

    def __init__(self) -> None:
        self.bodies: dict[tuple[object, ...], str] = {}
        self.chars = 0

    def keep(self, key: tuple[object, ...], html: str) -> None:
        """Keep a body, emptying the store first when it would hold more than MAX_CHARS."""
        if self.chars + len(html) > MAX_CHARS:
            self.bodies, self.chars = {}, 0
        self.bodies[key] = html
        self.chars += len(html)


def init_app(app: Flask) -> None:
    """Offer `scene_body()` to templates, with its own store per app."""
    app.extensions["scene_bodies"] = _Store()
    app.jinja_env.globals["scene_body"] = scene_body
