"""Benchmark of the play step against a bare Flask endpoint, then a load run that is reconciled.

Run from the repository root (pytest never collects it: the file is not named test_*.py):

    python tests/benchmarks/bench_play.py                                   # SQLite and PostgreSQL
    python tests/benchmarks/bench_play.py --db sqlite --seconds 20 --rounds 3

For each database it creates a fresh one (SQLite: a file in a temporary folder; PostgreSQL: a new
database `bench_<pid>` on --postgres-url's server, dropped afterwards), migrates it, syncs the bundled
library and inserts --users trainees sharing one password hash. It serves the platform
(`gunicorn -w 2 'app:create_app()'`) and bare_app.py the same way, signs every trainee in through
/login with its CSRF token, and then:

1. A warm-up round of each side (untimed, as long as a timed one), then rounds, interleaved bare, app,
   bare, app ...: each round sends --requests POSTs from --clients concurrent clients and measures
   throughput and p95 latency. The app's request is a play step: an
   htmx POST of a choice, reply or option that records the step (and, at an ending, the result, its
   ledger row, badges and boards) and answers the scene fragment. Each client plays for a few trainees
   who have an attempt running at every scenario; attempts are started, and finished ones restarted,
   between rounds, so a round times play steps and nothing else.
   Reported: the median over rounds of app/bare throughput and of bare/app p95 (both "fraction of
   the bare endpoint's speed"; the goal is at least 0.3), with the raw figures.
2. A load run: all --users trainees play at once for --seconds, without pauses, each playing the
   scenarios to the end one after another (start, page, steps) and counting every status code.
3. Reconciliation, querying the database directly: no server error, no "database is locked" in the
   server log, every trainee's ledger total equal to the sum of their best results, every best result
   equal to their best finished attempt, every finished attempt's points equal to its steps' sum
   (floored at 0), no step recorded twice, no attempt paid twice, and as many steps stored as the
   server acknowledged.

Exit status: 0 when every check passed on every database, 1 when any failed, 2 when the set-up failed.
The server logs are kept (and their folder printed) when something failed.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SECRET_KEY = "bench-secret-key-not-for-production"
PASSWORD = "bench password 1234"
TIMEOUT = 60.0
REPLY = ("I understand, and I am sorry: that must be frustrating. Based on what you told me, I will "
         "personally check the account, refund the double charge today, recommend the right plan for "
         "your purchase history and retention, and call you back by five this afternoon to confirm "
         "every step with you, so nothing is left open.")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STEP = re.compile(r'name="step" value="(\d+)"')
CHOICE = re.compile(r'name="choice" value="([^"]+)"')
OPTION = re.compile(r'name="option" value="(\d+)"')
LOG_ERRORS = ("Traceback", "[ERROR]", "[CRITICAL]", "database is locked")
CLIENT_ERRORS = (OSError, http.client.HTTPException)


# HTTP: one connection per request, as gunicorn's sync workers close each one anyway.


@dataclass
class Reply:
    """One response, read in full, with how long it took."""

    status: int
    location: str
    body: str
    seconds: float


class Browser:
    """A cookie jar, a CSRF token and http.client: the least client-side work per request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                htmx: bool = False) -> Reply:
        """Send one request and read the whole answer; keep the cookies it sets."""
        headers = {"Host": f"127.0.0.1:{self.port}"}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.csrf and method == "POST":
            headers["X-CSRFToken"] = self.csrf
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for raw in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return Reply(response.status, response.headers.get("Location", ""), text, seconds)


# Reading a scene: the forms the fragment offers are all a client needs to play on.


@dataclass(frozen=True)
class Scene:
    """What the page offers next: the step number and the choices, options or a reply box."""

    step: int
    choices: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    reply: bool = False

    @property
    def finished(self) -> bool:
        """True when nothing more can be answered (the result is showing)."""
        return not (self.choices or self.options or self.reply)


