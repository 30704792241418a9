"""Database set-up for SQLite and PostgreSQL, and write transactions that wait and retry when busy."""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from .extensions import db

T = TypeVar("T")
V = TypeVar("V", bound=Callable[..., Any])
WRITES_THROUGH_WRITE = "writes_through_write"
_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)
_durable: ContextVar[bool] = ContextVar("durable", default=False)
# How PostgreSQL commits unless a write asks to be durable (the SYNCHRONOUS_COMMIT setting).
SYNCHRONOUS_COMMIT_LEVELS = ("off", "local", "remote_write", "on", "remote_apply")
# The levels a durable write raises to `on` for its own transaction (never lowering a stricter one).
_BELOW_ON = frozenset(SYNCHRONOUS_COMMIT_LEVELS[:3])
BUSY_TIMEOUT_MS = 10_000
RETRIES = 8
_RETRYABLE = ("database is locked", "database is busy", "deadlock detected", "could not serialize")
SAFE_METHODS = frozenset({"GET", "HEAD"})


def database_url(raw: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL URLs given the short way (`postgres://`, `postgresql://`)."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def upsert_insert(model: type) -> Any:
    """An INSERT that knows ON CONFLICT, for whichever of PostgreSQL and SQLite the app runs on."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert)(model)


def prebuilt(build: Callable[[], Any]) -> Callable[[], Any]:
    """Build a statement once per database dialect (ON CONFLICT is written per dialect) and reuse it.

    For statements on hot paths: building one costs more than running it, and a statement with bind
    parameters runs the same way every time.
    """
    built: dict[str, Any] = {}

    def statement() -> Any:
        dialect = db.engine.dialect.name
        if dialect not in built:
            built[dialect] = build()
        return built[dialect]

    return statement


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


class WriterQueue:
    """Writers to one SQLite file take turns here, across threads and processes, before SQLite's own lock.

    SQLite makes a blocked writer sleep and poll (1, 2, 5, 10 ms ...), so under several busy workers a
    write often waits far longer than the write ahead of it takes. A blocking `flock` on a file beside
    the database wakes the next writer the moment the previous one finishes. The busy timeout stays as
    the fallback for writers that do not queue here (another program, the `sqlite3` shell).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_turn = threading.Lock()
        self._descriptor: int | None = None
        self._pid = -1
        self._depth = threading.local()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the writers' turn for the block; re-entrant within one thread."""
        depth = getattr(self._depth, "value", 0)
        if depth:
            self._depth.value = depth + 1
            try:
                yield
            finally:
                self._depth.value = depth
            return
        # flock excludes other open files, not threads sharing this one: threads queue on the lock first.
        with self._thread_turn:
            descriptor = self._open()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._depth.value = 1
            try:
                yield
            finally:
                self._depth.value = 0
                fcntl.flock(descriptor, fcntl.LOCK_UN)

    def _open(self) -> int:
        # Opened lazily in each process: a descriptor inherited over fork would share its lock with the parent.
        if self._descriptor is None or self._pid != os.getpid():
            self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._descriptor


def reads_only() -> bool:
    """True outside `write()` while serving a GET or HEAD (or a view marked `writes_through_write`).

    Its statements may each run on their own: PostgreSQL already gives every statement of a
    read-committed transaction a fresh snapshot, so a page sees the same without BEGIN and ROLLBACK,
    each a network round trip. `write()` always opens a real transaction.
    """
    if _write_intent.get() or not has_request_context():
        return False
    if request.method in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, WRITES_THROUGH_WRITE, False)


def writes_through_write(view: V) -> V:
    """Mark a form-post view whose every change goes through `write()`: its reads, too, run on their own.

    A post's reads otherwise share one transaction, so that a change made outside `write()` is never
    committed halfway; a view that makes none can spare the BEGIN and COMMIT around its reads.
    """
    setattr(view, WRITES_THROUGH_WRITE, True)
    return view


