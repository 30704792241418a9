"""The play region, its scene rendered once per scenario version, language and what it shows, then filled in.

Every answer re-renders the play region, and its scene is the dearest part to render. Two pieces make it
up, and neither depends on the attempt beyond what its key holds:

- the body (narration, the persona's line, the case text, the choices and the forms), by place in a
  version (which never changes) and the choices its conditions offer;
- the frame around it (the title, the restart form, the last answer's feedback and the meters), by the
  feedback shown and the meters' values.

The rendered HTML is kept per worker with holes for the attempt's own values: the forms' URLs, the CSRF
token, the step number and the trainee's last answer. Nothing from a scenario can make a hole: its text
reaches the page escaped, and its Markdown sanitised to an allow-list of tags, so a literal `<hole-...>`
tag in the HTML is always one left here; the values filled in are escaped, so they cannot make one either.

A finished attempt's result is kept the same way: its head (outcome, points, skill changes, ending) by
version, language and those values, and each transcript entry by what it shows, the trainee's answer a hole.

The region's shell (the wrapper, an error line, and after an answer the header's counter and toasts sent
out-of-band) is kept the same way, by language, which of those parts it has and how many toasts. Pieces
render in the app's template environment minus the globals that read the request (its token, user,
session and URLs), so no template change can slip one viewer's values into what everyone is served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import Environment
from markupsafe import Markup, escape

from ..attempts import AttemptState
from ..engine.play import Step
from ..extensions import csrf
from ..points import HeaderPoints
from .toasts import pending_toasts

HOLES = {name: Markup(f"<hole-{name.replace('_', '-')}>")
         for name in ("act_url", "restart_url", "csrf", "next_step", "answer", "body",
                      "error", "points_total", "points_attempt", "inner", "library_url", "turns")}
# Versions x places x feedback x languages in play at once are few; a case study's body carries its whole
# case text, so the store is bounded by the characters it holds, and emptied when they would pass it.
MAX_CHARS = 8_000_000
# Other pages' kept pieces (the kudos feed's list): a feed changes as it is recomputed, so fewer are kept.
PAGE_PIECES, MAX_PAGE_PIECE_CHARS = "rendered_page_pieces", 2_000_000


@dataclass(frozen=True)
class ShownFeedback:
    """What the scene shows of the last answer, but the answer itself (a hole): points, skills and texts."""

    points: int
    skills: tuple[tuple[str, int], ...]  # (skill name, change)
    texts: tuple[str, ...]
    matched: tuple[str, ...]
    avoided: tuple[str, ...]

    @classmethod
    def of(cls, step: Step | None, skill_names: Mapping[str, str]) -> ShownFeedback | None:
        """The feedback of a step, with its skills named; None before the first answer."""
        if step is None:
            return None
        skills = tuple((skill_names.get(skill, skill), change) for skill, change in step.skills.items())
        return cls(step.points, skills, step.feedback, step.matched, step.avoided)


@dataclass(frozen=True)
class ShownTurn:
    """What a transcript entry shows, but the answer itself (a hole): the texts shown, points, skills, feedback."""

    number: int
    shown: tuple[tuple[str, str | None], ...]
    points: int
    skills: tuple[tuple[str, int], ...]  # (skill name, change)
    feedback: tuple[str, ...]

    @classmethod
    def of(cls, step: Step, skill_names: Mapping[str, str]) -> ShownTurn:
        """The entry of a step, with its skills named."""
        skills = tuple((skill_names.get(skill, skill), change) for skill, change in step.skills.items())
        return cls(step.number, tuple(step.shown.items()), step.points, skills, step.feedback)


def play_region(state: AttemptState, error: str | None = None, send_points: bool = False) -> Markup:
    """The play region: the scene of a running attempt or the result of a finished one, and an error if any.

    With `send_points` (an answer's htmx response), the header's counter and the toasts follow out-of-band.
    """
    scenario = state.scenario
    content_lang = Markup(' lang="%s"') % scenario.language + (Markup(' dir="rtl"') if scenario.rtl else "")
    if state.attempt.status == "active":
        inner = scene_html(state, content_lang)
    else:
        inner = result_html(state, content_lang)
    points = HeaderPoints(int(current_user.points_total or 0),
                          state.playthrough.points if state.attempt.status == "active" else None)
    toasts = tuple(pending_toasts()) if send_points else ()
    # Only how many toasts there are goes in the key: their texts (points, badges, levels) are holes.
    toast_holes = tuple(Markup(f"<hole-toast-{index}>") for index in range(len(toasts)))
    key = ("region", scenario.language, str(get_locale()), bool(error), send_points, points.attempt is not None,
           len(toasts))
    store: _Store = current_app.extensions["rendered_scenes"]
    counter = HeaderPoints(HOLES["points_total"],  # type: ignore[arg-type] - a hole stands in for the number
                           HOLES["points_attempt"] if points.attempt is not None else None)  # type: ignore[arg-type]
    shell = store.rendered(key, "play/_attempt_region.html", language=scenario.language, send_points=send_points,
                           error=HOLES["error"] if error else None, toasts=toast_holes, header_points=counter,
                           inner=HOLES["inner"])
    shell = _filled(shell, [(HOLES["error"], error), (HOLES["points_total"], points.total),
                            (HOLES["points_attempt"], points.attempt), *zip(toast_holes, toasts)])
    # The inner part goes in last, so that nothing in it is ever taken for a hole.
    return Markup(shell.replace(HOLES["inner"], inner))  # noqa: S704 - autoescaped shell, escaped values


def scene_html(state: AttemptState, content_lang: Markup) -> Markup:
    """The attempt's current scene (frame and body), with the attempt's own values filled in."""
    locale = str(get_locale())
    store: _Store = current_app.extensions["rendered_scenes"]
    frame = _frame(state, content_lang, locale, store)
    frame = frame.replace(HOLES["body"], _body(state, content_lang, locale, store))
    step = state.last_step
    attempt_id = state.attempt.id
    frame = _filled(frame, [(HOLES["act_url"], url_for("play.act", attempt_id=attempt_id)),
                            (HOLES["restart_url"], url_for("play.restart", attempt_id=attempt_id)),
                            (HOLES["csrf"], csrf.page_token()), (HOLES["next_step"], state.attempt.step_count + 1),
                            (HOLES["answer"], step.answer if step is not None else "")])
    return Markup(frame)  # noqa: S704 - rendered with autoescape; the filled values are escaped


def result_html(state: AttemptState, content_lang: Markup) -> Markup:
    """A finished or abandoned attempt's result and transcript, with the attempt's own values filled in."""
    locale = str(get_locale())
    store: _Store = current_app.extensions["rendered_scenes"]
    attempt, playthrough, names = state.attempt, state.playthrough, state.skill_names
    skills = tuple((names.get(skill, skill), total) for skill, total in playthrough.skills.items() if total)
    ending = playthrough.node if playthrough.finished else None
    key = ("result", attempt.version_hash, locale, attempt.status, attempt.outcome, attempt.points, skills,
           ending.id if ending is not None else None)
    result = store.rendered(key, "play/_result.html", scenario=state.scenario, content_lang=content_lang,
                            status=attempt.status, outcome=attempt.outcome, points=attempt.points, skills=skills,
                            ending=ending, **_holes("restart_url", "csrf", "library_url", "turns"))
    result = _filled(result, [(HOLES["restart_url"], url_for("play.restart", attempt_id=attempt.id)),
                              (HOLES["csrf"], csrf.page_token()), (HOLES["library_url"], url_for("play.catalogue"))])
    turns = "".join(_turn(ShownTurn.of(step, names), step.answer, attempt.version_hash, content_lang, locale, store)
                    for step in playthrough.steps)
    # The turns go in last, so that nothing in them is ever taken for a hole.
    return Markup(result.replace(HOLES["turns"], turns))  # noqa: S704 - rendered with autoescape; values escaped


def _turn(turn: ShownTurn, answer: str, version_hash: str, content_lang: Markup, locale: str, store: _Store) -> str:
    key = ("turn", version_hash, locale, turn)
    html = store.rendered(key, "play/_turn.html", turn=turn, shown=dict(turn.shown), content_lang=content_lang,
                          **_holes("answer"))
    return _filled(html, [(HOLES["answer"], answer)])


def _frame(state: AttemptState, content_lang: Markup, locale: str, store: _Store) -> str:
    scenario = state.scenario
    feedback = ShownFeedback.of(state.last_step, state.skill_names)
    shown = tuple(variable.name for variable in scenario.variables.values() if variable.show)
    values = tuple(state.playthrough.variables[name] for name in shown)
    key = ("frame", state.attempt.version_hash, locale, feedback, values)
    # The frame sees only what its key holds, so no attempt's own state can reach another's page.
    return store.rendered(key, "play/_scene.html", scenario=scenario, content_lang=content_lang,
                          feedback=feedback, meters=dict(zip(shown, values)),
                          **_holes("restart_url", "csrf", "answer", "body"))


def _body(state: AttemptState, content_lang: Markup, locale: str, store: _Store) -> str:
    playthrough, scenario = state.playthrough, state.scenario
    if scenario.is_case_study:
        where: dict[str, Any] = {"question": playthrough.question, "question_index": playthrough.question_index}
        place: tuple[object, ...] = (playthrough.question_index,)
    else:
        where = {"node": playthrough.node, "offered": tuple(playthrough.offered())}
        place = (playthrough.node.id, *(choice.id for choice in where["offered"]))
    key = ("body", state.attempt.version_hash, locale, place)
    return store.rendered(key, "play/_scene_body.html", scenario=scenario, content_lang=content_lang,
                          **where, **_holes("act_url", "csrf", "next_step"))


def _filled(html: str, values: list[tuple[Markup, object]]) -> str:
    """The HTML with each hole replaced by its value, escaped (a value of None leaves its hole alone)."""
    for hole, value in values:
        if value is not None:
            html = html.replace(hole, str(escape(value)))
    return html


def _holes(*names: str) -> dict[str, Markup]:
    return {name: HOLES[name] for name in names}


# Globals that read the request (its token, user, session, toasts, URLs): a kept piece is served to everyone,
# so its templates must not reach them; what differs per request is a hole.
PER_REQUEST_GLOBALS = frozenset({"csrf_token", "g", "request", "session", "current_user", "pending_toasts",
                                 "url_for", "get_flashed_messages", "header_parts"})


class _Store:
    """Rendered pieces by key, and how many characters they hold together (at most `max_chars`)."""

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        self.pieces: dict[tuple[object, ...], str] = {}
        self.chars = 0
        self.max_chars = max_chars
        self._environment: Environment | None = None

    def environment(self) -> Environment:
        """The app's template environment without its per-request globals (templates compiled apart)."""
        if self._environment is None:
            base = current_app.jinja_env
            environment = base.overlay(cache_size=base.cache.capacity if base.cache is not None else 400)
            environment.globals = {name: value for name, value in base.globals.items()
                                   if name not in PER_REQUEST_GLOBALS}
            self._environment = environment
        # Follows the app's setting, which may change after start-up (tests, development).
        self._environment.auto_reload = current_app.jinja_env.auto_reload
        return self._environment

    def rendered(self, key: tuple[object, ...], template: str, **context: Any) -> str:
        """The piece kept under `key`, rendering `template` with `context` (and keeping it) when there is none."""
        html = self.pieces.get(key)
        if html is None:
            html = self.environment().get_template(template).render(**context)
            # With templates reloading (development), an edited template must show on the next page.
            if not current_app.jinja_env.auto_reload:
                self.keep(key, html)
        return html

    def rendered_lazily(self, key: tuple[object, ...], template: str, context: Callable[[], Mapping[str, Any]]) -> str:
        """As `rendered`, with the context computed only when the piece must be rendered."""
        html = self.pieces.get(key)
        return html if html is not None else self.rendered(key, template, **context())

    def keep(self, key: tuple[object, ...], html: str) -> None:
        """Keep a piece, emptying the store first when it would hold more than its bound (none bigger is kept)."""
        if len(html) > self.max_chars:
            return
        self.chars -= len(self.pieces.pop(key, ""))  # two threads may render the same piece at once
        if self.chars + len(html) > self.max_chars:
            self.pieces, self.chars = {}, 0
        self.pieces[key] = html
        self.chars += len(html)


def kept_piece(key: tuple[object, ...], template: str, context: Callable[[], Mapping[str, Any]]) -> Markup:
    """A piece of another page kept the same way, rendered from `context()` alone; its key must hold all it shows.

    Its own store, so that a page whose pieces change often never empties the play region's.
    """
    store: _Store = current_app.extensions[PAGE_PIECES]
    return Markup(store.rendered_lazily(key, template, context))  # noqa: S704 - rendered with autoescape


def init_app(app: Flask) -> None:
    """Offer `play_region()` to templates, with its own store per app, and a store for other pages' pieces."""
    app.extensions["rendered_scenes"] = _Store()
    app.extensions[PAGE_PIECES] = _Store(MAX_PAGE_PIECE_CHARS)
    app.jinja_env.globals["play_region"] = play_region