def read_scene(html: str) -> Scene:
    """The scene offered by a page or fragment."""
    step = STEP.search(html)
    if step is None:
        return Scene(0)
    return Scene(int(step.group(1)), tuple(CHOICE.findall(html)), tuple(OPTION.findall(html)),
                 'name="reply"' in html)


def answer(scene: Scene, rng: random.Random) -> dict[str, str]:
    """A valid answer to the scene, picked at random so results (and best results) vary."""
    if scene.choices:
        return {"step": str(scene.step), "choice": rng.choice(scene.choices)}
    if scene.options:
        return {"step": str(scene.step), "option": rng.choice(scene.options)}
    return {"step": str(scene.step), "reply": REPLY}


@dataclass
class Tally:
    """Status codes per request kind, acknowledged steps, finished playthroughs and client errors."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: Counter[tuple[str, int]] = field(default_factory=Counter)
    steps: int = 0
    finished: int = 0
    client_errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Fold another tally into this one."""
        self.statuses.update(other.statuses)
        self.unexpected.update(other.unexpected)
        self.steps += other.steps
        self.finished += other.finished
        self.client_errors.update(other.client_errors)

    @property
    def requests(self) -> int:
        """How many responses were counted."""
        return sum(self.statuses.values())


def collect(trainees: list[Trainee]) -> Tally:
    """The trainees' tallies added up; each trainee starts counting afresh."""
    total = Tally()
    for trainee in trainees:
        total.add(trainee.tally)
        trainee.tally = Tally()
    return total


class Trainee:
    """One signed-in trainee playing through the web interface, as a browser with htmx would."""

    def __init__(self, port: int, username: str, seed: int, first_scenes: dict[str, Scene]) -> None:
        self.browser = Browser(port)
        # The first scene of each scenario, shared by all trainees: a restart in a timed round needs no page load.
        self.first_scenes = first_scenes
        self.username = username
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.content_id = ""
        self.attempt_path = ""
        self.scene = Scene(0)

    def _send(self, kind: str, expected: int, method: str, path: str, form: dict[str, str] | None = None,
              htmx: bool = False) -> Reply:
        reply = self.browser.request(method, path, form, htmx)
        self.tally.statuses[(kind, reply.status)] += 1
        if reply.status != expected:
            self.tally.unexpected[(kind, reply.status)] += 1
        return reply

    def sign_in(self) -> None:
        """Load the sign-in form for its CSRF token and session cookie, then post the credentials."""
        page = self._send("login page", 200, "GET", "/login")
        token = CSRF.search(page.body)
        if token is None:
            raise RuntimeError(f"no CSRF token on /login (status {page.status})")
        self.browser.csrf = token.group(1)
        done = self._send("login", 303, "POST", "/login", {"username": self.username, "password": PASSWORD,
                                                          "csrf_token": self.browser.csrf})
        if done.status != 303:
            raise RuntimeError(f"{self.username} could not sign in: status {done.status}")

    def start(self, content_id: str) -> None:
        """Start (or resume) an attempt at a scenario and load its page, as the library's button does."""
        self.content_id = content_id
        started = self._send("start", 303, "POST", f"/library/{content_id}/start")
        self.attempt_path = urlsplit(started.location).path
        self.load()

    def load(self) -> None:
        """Read the attempt's page again (after a start, or to find out where it stands)."""
        page = self._send("attempt page", 200, "GET", self.attempt_path)
        self.scene = read_scene(page.body)
        if self.scene.step == 1:
            self.first_scenes[self.content_id] = self.scene

    def act(self) -> float:
        """Answer the current scene with one htmx POST; return how long the POST took."""
        reply = self._send("play step", 200, "POST", self.attempt_path + "/act",
                           answer(self.scene, self.rng), htmx=True)
        if reply.status == 200:
            self.tally.steps += 1
            self.scene = read_scene(reply.body)
            if self.scene.finished:
                self.tally.finished += 1
        else:
            self.load()
        return reply.seconds

    def restart(self) -> None:
        """Play the same scenario again; the new attempt's first scene is known already."""
        again = self._send("restart", 303, "POST", self.attempt_path + "/restart")
        self.attempt_path = urlsplit(again.location).path
        first = self.first_scenes.get(self.content_id)
        if first is None:
            self.load()
        else:
            self.scene = first

    def play_step(self) -> float | None:
        """One timed play step, then a restart (untimed) at an ending; None when the connection failed."""
        try:
            seconds = self.act()
            if self.scene.finished:
                self.restart()
        except CLIENT_ERRORS as exc:
            self.tally.client_errors[type(exc).__name__] += 1
            return None
        return seconds


