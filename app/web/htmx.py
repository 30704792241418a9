"""Page-or-fragment helpers: a partial htmx request gets the fragment, everything else the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, make_response, redirect, render_template, request


def is_partial() -> bool:
    """True for an htmx request that swaps a fragment (not boosted navigation, not a history restore)."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render(page: str, fragment: str, status: int = 200, **context: Any) -> Response:
    """Render the fragment for a partial request, else the full page; tell caches the answer varies."""
    return render_or_build(page, lambda: render_template(fragment, **context), status, **context)


def render_or_build(page: str, build_fragment: Callable[[], str], status: int = 200, **context: Any) -> Response:
    """As `render`, but a partial request gets the HTML `build_fragment()` returns."""
    body = build_fragment() if is_partial() else render_template(page, **context)
    response = make_response(body, status)
    response.headers.add("Vary", "HX-Request")
    return response


def redirect_to(location: str) -> Response:
    """303 to a page; for htmx requests a 200 with HX-Redirect, since the browser would follow a 3xx itself."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)
