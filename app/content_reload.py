"""Dev mode (CONTENT_RELOAD=1): sync the library folders again when their files change, without a restart."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

from flask import Flask, current_app

from .engine.library import FOLDERS

CHECK_EVERY_SECONDS = 2.0


def files_digest(root: Path) -> str:
    """A cheap fingerprint of the library folders: every file's path, size and modification time."""
    digest = hashlib.sha256()
    for folder in FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class Watcher:
    """Looks at the files at most once per interval in this process, and syncs when they changed.

    Each worker keeps its own watcher; the sync itself is idempotent and serialised in the database,
    so several workers noticing the same change store it once.
    """

    def __init__(self, root: Path, static_dir: Path | None, interval: float = CHECK_EVERY_SECONDS):
        self.root = root
        self.static_dir = static_dir
        self.interval = interval
        self.synced_digest: str | None = None
        self.checked_at = float("-inf")
        self.lock = threading.Lock()

    def check(self) -> bool:
        """Sync if the files changed since this process last synced them; True when it synced."""
        from .content_sync import sync_library

        now = time.monotonic()
        if now - self.checked_at < self.interval or not self.lock.acquire(blocking=False):
            return False
        try:
            self.checked_at = now
            digest = files_digest(self.root)
            if digest == self.synced_digest:
                return False
            sync_library(self.root, self.static_dir)
            self.synced_digest = digest
            return True
        finally:
            self.lock.release()


def init_app(app: Flask) -> None:
    """Watch the library folders before each request when CONTENT_RELOAD is on."""
    if not app.config.get("CONTENT_RELOAD"):
        return
    watcher = Watcher(Path(app.config["CONTENT_ROOT"]), Path(app.static_folder or "static"),
                      float(app.config.get("CONTENT_RELOAD_SECONDS", CHECK_EVERY_SECONDS)))
    app.extensions["content_reload"] = watcher

    @app.before_request
    def reload_changed_files() -> None:
        if current_app.config.get("CONTENT_RELOAD"):
            watcher.check()