class Player:
    """One client of a timed round: a few trainees with an attempt running at every scenario.

    Attempts are started, and finished ones restarted, between rounds (`get_ready`), so a timed round
    sends nothing but play steps. Should a round outlast them all, the player restarts inside the
    round (as `Trainee.play_step` does), which only makes the app's figures more pessimistic.
    """

    def __init__(self, trainees: list[Trainee], content_ids: list[str]) -> None:
        self.trainees = trainees
        self.content_ids = content_ids
        # Per trainee and scenario: the attempt's path and the scene it shows.
        self.ready: dict[tuple[int, str], tuple[str, Scene]] = {}

    def get_ready(self) -> None:
        """Start an attempt at every scenario for every trainee, or restart the ones that finished."""
        for index, trainee in enumerate(self.trainees):
            for content_id in self.content_ids:
                slot = self.ready.get((index, content_id))
                if slot is not None and not slot[1].finished:
                    continue
                if slot is None:
                    trainee.start(content_id)
                else:
                    trainee.content_id, trainee.attempt_path, trainee.scene = content_id, slot[0], slot[1]
                    trainee.restart()
                self.ready[(index, content_id)] = (trainee.attempt_path, trainee.scene)

    def play_step(self) -> float | None:
        """One timed play step on the next attempt that is still running."""
        for (index, content_id), (path, scene) in self.ready.items():
            if scene.finished:
                continue
            trainee = self.trainees[index]
            trainee.content_id, trainee.attempt_path, trainee.scene = content_id, path, scene
            try:
                seconds = trainee.act()
            except CLIENT_ERRORS as exc:
                trainee.tally.client_errors[type(exc).__name__] += 1
                return None
            self.ready[(index, content_id)] = (trainee.attempt_path, trainee.scene)
            return seconds
        return self.trainees[0].play_step()


# Servers


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A gunicorn process and its log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        """Ask gunicorn to stop, and make sure it did."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@functools.lru_cache(maxsize=1)
def _has_control_socket() -> bool:
    """Whether this gunicorn has a control socket (and so the option to move it)."""
    help_text = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True).stdout
    return "--control-socket" in help_text


def serve(target: str, cwd: Path, env: dict[str, str], log: Path, workers: int, threads: int = 1) -> Server:
    """Serve a WSGI app with gunicorn: the same arguments for the platform and the baseline.

    One thread per worker runs gunicorn's sync workers; more run its threaded (gthread) workers, which
    keep a worker busy while one of its requests waits on the database.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class",
               "sync" if threads == 1 else "gthread", "--threads", str(threads), "--bind", f"127.0.0.1:{port}", target]
    if _has_control_socket():
        # Newer gunicorn opens one control socket per user by default; two servers at once would clash.
        command[3:3] = ["--control-socket", str(log.with_suffix(".ctl"))]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, port, log)


def workers_label(args: argparse.Namespace) -> str:
    """How the servers ran, for the report's heading."""
    if args.threads == 1:
        return f"{args.workers} sync workers each"
    return f"{args.workers} gthread workers of {args.threads} threads each"