def init_app(app: Flask) -> None:
    """Tune each engine: SQLite gets WAL, a busy timeout, foreign keys, explicit BEGINs and a writers' queue."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            _autocommit_reads(engine)
        if is_sqlite(engine):
            _create_private_file(engine.url.database)
            _tune_sqlite(engine)
            if engine.url.database not in (None, "", ":memory:"):
                app.extensions["sqlite_writers"] = WriterQueue(os.path.abspath(engine.url.database) + ".writers")


def _create_private_file(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only: it holds password hashes."""
    import os

    if database in (None, "", ":memory:") or os.path.exists(database):
        return
    os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))


def postgres_connect_options(url: str, synchronous_commit: str, engine_options: dict[str, Any]) -> dict[str, Any]:
    """Engine options that start every PostgreSQL session with the configured `synchronous_commit`.

    Sent with the connection's start-up packet (libpq's `options`), so it costs no statement. Options given
    already (engine options, the URL's `options`, or PGOPTIONS, which libpq would otherwise use) are kept.
    `server` sends nothing: the server's own setting holds (for a pooler that refuses start-up options).
    """
    if not url.startswith("postgresql") or synchronous_commit == "server":
        return engine_options
    if synchronous_commit not in SYNCHRONOUS_COMMIT_LEVELS:
        raise ValueError(f"SYNCHRONOUS_COMMIT must be one of {', '.join(SYNCHRONOUS_COMMIT_LEVELS)} or server, "
                         f"not {synchronous_commit!r}")
    connect_args = dict(engine_options.get("connect_args") or {})
    from_url = make_url(url).query.get("options", "")
    given = connect_args.get("options") or (" ".join(from_url) if isinstance(from_url, tuple) else from_url) \
        or os.environ.get("PGOPTIONS", "")
    connect_args["options"] = f"{given} -c synchronous_commit={synchronous_commit}".strip()
    return {**engine_options, "connect_args": connect_args}


def postgres_pool_options(url: str, engine_options: dict[str, Any]) -> dict[str, Any]:
    """Engine options whose pool hands out the connection returned last, on PostgreSQL; given options win.

    A sync worker serves one request at a time yet may come to hold more than one connection; handed out
    first-in first-out, they take turns, and each server process (and the statements psycopg prepared on
    it) stays colder than one connection used again and again. The extra ones idle, as they should.
    """
    if not url.startswith("postgresql") or "poolclass" in engine_options:  # another pool may not take the option
        return engine_options
    return {"pool_use_lifo": True, **engine_options}


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (pysqlite's own handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        record.info[_SQLITE_SYNC] = "NORMAL"

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A write takes the lock up front, so it waits its turn instead of failing on a lock upgrade.
        # Sent on the DBAPI connection itself: every form post begins twice, and SQLAlchemy's execution
        # path costs more than SQLite's BEGIN does.
        if _write_intent.get():
            _begin(connection, "BEGIN IMMEDIATE")
        elif not reads_only():
            _begin(connection, "BEGIN")


_SQLITE_SYNC = "sqlite_synchronous"


def _begin(connection: Any, sql: str) -> None:
    try:
        if sql == "BEGIN IMMEDIATE":
            # Only outside a transaction may SQLite's safety level change: a durable write syncs its commit.
            wanted = "FULL" if _durable.get() else "NORMAL"
            if connection.connection.info.get(_SQLITE_SYNC) != wanted:
                connection.connection.dbapi_connection.execute(f"PRAGMA synchronous={wanted}")
                connection.connection.info[_SQLITE_SYNC] = wanted
        connection.connection.dbapi_connection.execute(sql)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, (), exc, connection.dialect.loaded_dbapi.Error) from exc


