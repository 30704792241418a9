"""The CRM training platform: create_app builds the Flask application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import cli
from .extensions import db, htmx

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, commands."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_relative_config=True,
    )
    app.config.from_mapping(
        CONTENT_ROOT=str(PROJECT_ROOT),
        SQLALCHEMY_DATABASE_URI="sqlite:///" + str(Path(app.instance_path) / "crm-dojo.sqlite3"),
    )
    app.config.from_prefixed_env("CRM_DOJO")
    if config:
        app.config.update(config)
    db.init_app(app)
    htmx.init_app(app)
    cli.init_app(app)
    return app