def wait_until_answering(server: Server, method: str, path: str, seconds: float = 60) -> None:
    """Poll until the server answers 200, or fail with the end of its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if Browser(server.port).request(method, path, {} if method == "POST" else None).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.log.name}: no answer on port {server.port}\n{tail}")


# Databases


def postgres_database(maintenance_url: str, name: str) -> tuple[str, Callable[[], None]]:
    """Create an empty PostgreSQL database; return its URL and the function that drops it."""
    import psycopg

    conninfo = maintenance_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    parts = urlsplit(conninfo)
    return parts._replace(path=f"/{name}").geturl(), drop


def prepare(url: str, usernames: list[str]) -> list[str]:
    """Migrate, sync the bundled library and insert the trainees; return the playable scenario ids."""
    from sqlalchemy import select

    from app import create_app
    from app.accounts import hash_password
    from app.attempts import SCENARIO_KINDS
    from app.content_sync import sync_library
    from app.database import database_url, upgrade_schema
    from app.extensions import db
    from app.models import LibraryEntry, User

    # Start-up steps by hand, users first: otherwise the app logs a first-run setup token for nobody.
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(url), "SECRET_KEY": SECRET_KEY,
                      "AUTO_MIGRATE": False, "SYNC_ON_START": False})
    upgrade_schema(app)
    with app.app_context():
        # One argon2 hash for everyone: hashing 50 passwords would cost more than the rest of the set-up.
        shared = hash_password(PASSWORD)
        db.session.add_all(User(username=name, display_name=name, password_hash=shared, role="trainee")
                           for name in usernames)
        db.session.commit()
        sync_library(ROOT, Path(app.static_folder or "static"))
        ids = list(db.session.scalars(select(LibraryEntry.content_id).where(
            LibraryEntry.active.is_(True), LibraryEntry.kind.in_(SCENARIO_KINDS)).order_by(LibraryEntry.content_id)))
        db.session.remove()
        db.engine.dispose()
    return ids


# Measuring


@dataclass(frozen=True)
class Figures:
    """Throughput and latency of one batch of requests."""

    requests: int
    seconds: float
    p95: float

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank); NaN when nothing was measured."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def run_concurrently(jobs: list[Callable[[], list[float] | None]]) -> tuple[float, list[float]]:
    """Run one job per thread, started together; return the wall time and every latency they measured."""
    barrier = threading.Barrier(len(jobs) + 1)
    results: list[list[float]] = [[] for _ in jobs]
    failures: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = jobs[index]() or []
        except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread below)
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise failures[0]
    return wall, [sample for result in results for sample in result]


def timed_round(total: int, clients: int, send: Callable[[int], float | None]) -> Figures:
    """`total` requests from `clients` concurrent clients; `send(client)` makes one and returns its latency."""
    tickets = iter(range(total))
    lock = threading.Lock()

    def client(index: int) -> list[float]:
        latencies: list[float] = []
        while True:
            with lock:
                if next(tickets, None) is None:
                    return latencies
            seconds = send(index)
            if seconds is not None:
                latencies.append(seconds)

    wall, latencies = run_concurrently([partial(client, index) for index in range(clients)])
    return Figures(len(latencies), wall, p95(latencies))


def bare_sender(port: int, clients: int) -> Callable[[int], float]:
    """The baseline request: a POST of a step's form, parsed on return like a scene."""
    browsers = [Browser(port) for _ in range(clients)]

    def send(index: int) -> float:
        reply = browsers[index].request("POST", "/step", {"step": "1", "choice": "acknowledge"}, htmx=True)
        if reply.status != 200:
            raise RuntimeError(f"bare endpoint answered {reply.status}")
        read_scene(reply.body)
        return reply.seconds

    return send


