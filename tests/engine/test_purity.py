"""The engine package stays pure: no Flask, no SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "app" / "engine"


def test_engine_imports_neither_flask_nor_sqlalchemy():
    modules = sorted(f"app.engine.{path.stem}" for path in ENGINE.glob("*.py") if path.stem != "__init__")
    code = (
        "import sys, types\n"
        "package = types.ModuleType('app')\n"
        f"package.__path__ = [{str(ENGINE.parent)!r}]\n"
        "sys.modules['app'] = package\n"
        f"for name in {modules!r}:\n"
        "    __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_sqlalchemy', 'sqlalchemy',"
        " 'flask_login', 'werkzeug'))\n"
        "print(','.join(bad))\n"
    )
    # A bare `app` package stands in for the real one, whose __init__ imports Flask on purpose.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
