"""`flask content sync` migrates a fresh database, stores versions once, and lists skipped files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import ContentVersion, LibraryProblem

LIBRARY = Path(__file__).resolve().parents[1] / "web" / "library"


def test_sync_stores_versions_once_and_reports_skipped_files(tmp_path: Path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "CONTENT_ROOT": str(LIBRARY),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
                      "SYNC_ON_START": False, "AUTO_MIGRATE": True})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["content", "sync"])
    assert first.exit_code == 0, first.output
    assert "7 files, 6 new versions, 1 skipped" in first.stdout
    assert "skipped (has errors): scenarios/broken.yaml" in first.stderr
    second = runner.invoke(args=["content", "sync"])
    assert "7 files, 0 new versions, 1 skipped" in second.stdout
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ContentVersion)) == 6
        assert db.session.scalar(select(func.count()).select_from(LibraryProblem)) == 1
        db.engine.dispose()
