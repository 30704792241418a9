"""Template gettext that looks the request's translations up once, not once per string."""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask, g
from flask_babel import get_translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup


def _translations() -> Any:
    # Flask-Babel finds the catalogue through the locale on every call; a page asks for dozens of strings.
    found = g.get("_translations")
    if found is None:
        found = g._translations = get_translations()
    return found


def _filled(eval_context: EvalContext, text: str, variables: dict[str, Any]) -> str:
    """A translated string with its variables filled in, escaped when autoescaping (translations are trusted)."""
    if eval_context.autoescape:
        text = Markup(text)
    # Formatting is skipped only where it could change nothing: no variables and no "%%" to undouble.
    return text % variables if variables or "%" in text else text


@pass_eval_context
def _gettext(eval_context: EvalContext, string: str, **variables: Any) -> str:
    """`_` and `gettext` in templates: the generic callable below, minus its layers (pages call it dozens of times)."""
    return _filled(eval_context, _translations().ugettext(string), variables)


def _formatted(translate: Callable[..., str], defaults: Callable[..., dict[str, Any]]) -> Callable[..., str]:
    """A newstyle template callable: translate, then fill in the variables (escaped when autoescaping).

    Jinja's own newstyle callables take the whole template context, and a call inside a loop copies that
    context (twice through `_`); these need only the evaluation context, so a string in a loop costs no copy.
    """
    @pass_eval_context
    def call(eval_context: EvalContext, *args: Any, **variables: Any) -> str:
        return _filled(eval_context, translate(*args), {**defaults(*args), **variables})

    return call


def init_app(app: Flask) -> None:
    """Replace the template gettext callables Flask-Babel installed with ones that reuse the request's catalogue."""
    gettext = _gettext
    ngettext = _formatted(lambda singular, plural, n: _translations().ungettext(singular, plural, n),
                          lambda singular, plural, n: {"num": n})
    pgettext = _formatted(lambda context, string: _translations().upgettext(context, string),
                          lambda context, string: {"context": context})
    npgettext = _formatted(
        lambda context, singular, plural, n: _translations().unpgettext(context, singular, plural, n),
        lambda context, singular, plural, n: {"context": context, "num": n})
    # Installed the usual way first, so `{% trans %}` blocks compile for newstyle callables; then the globals
    # (and `_`, Jinja's alias that looks `gettext` up again on every call) point at the lighter ones.
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True,  # type: ignore[attr-defined]
                                            pgettext=pgettext, npgettext=npgettext)
    app.jinja_env.globals.update(gettext=gettext, _=gettext, ngettext=ngettext, pgettext=pgettext,
                                 npgettext=npgettext)
