"""Browser fixtures: the real app served on a local port, and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from flask import Flask
from jinja2 import StrictUndefined
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db

LIBRARY = Path(__file__).resolve().parent.parent / "web" / "library"
PASSWORD = "correct horse battery staple"
CHROMIUM = Path("/usr/bin/chromium")
# Never `playwright install`: it downloads, which CI cannot do. Debian's build, no network chatter.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer machine without a browser; in CI (CI set) a missing browser is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app as it starts for real (migrations, library sync), on a fresh SQLite file, CSRF on."""
    database = tmp_path_factory.mktemp("browser") / "browser.sqlite3"
    app = create_app({
        "SECRET_KEY": "browser-test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "CONTENT_ROOT": str(LIBRARY),
        "AUTO_MIGRATE": True,
        "SYNC_ON_START": True,
    })
    app.jinja_env.undefined = StrictUndefined
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def base_url(live_app: Flask) -> Iterator[str]:
    """Serve the app from a background thread on a free local port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


_names = itertools.count(1)


@dataclass(frozen=True)
class Account:
    """A username and the password to sign in with."""

    username: str
    password: str


@pytest.fixture
def trainee(live_app: Flask) -> Account:
    """A fresh trainee for each test, with no points yet."""
    from app.accounts import create_user

    number = next(_names)
    with live_app.app_context():
        create_user(f"trainee{number}", PASSWORD, role="trainee", display_name=f"Trainee {number}")
    return Account(f"trainee{number}", PASSWORD)


@dataclass
class Console:
    """Everything a page complained about: console errors and warnings, uncaught errors, CSP violations."""

    problems: list[str] = field(default_factory=list)

    def on_message(self, message: Any) -> None:
        """Keep errors and warnings."""
        if message.type not in ("error", "warning"):
            return
        self.problems.append(f"console.{message.type}: {message.text} ({message.location.get('url', '')})")

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


@dataclass
class Tab:
    """A page in its own browser context, with what its console said."""

    page: Any
    console: Console


@pytest.fixture
def open_tab(browser: Any, base_url: str) -> Iterator[Callable[..., Tab]]:
    """Open a page in a fresh context (own cookies); `javascript=False` turns scripts off."""
    contexts: list[Any] = []

    def open_(javascript: bool = True, **options: Any) -> Tab:
        context = browser.new_context(base_url=base_url, java_script_enabled=javascript, locale="en-GB",
                                      **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        console = Console()
        # Chromium reports a CSP refusal as a console error; the DOM event catches any it would not.
        context.expose_function("__reportCspViolation", lambda text: console.problems.append(f"CSP: {text}"))
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e =>"
            " window.__reportCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')"
            " + ' at ' + e.sourceFile + ':' + e.lineNumber));"
        )
        page = context.new_page()
        page.on("console", console.on_message)
        page.on("pageerror", lambda error: console.problems.append(f"page error: {error}"))
        return Tab(page, console)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $BROWSER_SCREENSHOTS when set (to look at them), else a temporary folder."""
    chosen = os.environ.get("BROWSER_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
