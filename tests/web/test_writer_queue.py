"""SQLite writers take turns through a file lock: across threads, across processes, re-entrant in one thread."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from app.database import WriterQueue


def _hold_turn(path: str, started: "multiprocessing.synchronize.Event", release: "multiprocessing.synchronize.Event") -> None:
    with WriterQueue(path).turn():
        started.set()
        release.wait(10)


def test_a_writer_in_another_process_waits_until_the_turn_is_released(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3.writers")
    context = multiprocessing.get_context("fork")
    started, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_turn, args=(path, started, release))
    holder.start()
    try:
        assert started.wait(10)
        entered = threading.Event()

        def wait_for_turn() -> None:
            with WriterQueue(path).turn():
                entered.set()

        waiter = threading.Thread(target=wait_for_turn)
        waiter.start()
        assert not entered.wait(0.3)  # still the other process's turn
        release.set()
        assert entered.wait(10)  # woken as soon as it ends, not after a polling interval
        waiter.join(10)
    finally:
        release.set()
        holder.join(10)


def test_threads_sharing_one_queue_take_turns_and_one_thread_may_nest(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "db.sqlite3.writers"))
    inside = 0
    most_inside = 0
    guard = threading.Lock()

    def writer() -> None:
        nonlocal inside, most_inside
        for _ in range(20):
            with queue.turn():
                with queue.turn():  # a write inside a write must not wait for itself
                    with guard:
                        inside += 1
                        most_inside = max(most_inside, inside)
                    time.sleep(0.0005)
                    with guard:
                        inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most_inside == 1


def test_the_queue_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3.writers"
    with WriterQueue(str(path)).turn():
        pass
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_app_queues_its_writes_on_a_sqlite_file(app, trainee) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert "sqlite_writers" not in app.extensions  # PostgreSQL queues writers itself
        return
    queue = app.extensions["sqlite_writers"]
    turns = []
    original = queue.turn

    def counted():  # type: ignore[no-untyped-def]
        turns.append(1)
        return original()

    queue.turn = counted
    response = trainee.post("/library/late-delivery/start")
    assert response.status_code == 303
    assert turns
