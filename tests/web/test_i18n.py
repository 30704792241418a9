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


def test_template_strings_are_translated_and_filled_in_escaped_inside_loops(app):
    from flask import render_template_string

    source = ('{% for name in names %}{{ _("Hello %(name)s", name=name) }}/'
              '{{ ngettext("%(num)d badge", "%(num)d badges", loop.index) }}/'
              '{{ pgettext("greeting", "Bye %(name)s", name=name) }};{% endfor %}'
              '{% trans count=2 %}{{ count }} day{% pluralize %}{{ count }} days{% endtrans %}')
    with app.test_request_context("/"):
        html = render_template_string(source, names=["<b>", "Ayşe"])
    assert html == "Hello &lt;b&gt;/1 badge/Bye &lt;b&gt;;Hello Ayşe/2 badges/Bye Ayşe;2 days"


def test_template_strings_without_variables_keep_jinjas_percent_rules(app):
    from flask import render_template_string

    source = '{{ _("Saved") }}|{{ _("100%% sure") }}|{{ _("%(n)s%% done", n=50) }}|{{ _("<b>") }}'
    with app.test_request_context("/"):
        html = render_template_string(source)
    assert html == "Saved|100% sure|50% done|<b>"  # a translated string is trusted markup, as in Jinja
