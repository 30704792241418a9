"""Every interface string goes through gettext, so Turkish and Persian can follow without touching templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
JINJA = re.compile(r"{%-?\s*set\s+\w+\s*-?%}.*?{%-?\s*endset\s*-?%}|{{.*?}}|{%.*?%}|{#.*?#}", re.S)
MARKUP = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
ALLOWED = {"CRM Dojo"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_templates_have_no_untranslated_text(template: Path):
    text = MARKUP.sub(" ", JINJA.sub(" ", template.read_text(encoding="utf-8")))
    chunks = (re.sub(r"^\W+|\W+$", "", chunk) for chunk in re.split(r"\s{2,}|\n", text))
    words = [chunk for chunk in chunks if re.search(r"[^\W\d_]", chunk)]
    assert [word for word in words if word not in ALLOWED] == []


def test_babel_extracts_the_interface_strings():
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
    messages = {message for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map)}
    flat = {m if isinstance(m, str) else m[0] for m in messages}
    for expected in ("Training library", "Send reply", "Transcript", "Library problems"):
        assert expected in flat
