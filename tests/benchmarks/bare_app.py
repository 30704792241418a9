"""The baseline for bench_play.py: a bare Flask app whose one POST answers a small HTML fragment.

bench_play.py serves it exactly as it serves the platform (gunicorn, same worker class and count):
`gunicorn -w 2 -b 127.0.0.1:PORT 'bare_app:create_app()'`, run from this folder.
"""

from __future__ import annotations

from flask import Flask, request
from markupsafe import escape


def create_app() -> Flask:
    """A Flask app with one endpoint and nothing else: no database, session, CSRF or templates."""
    app = Flask(__name__)

    @app.post("/step")
    def step() -> str:
        """Echo the step and choice as a fragment, as small as a real scene is not."""
        number = escape(request.form.get("step", ""))
        choice = escape(request.form.get("choice", ""))
        return f'<div id="play-region"><p>Step {number}: {choice}</p></div>\n'

    return app
