"""The CRM training platform: create_app builds the Flask application."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from . import cli, content_reload, database, security, settings
from .web import i18n, rendered_scenes, site_header, toasts
from .extensions import babel, csrf, db, htmx, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, schema, library sync, blueprints, commands."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_relative_config=True,
    )
    app.config.from_mapping(settings.defaults(app, PROJECT_ROOT))
    app.config.from_mapping(settings.from_environment())
    if config:
        app.config.update(config)
    settings.check_gamification(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = settings.instance_secret_key(Path(app.instance_path))
    if app.config["TRUSTED_PROXIES"]:
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore

    app.config["SYNCHRONOUS_COMMIT"] = str(app.config["SYNCHRONOUS_COMMIT"]).strip().lower()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.postgres_pool_options(url, database.postgres_connect_options(
        url, app.config["SYNCHRONOUS_COMMIT"], app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=security.pick_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    i18n.init_app(app)
    toasts.init_app(app)
    site_header.init_app(app)
    rendered_scenes.init_app(app)
    login_manager.init_app(app)
    database.init_app(app)
    security.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    if click.get_current_context(silent=True) is None:
        _start_up(app)
    else:
        # Under a `flask` command only `flask run` serves pages; it prepares the database on its first request.
        _start_up_on_first_request(app)
    content_reload.init_app(app)  # after start-up, so the first request migrates before it looks at files
    return app


def _register_blueprints(app: Flask) -> None:
    from .web import (admin, analytics, auth, courses, errors, library, mentoring, my_reviews, play, progress,
                      review, studio, teams)

    for module in (auth, play, progress, courses, library, studio, analytics, review, my_reviews, mentoring, admin,
                   teams, errors):
        module.init_app(app)


def _start_up(app: Flask) -> None:
    """Migrate the schema, sync the library and announce the setup token, as configured."""
    from .accounts import announce_setup_token
    from .content_sync import sync_library

    if app.config.get("AUTO_MIGRATE", True):
        database.upgrade_schema(app)
    with app.app_context():
        if app.config["SYNC_ON_START"]:
            sync_library(Path(app.config["CONTENT_ROOT"]), Path(app.static_folder or "static"))
        if app.config.get("AUTO_MIGRATE", True) or app.config["SYNC_ON_START"]:
            announce_setup_token()


def _start_up_on_first_request(app: Flask) -> None:
    done = threading.Event()
    lock = threading.Lock()

    @app.before_request
    def start_up_once() -> None:
        if done.is_set():
            return
        with lock:
            if not done.is_set():
                _start_up(app)
                done.set()