def load_run(trainees: list[Trainee], content_ids: list[str], seconds: float) -> tuple[float, list[float]]:
    """Every trainee plays scenario after scenario, to the end, until time is up."""
    deadline = time.monotonic() + seconds

    def play(trainee: Trainee, offset: int) -> list[float]:
        latencies = []
        for turn in range(offset, 1 << 30):
            if time.monotonic() >= deadline:
                break
            try:
                trainee.start(content_ids[turn % len(content_ids)])
                while not trainee.scene.finished and time.monotonic() < deadline:
                    latencies.append(trainee.act())
            except CLIENT_ERRORS as exc:
                trainee.tally.client_errors[type(exc).__name__] += 1
        return latencies

    return run_concurrently([partial(play, trainee, offset) for offset, trainee in enumerate(trainees)])


# Reconciliation


@dataclass(frozen=True)
class Check:
    """One reconciliation check: passed or not, with what was found."""

    name: str
    ok: bool
    detail: str


def scalar_rows(url: str, sql: str) -> list[tuple]:
    """Rows of one query, on a short-lived engine of its own."""
    from sqlalchemy import create_engine, text

    from app.database import database_url

    engine = create_engine(database_url(url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def serving_checks(tally: Tally, log: Path) -> tuple[list[Check], list[str]]:
    """Compare what clients saw with what they expected, and look for errors in the server log."""
    server_errors = sum(count for (_, status), count in tally.statuses.items() if status >= 500)
    log_lines = log.read_text(errors="replace").splitlines()
    locked = sum("database is locked" in line for line in log_lines)
    log_errors = [line for line in log_lines if any(marker in line for marker in LOG_ERRORS)]
    excerpt = [line for index, line in enumerate(log_lines)
               if any(marker in text for text in log_lines[max(0, index - 15):index + 1] for marker in LOG_ERRORS)]
    client_errors = sum(tally.client_errors.values())
    return [
        Check("no server error (5xx)", server_errors == 0, f"{server_errors} responses"),
        Check("no client error (timeout, reset)", client_errors == 0,
              ", ".join(f"{k}: {v}" for k, v in tally.client_errors.items()) or "none"),
        Check("no unexpected status", not tally.unexpected,
              ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(tally.unexpected.items())) or "none"),
        Check("'database is locked' in server log", locked == 0, f"{locked} lines"),
        Check("no error in server log", not log_errors, f"{len(log_errors)} lines"),
    ], excerpt


def reconcile(url: str, tally: Tally, log: Path) -> tuple[list[Check], list[str]]:
    """Compare what clients saw, what the server logged and what the database holds."""
    serving, excerpt = serving_checks(tally, log)
    ledger_vs_best = scalar_rows(url, """
        SELECT u.id, COALESCE(l.total, 0), COALESCE(b.total, 0) FROM users u
        LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM points_ledger GROUP BY user_id) l ON l.user_id = u.id
        LEFT JOIN (SELECT user_id, SUM(points) AS total FROM best_results GROUP BY user_id) b ON b.user_id = u.id
        WHERE COALESCE(l.total, 0) <> COALESCE(b.total, 0)""")
    best_vs_attempts = scalar_rows(url, """
        SELECT b.user_id, b.content_id, b.points, m.best FROM best_results b
        LEFT JOIN (SELECT user_id, content_id, MAX(points) AS best FROM attempts WHERE status = 'finished'
                   GROUP BY user_id, content_id) m ON m.user_id = b.user_id AND m.content_id = b.content_id
        WHERE m.best IS NULL OR b.points <> m.best""")
    missing_best = scalar_rows(url, """
        SELECT DISTINCT a.user_id, a.content_id FROM attempts a
        LEFT JOIN best_results b ON b.user_id = a.user_id AND b.content_id = a.content_id
        WHERE a.status = 'finished' AND b.user_id IS NULL""")
    duplicate_steps = scalar_rows(url, """
        SELECT attempt_id, number, COUNT(*) FROM attempt_steps GROUP BY attempt_id, number HAVING COUNT(*) > 1""")
    attempt_points = scalar_rows(url, """
        SELECT a.id, a.points, a.step_count, COALESCE(s.total, 0), COALESCE(s.steps, 0) FROM attempts a
        LEFT JOIN (SELECT attempt_id, SUM(points) AS total, COUNT(*) AS steps FROM attempt_steps
                   GROUP BY attempt_id) s ON s.attempt_id = a.id
        WHERE a.step_count <> COALESCE(s.steps, 0)
           OR (a.status = 'finished' AND a.points <> CASE WHEN COALESCE(s.total, 0) > 0 THEN s.total ELSE 0 END)""")
    paid_twice = scalar_rows(url, """
        SELECT attempt_id, COUNT(*) FROM points_ledger WHERE attempt_id IS NOT NULL
        GROUP BY attempt_id HAVING COUNT(*) > 1""")
    paid_unfinished = scalar_rows(url, """
        SELECT l.attempt_id FROM points_ledger l JOIN attempts a ON a.id = l.attempt_id
        WHERE a.status <> 'finished' OR l.amount <= 0""")
    two_active = scalar_rows(url, """
        SELECT user_id, content_id, COUNT(*) FROM attempts WHERE status = 'active'
        GROUP BY user_id, content_id HAVING COUNT(*) > 1""")
    [(stored_steps, finished, ledger_rows, ledger_sum)] = scalar_rows(url, """
        SELECT (SELECT COUNT(*) FROM attempt_steps), (SELECT COUNT(*) FROM attempts WHERE status = 'finished'),
               (SELECT COUNT(*) FROM points_ledger), (SELECT COALESCE(SUM(amount), 0) FROM points_ledger)""")
    return serving + [
        Check("ledger total = sum of best results, per trainee", not ledger_vs_best,
              f"{ledger_rows} ledger rows, {ledger_sum} points; {len(ledger_vs_best)} trainees differ"),
        Check("best result = best finished attempt", not best_vs_attempts and not missing_best,
              f"{len(best_vs_attempts)} differ, {len(missing_best)} missing"),
        Check("attempt points = steps' sum floored at 0", not attempt_points,
              f"{finished} finished attempts; {len(attempt_points)} differ"),
        Check("no step recorded twice", not duplicate_steps, f"{len(duplicate_steps)} duplicates"),
        Check("steps stored = steps acknowledged", stored_steps == tally.steps,
              f"{stored_steps} stored, {tally.steps} answered 200"),
        Check("no attempt paid twice", not paid_twice and not paid_unfinished,
              f"{len(paid_twice)} paid twice, {len(paid_unfinished)} paid while unfinished or for nothing"),
        Check("at most one running attempt per scenario", not two_active, f"{len(two_active)} doubles"),
    ], excerpt


# The run for one database


@dataclass
class Outcome:
    """Everything one database's run found."""

    database: str
    rounds: list[tuple[Figures, Figures]]
    load: Figures | None = None
    load_tally: Tally = field(default_factory=Tally)
    earlier_tally: Tally = field(default_factory=Tally)
    checks: list[Check] = field(default_factory=list)
    log_excerpt: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)


