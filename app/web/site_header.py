"""The page header's fixed parts, rendered once per language, role and mount point and then reused.

Every full page carries them, and they are a dozen URLs and translated labels that only change with
those three: rendering them each time cost more than many pages' own queries. What differs per user
(name, points, counts, CSRF token) stays in `base.html`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from ..models.users import role_allows

PARTS = ("head", "main", "staff", "account")
# Languages x roles x mount points are few; the bound only guards against a flood of forged prefixes.
MAX_ENTRIES = 256


@dataclass(frozen=True)
class HeaderParts:
    """The header's fixed parts for one language, role and mount point."""

    head: Markup
    main: Markup
    staff: Markup
    account: Markup


def header_parts() -> HeaderParts:
    """The fixed parts of the header for this request's language, the viewer's role and the mount point."""
    user = current_user._get_current_object()  # resolved once: a proxy looks the user up on every use
    role = user.role if user.is_authenticated else ""
    key = (str(get_locale()), role, request.script_root)
    rendered: dict[tuple[str, str, str], HeaderParts] = current_app.extensions["site_header"]
    parts = rendered.get(key)
    if parts is None:
        if len(rendered) >= MAX_ENTRIES:
            rendered.clear()
        template = current_app.jinja_env.get_template("_site_header.html")
        flags = {"is_trainer": role_allows(role, ("trainer",)), "is_admin": role_allows(role, ("admin",))}
        parts = HeaderParts(*(Markup(template.render(part=part, **flags).strip()) for part in PARTS))
        rendered[key] = parts
    return parts


def init_app(app: Flask) -> None:
    """Offer `header_parts()` to templates, with its own store per app."""
    app.extensions["site_header"] = {}
    app.jinja_env.globals["header_parts"] = header_parts
