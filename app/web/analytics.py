"""Trainers see how trainees play each scenario and move through each course; every table downloads as CSV."""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, Flask, Response, abort, render_template
from markupsafe import Markup

from .. import analytics
from ..csv_export import csv_bytes
from ..security import roles_required

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


def init_app(app: Flask) -> None:
    """Register the blueprint and the number filters its pages use."""
    app.register_blueprint(bp)
    app.add_template_filter(analytics.percent, "percent")
    app.add_template_filter(analytics.one_decimal, "one_decimal")


def _svg(text: str) -> Markup:
    # Charts and maps are built with ElementTree, which escapes every text and attribute.
    return Markup(text)  # noqa: S704


@bp.get("")
@roles_required("trainer")
def index():
    """Every scenario and course with its headline counts."""
    return render_template("analytics/index.html", rows=analytics.overview())


@bp.get("/scenarios/<content_id>")
@roles_required("trainer")
def scenario(content_id: str):
    """Figures, charts, tables and the traffic map of one scenario."""
    try:
        report = analytics.scenario_report(content_id)
    except analytics.NotFound:
        abort(404)
    return render_template("analytics/scenario.html", report=report, svg=_svg,
                           charts={name: _svg(chart) for name, chart in report.charts.items()})


@bp.get("/courses/<content_id>")
@roles_required("trainer")
def course(content_id: str):
    """Starters, completions and each module's reach for one course."""
    try:
        report = analytics.course_report(content_id)
    except analytics.NotFound:
        abort(404)
    return render_template("analytics/course.html", report=report, chart=_svg(report.chart))


def _csv(table: analytics.Table, content_id: str) -> Response:
    response = Response(csv_bytes(table.header, table.rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{content_id}-{table.name}.csv"'
    return response


def _report_csv(load: Callable[[str], Any], content_id: str, table: str) -> Response:
    """One named table of a report as CSV; an unknown report or table is a 404."""
    try:
        report = load(content_id)
    except analytics.NotFound:
        abort(404)
    if table not in report.tables:
        abort(404)
    return _csv(report.tables[table], content_id)


@bp.get("/scenarios/<content_id>/<table>.csv")
@roles_required("trainer")
def scenario_csv(content_id: str, table: str):
    """One table of a scenario's analytics as CSV."""
    return _report_csv(analytics.scenario_report, content_id, table)


@bp.get("/courses/<content_id>/<table>.csv")
@roles_required("trainer")
def course_csv(content_id: str, table: str):
    """One table of a course's analytics as CSV."""
    return _report_csv(analytics.course_report, content_id, table)