# A playthrough of the bundled scenarios takes at least this many steps (most take four or five).
FEWEST_STEPS = 3


def trainees_per_player(args: argparse.Namespace, scenarios: int) -> int:
    """Enough trainees per client that a round's steps fit in the attempts started before it."""
    return max(1, math.ceil(args.requests / args.clients / (FEWEST_STEPS * scenarios)))


def bench_database(kind: str, url: str, args: argparse.Namespace, logs: Path) -> Outcome:
    """Set up, serve, measure, load and reconcile one database."""
    # The scenario count is known only after the sync; eight are bundled (fewer only make players share).
    needed = args.clients * trainees_per_player(args, 8)
    usernames = [f"bench-{number:03d}" for number in range(max(args.users, needed))]
    content_ids = prepare(url, usernames)
    print(f"  {len(usernames)} trainees, {len(content_ids)} scenarios: {', '.join(content_ids)}")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY}
    app_log, bare_log = logs / f"{kind}-app.log", logs / f"{kind}-bare.log"
    app_server = serve("app:create_app()", ROOT, env, app_log, args.workers, args.threads)
    bare_server = serve("bare_app:create_app()", HERE, env, bare_log, args.workers, args.threads)
    outcome = Outcome(kind, [])
    try:
        wait_until_answering(app_server, "GET", "/login")
        wait_until_answering(bare_server, "POST", "/step")
        first_scenes: dict[str, Scene] = {}
        trainees = [Trainee(app_server.port, name, seed, first_scenes) for seed, name in enumerate(usernames)]
        run_concurrently([trainee.sign_in for trainee in trainees])
        per_player = min(trainees_per_player(args, len(content_ids)), len(trainees) // args.clients)
        players = [Player(trainees[index * per_player:(index + 1) * per_player], content_ids)
                   for index in range(args.clients)]
        bare = bare_sender(bare_server.port, args.clients)

        def app_step(index: int) -> float | None:
            return players[index].play_step()

        def get_ready() -> None:
            run_concurrently([player.get_ready for player in players])

        # A warm-up round of each, as long as a timed one: every worker loads, and fills most of its store of
        # rendered scene pieces (a few hundred: one per place, feedback and meter values met), which a quarter
        # round left half empty; then the timed rounds, interleaved.
        get_ready()
        timed_round(args.requests, args.clients, bare)
        timed_round(args.requests, args.clients, app_step)
        for number in range(1, args.rounds + 1):
            get_ready()
            bare_figures = timed_round(args.requests, args.clients, bare)
            app_figures = timed_round(args.requests, args.clients, app_step)
            outcome.rounds.append((bare_figures, app_figures))
            print(f"  round {number}: bare {bare_figures.throughput:7.1f} req/s p95 {bare_figures.p95 * 1000:6.1f} ms"
                  f" | play step {app_figures.throughput:6.1f} req/s p95 {app_figures.p95 * 1000:6.1f} ms")

        outcome.earlier_tally = collect(trainees)
        print(f"  load run: {args.users} trainees for {args.seconds:g} s ...")
        wall, latencies = load_run(trainees[:args.users], content_ids, args.seconds)
        outcome.load = Figures(len(latencies), wall, p95(latencies))
        outcome.load_tally = collect(trainees)
    finally:
        app_server.stop()
        bare_server.stop()
    everything = Tally()
    everything.add(outcome.earlier_tally)
    everything.add(outcome.load_tally)
    outcome.checks, outcome.log_excerpt = reconcile(url, everything, app_log)
    return outcome


# Report


def median_ratios(rounds: list[tuple[Figures, Figures]]) -> tuple[float, float]:
    """Median over rounds of app/bare throughput and bare/app p95."""
    return (statistics.median(app.throughput / bare.throughput for bare, app in rounds),
            statistics.median(bare.p95 / app.p95 for bare, app in rounds))


def statuses(tally: Tally) -> str:
    """Responses per request kind and status code."""
    return ", ".join(f"{kind} {status}: {count}" for (kind, status), count in sorted(tally.statuses.items()))


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    """Print one database's figures and checks."""
    print(f"\n== {outcome.database}: {workers_label(args)}, {args.clients} clients, "
          f"{args.requests} requests per round ==")
    print(f"  {'round':>5} {'bare req/s':>11} {'bare p95':>9} {'app req/s':>10} {'app p95':>9}"
          f" {'tput app/bare':>14} {'p95 bare/app':>13}")
    for number, (bare, app) in enumerate(outcome.rounds, 1):
        print(f"  {number:>5} {bare.throughput:>11.1f} {bare.p95 * 1000:>7.1f}ms {app.throughput:>10.1f}"
              f" {app.p95 * 1000:>7.1f}ms {app.throughput / bare.throughput:>14.3f} {bare.p95 / app.p95:>13.3f}")
    throughput, latency = median_ratios(outcome.rounds)
    verdict = "meets" if min(throughput, latency) >= 0.3 else "MISSES"
    print(f"  median: throughput ratio {throughput:.3f}, p95 ratio {latency:.3f} "
          f"(play step p95 is {1 / latency:.1f}x the bare one); {verdict} the goal of 0.3")
    print("  sign-in and rounds: " + statuses(outcome.earlier_tally))
    if outcome.load is not None:
        load, tally = outcome.load, outcome.load_tally
        print(f"  load run, {args.users} trainees, {load.seconds:.1f} s: {tally.requests} requests "
              f"({tally.requests / load.seconds:.1f}/s), {load.requests} play steps ({load.throughput:.1f}/s, "
              f"p95 {load.p95 * 1000:.0f} ms), {tally.finished} playthroughs finished")
        print("  load run: " + statuses(tally))
    print_checks(outcome.checks, outcome.log_excerpt)


def print_checks(checks: list[Check], log_excerpt: list[str]) -> None:
    """The reconciliation checks as a table, then the start of any server log excerpt."""
    width = max([len("check"), *(len(check.name) for check in checks)])
    print(f"  {'check':<{width}} {'result':<6} detail")
    for check in checks:
        print(f"  {check.name:<{width}} {'ok' if check.ok else 'FAIL':<6} {check.detail}")
    for line in log_excerpt[:60]:
        print(f"  | {line}")


def databases(args: argparse.Namespace, scratch: Path, postgres_name: str,
              keep: bool = False) -> Iterator[tuple[str, str, Callable[[], None]]]:
    """The databases to measure: kind, URL and how to get rid of it afterwards (nothing to do when kept)."""
    if args.db in ("sqlite", "both"):
        yield "sqlite", f"sqlite:///{scratch / 'bench.sqlite3'}", lambda: None
    if args.db in ("postgresql", "both"):
        url, drop = postgres_database(args.postgres_url, postgres_name)
        yield "postgresql", url, (lambda: None) if keep else drop


def add_server_options(parser: argparse.ArgumentParser, postgres_help: str) -> None:
    """The options both benchmarks share: how gunicorn serves, and which PostgreSQL server to use."""
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (default 1: sync workers; more: gthread workers)")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help=postgres_help)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load run (default 60)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side (default 5)")
    parser.add_argument("--users", type=int, default=50, help="trainees in the load run (default 50)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in a round (default 8)")
    parser.add_argument("--requests", type=int, default=600, help="requests per round and side (default 600)")
    add_server_options(parser, "server and maintenance database where bench_<pid> is created and dropped")
    args = parser.parse_args()
    if min(args.rounds, args.users, args.clients, args.requests, args.workers, args.threads) < 1 or args.seconds <= 0:
        parser.error("every count and --seconds must be positive")
    sys.path.insert(0, str(ROOT))  # the platform's `app` package, whatever the working directory

    scratch = Path(tempfile.mkdtemp(prefix="bench-play-"))
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        for kind, url, drop in databases(args, scratch, f"bench_{os.getpid()}"):
            print(f"{kind}: {url}")
            try:
                outcomes.append(bench_database(kind, url, args, scratch))
            finally:
                drop()
    except Exception as exc:  # noqa: BLE001 (a set-up failure: say what, keep the logs)
        for outcome in outcomes:
            report(outcome, args)
        print(f"\nset-up failed: {exc}", file=sys.stderr)
        if any(scratch.glob("*.log")):
            print(f"server logs kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
        return 2
    for outcome in outcomes:
        report(outcome, args)
    ok = all(outcome.ok for outcome in outcomes)
    print(f"\n{'all checks passed' if ok else 'SOME CHECKS FAILED'} in {time.monotonic() - started:.0f} s")
    if ok:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"server logs kept in {scratch}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
