"""The page header's fixed parts, rendered once per language, role and mount point and then reused.

Every full page carries them, and they are a dozen URLs and translated labels that only change with
those three: rendering them each time cost more than many pages' own queries. What differs per user
(name, points, counts, CSRF token) stays in `base.html`.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from ..models.users import role_allows

PARTS = ("head", "main", "staff", "account")
# Languages x roles x mount points are few; the bound only guards against a flood of forged prefixes.
MAX_ENTRIES = 256


def header_part(part: str) -> Markup:
    """One fixed part of the header for this request's language, the viewer's role and the mount point."""
    if part not in PARTS:
        raise ValueError(f"no header part {part!r}")
    role = current_user.role if current_user.is_authenticated else ""
    key = (part, str(get_locale()), role, request.script_root)
    rendered: dict[tuple[str, str, str, str], Markup] = current_app.extensions["site_header"]
    html = rendered.get(key)
    if html is None:
        if len(rendered) >= MAX_ENTRIES:
            rendered.clear()
        template = current_app.jinja_env.get_template("_site_header.html")
        html = Markup(template.render(part=part, is_trainer=role_allows(role, ("trainer",)),
                                      is_admin=role_allows(role, ("admin",))).strip())
        rendered[key] = html
    return html


def init_app(app: Flask) -> None:
    """Offer `header_part()` to templates, with its own store per app."""
    app.extensions["site_header"] = {}
    app.jinja_env.globals["header_part"] = header_part
