"""Generic error pages: a readable message, never a traceback."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, InternalServerError

from .htmx import is_partial


def init_app(app: Flask) -> None:
    """Render every HTTP error and any unexpected exception with the error template."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException):
    code = error.code or 500
    template = "errors/_error.html" if is_partial() else "errors/error.html"
    return render_template(template, code=code, name=error.name, description=error.description), code


def _unexpected(error: Exception):
    from flask import current_app

    from ..extensions import db

    if isinstance(error, HTTPException):
        return _http_error(error)
    db.session.rollback()
    current_app.logger.exception("unhandled error")
    return _http_error(InternalServerError())
