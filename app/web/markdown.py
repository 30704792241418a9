"""Markdown from trainers' YAML rendered to HTML and sanitised with an allow-list."""

from __future__ import annotations

from functools import lru_cache

import markdown as markdown_lib
import nh3
from flask import Flask
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "span", "del", "sup", "sub",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "span": {"dir", "lang"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=2048)
def render_markdown(text: str) -> Markup:
    """Markdown to safe HTML: raw HTML, scripts, event handlers, htmx attributes and odd URL schemes are dropped."""
    # Headings start at h2: the page around the text already has its own h1 (a lesson's "# Title" becomes h2).
    html = markdown_lib.markdown(text, extensions=["tables", "sane_lists", "toc"],
                                 extension_configs={"toc": {"baselevel": 2}}, output_format="html")
    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_SCHEMES,
                        link_rel="noopener noreferrer nofollow", strip_comments=True)
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


def init_app(app: Flask) -> None:
    """Register the `markdown` template filter (None renders as nothing)."""
    app.add_template_filter(lambda text: render_markdown(text) if text else Markup(""), "markdown")