def _autocommit_reads(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # psycopg sends BEGIN before a transaction's first statement unless the connection is in autocommit.
        connection.connection.dbapi_connection.autocommit = reads_only()


def _retryable(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return any(fragment in text for fragment in _RETRYABLE)


@contextmanager
def _writers_turn() -> Iterator[None]:
    queue = current_app.extensions.get("sqlite_writers") if has_app_context() else None
    if queue is None:
        yield
        return
    with queue.turn():
        yield


def write(fn: Callable[[], T], one_statement: bool = False, durable: bool = False) -> T:
    """Run `fn` in one write transaction and commit; retry from the start while the database is busy.

    Commits return before they reach the disk (PostgreSQL's `synchronous_commit = off` by default,
    SQLite's `synchronous = NORMAL`): a crash of the database server can lose the last moments of play,
    never half a transaction. A `durable` write (accounts, passwords, sessions, publishing) returns only once its
    commit is on disk.

    `one_statement` promises that on PostgreSQL `fn` changes the database with a single statement, which
    PostgreSQL applies whole or not at all by itself: where the request's reads run on their own, that
    statement does too, sparing BEGIN and COMMIT. SQLite always gets its transaction (and writers' turn).
    """
    session = db.session
    sqlite = is_sqlite(db.engine)
    pending = session.new or session.dirty or session.deleted
    if one_statement and not durable and not pending and not sqlite and reads_only():
        return _with_retries(lambda _attempt: _rolled_back_on_error(fn))
    # A SQLite connection that has only read in autocommit can take the write lock itself, sparing the
    # session a commit and a second connection checkout.
    upgrade = sqlite and not pending and _reading_in_autocommit()
    if not upgrade and (sqlite or reads_only() or pending):
        # End any read transaction first: SQLite cannot always upgrade one to a write, and a page's reads
        # run in autocommit. Otherwise PostgreSQL carries on in the request's transaction, which saves a
        # COMMIT and a BEGIN on the network, unless changes are pending: those are committed first, so a
        # retry below cannot lose them.
        session.commit()

    def transaction(attempt: int) -> T:
        token, durable_token = _write_intent.set(True), _durable.set(durable)
        try:
            # Rolled back inside the turn, so the next writer never finds this one's transaction still open.
            with _writers_turn():
                return _rolled_back_on_error(lambda: _committed(fn, upgrade and attempt == 0))
        finally:
            _durable.reset(durable_token)
            _write_intent.reset(token)

    return _with_retries(transaction)


def _committed(fn: Callable[[], T], take_lock_first: bool) -> T:
    """Run `fn` and commit; first take SQLite's write lock on the connection already held, if asked."""
    if take_lock_first:
        _begin(db.session.connection(), "BEGIN IMMEDIATE")
    if _durable.get() and not is_sqlite(db.engine) and current_app.config.get("SYNCHRONOUS_COMMIT") in _BELOW_ON:
        db.session.execute(text("SET LOCAL synchronous_commit = on"))
    result = fn()
    db.session.commit()
    return result


def _rolled_back_on_error(fn: Callable[[], T]) -> T:
    """Run `fn`; should it fail, roll the session back before the error goes on."""
    try:
        return fn()
    except BaseException:
        db.session.rollback()
        raise


def _with_retries(once: Callable[[int], T]) -> T:
    """Call `once(attempt)` until it succeeds, again after a pause while the database is busy."""
    for attempt in range(RETRIES):
        try:
            return once(attempt)
        except DBAPIError as exc:
            if not _retryable(exc) or attempt == RETRIES - 1:
                raise
        _back_off(attempt)
    raise RuntimeError("unreachable")


def _reading_in_autocommit() -> bool:
    """Whether the session holds a SQLite connection with no transaction open on it (its reads ran on their own)."""
    session = db.session
    if session().get_transaction() is None:
        return False
    return not session.connection().connection.dbapi_connection.in_transaction


def _back_off(attempt: int) -> None:
    """Wait a little longer after each busy try, with jitter so that racing writers spread out."""
    time.sleep(min(0.5, 0.01 * 2 ** attempt) * random.uniform(0.5, 1.5))


def upgrade_schema(app: Flask) -> None:
    """Bring the schema to the newest migration; one process at a time when several workers start together."""
    import fcntl
    from pathlib import Path

    from flask_migrate import upgrade

    with app.app_context():
        if is_sqlite(db.engine):
            lock_path = Path(app.instance_path) / "migrate.lock"
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            with open(lock_path, "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                upgrade()
            return
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(727002)"))
            try:
                upgrade()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(727002)"))


def prepare_for_command() -> None:
    """Before a `flask` command touches the database: migrate it first, unless the app turned that off."""
    from flask import current_app

    if current_app.config.get("AUTO_MIGRATE", True):
        upgrade_schema(current_app._get_current_object())  # type: ignore[attr-defined]
