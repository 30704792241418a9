"""A role-play's graph drawn as SVG: nodes coloured by kind and ending, edges labelled, optional trainee traffic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Mapping

from .graph_layout import layered_layout
from .model import Node, Scenario
from .stats import reply_range

NODE_WIDTH = 190
LABEL_WIDTH = 260
COLUMN_GAP = 90
ROW = 38
NODE_GAP = 26
MARGIN = 24
LABEL_CHARS = 27
NODE_CHARS = 28

FILL = {"choices": "#e8f0fe", "reply": "#fff4e0", "stuck": "#eeeeee",
        "success": "#d9f2e4", "partial": "#fff1c2", "failure": "#fbdcdc"}
STROKE = {"choices": "#4a6fb5", "reply": "#b7791f", "stuck": "#777777",
          "success": "#2f855a", "partial": "#b7791f", "failure": "#c53030"}


@dataclass(frozen=True)
class MapEdge:
    """One way out of a node: a choice (key = its id) or a written reply (key = "reply")."""

    source: str
    target: str
    key: str
    label: str
    points: str
    condition: str | None = None


@dataclass(frozen=True)
class Traffic:
    """What trainees did: how often each edge was taken, and how many attempts stopped or failed at each node."""

    edges: Mapping[tuple[str, str], int] = field(default_factory=dict)
    dropoff: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MapText:
    """Interface words the drawing needs, in the reader's language (the engine does not translate)."""

    reply: str = "Written reply"
    taken: str = "{count}×"
    dropoff: str = "stopped or failed here: {count}"
    condition: str = "if {condition}"


def node_kind(node: Node) -> str:
    """The colour family of a node: its ending, a reply turn, choices, or nothing offered."""
    if node.ending is not None:
        return node.ending
    if node.reply is not None:
        return "reply"
    return "choices" if node.choices else "stuck"


def map_edges(scenario: Scenario, text: MapText = MapText()) -> list[MapEdge]:
    """Every edge of the graph, in the order the file lists them."""
    edges = []
    for node in scenario.nodes.values():
        for choice in node.choices:
            edges.append(MapEdge(node.id, choice.goto, choice.id, choice.text, _signed(choice.points),
                                 choice.condition))
        if node.reply is not None and node.reply.goto is not None:
            low, high = reply_range(node.reply)
            points = _signed(low) if low == high else f"{_signed(low)}…{_signed(high)}"
            edges.append(MapEdge(node.id, node.reply.goto, "reply", node.reply.prompt or text.reply, points))
    return edges


def _signed(points: int) -> str:
    return f"+{points}" if points > 0 else str(points)


def _plain(text: str | None, limit: int) -> str:
    """One line of text without markdown marks, cut to `limit` characters."""
    unmarked = re.sub(r"^\s*[#>]+\s*", "", re.sub(r"\*\*|__|`", "", text or ""), flags=re.M)
    flat = re.sub(r"\s+", " ", unmarked).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def draw(scenario: Scenario, traffic: Traffic | None = None, text: MapText = MapText()) -> str:
    """The branch map as a standalone SVG document (escaped, well-formed XML)."""
    if scenario.is_case_study or not scenario.nodes:
        raise ValueError("only a role-play has a branch map")
    edges = map_edges(scenario, text)
    outgoing: dict[str, list[MapEdge]] = {node_id: [] for node_id in scenario.nodes}
    for edge in edges:
        outgoing[edge.source].append(edge)
    extra = ROW if traffic is not None else 0
    heights = {node_id: max(2 * ROW, ROW * (len(out) + 1)) + extra for node_id, out in outgoing.items()}
    start = scenario.start or next(iter(scenario.nodes))
    layout = layered_layout(list(scenario.nodes), start, [(e.source, e.target) for e in edges], heights,
                            NODE_WIDTH + LABEL_WIDTH + COLUMN_GAP, NODE_GAP, MARGIN)
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "class": "branch-map", "role": "img",
        "width": f"{layout.width:.0f}", "height": f"{layout.height:.0f}",
        "viewBox": f"0 0 {layout.width:.0f} {layout.height:.0f}",
        "font-family": "system-ui, sans-serif", "font-size": "12",
    })
    ET.SubElement(svg, "title").text = scenario.title
    # Markers are named per scenario, since a page may show several maps.
    marker = ET.SubElement(ET.SubElement(svg, "defs"), "marker", {
        "id": f"arrow-{scenario.id}", "viewBox": "0 0 10 10", "refX": "10", "refY": "5", "markerWidth": "8",
        "markerHeight": "8", "markerUnits": "userSpaceOnUse", "orient": "auto"})
    ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": "#4a5568"})
    busiest = max((traffic.edges.values() if traffic else []), default=0)
    edge_layer = ET.SubElement(svg, "g", {"class": "edges"})
    node_layer = ET.SubElement(svg, "g", {"class": "nodes"})
    for node_id, node in scenario.nodes.items():
        x, y = layout.position[node_id]
        _draw_node(node_layer, scenario, node, x, y, heights[node_id], node_id == start, traffic, text)
        for row, edge in enumerate(outgoing[node_id], start=1):
            tx, ty = layout.position[edge.target]
            count = traffic.edges.get((edge.source, edge.key), 0) if traffic else None
            _draw_edge(edge_layer, scenario, edge, (x + NODE_WIDTH, y + row * ROW + extra),
                       (tx, ty + heights[edge.target] / 2), count, busiest, text)
    return ET.tostring(svg, encoding="unicode")


def _content_text(parent: ET.Element, scenario: Scenario, x: float, y: float, width: float, value: str,
                  **attributes: str) -> ET.Element:
    """Scenario text in its own language; right-to-left text is anchored at the right and laid out RTL."""
    rtl = scenario.rtl
    element = ET.SubElement(parent, "text", {
        "x": f"{x + width if rtl else x:.0f}", "y": f"{y:.0f}", "lang": scenario.language, **attributes})
    if rtl:
        element.set("direction", "rtl")
        element.set("unicode-bidi", "embed")
    element.text = value
    return element


def _draw_node(layer: ET.Element, scenario: Scenario, node: Node, x: float, y: float, height: float,
               is_start: bool, traffic: Traffic | None, text: MapText) -> None:
    kind = node_kind(node)
    group = ET.SubElement(layer, "g", {"class": f"node node-{kind}", "data-node": node.id})
    ET.SubElement(group, "title").text = "\n".join(filter(None, [node.id, node.narrate, node.say, node.debrief]))
    ET.SubElement(group, "rect", {
        "x": f"{x:.0f}", "y": f"{y:.0f}", "width": str(NODE_WIDTH), "height": f"{height:.0f}", "rx": "8",
        "fill": FILL[kind], "stroke": STROKE[kind], "stroke-width": "3" if is_start else "1.5"})
    heading = ET.SubElement(group, "text", {"x": f"{x + 10:.0f}", "y": f"{y + 18:.0f}", "font-weight": "bold",
                                            "direction": "ltr"})
    heading.text = f"▶ {node.id}" if is_start else node.id
    if node.ending is not None:
        heading.text += f" · {node.ending}"
    spoken = node.say or node.narrate
    if spoken:
        _content_text(group, scenario, x + 10, y + 36, NODE_WIDTH - 20, _plain(spoken, NODE_CHARS),
                      fill="#333333")
    if traffic is not None:
        dropped = traffic.dropoff.get(node.id, 0)
        mark = ET.SubElement(group, "text", {"class": "dropoff", "x": f"{x + 10:.0f}", "y": f"{y + 36 + ROW:.0f}",
                                             "fill": "#c53030" if dropped else "#777777", "font-weight": "bold"})
        mark.text = text.dropoff.format(count=dropped)


def _draw_edge(layer: ET.Element, scenario: Scenario, edge: MapEdge, origin: tuple[float, float],
               target: tuple[float, float], count: int | None, busiest: int, text: MapText) -> None:
    marker = f"arrow-{scenario.id}"
    (sx, sy), (tx, ty) = origin, target
    group = ET.SubElement(layer, "g", {"class": "edge", "data-from": edge.source, "data-to": edge.target,
                                       "data-key": edge.key})
    details = [edge.label, edge.points]
    if edge.condition:
        details.append(text.condition.format(condition=edge.condition))
    if count is not None:
        details.append(text.taken.format(count=count))
    ET.SubElement(group, "title").text = " · ".join(details)
    bend = sx + LABEL_WIDTH
    # Forward edges curve into the next column; edges back or sideways loop out and come in from the left.
    pull = max(60.0, abs(tx - bend) / 2) if tx > bend else 140.0
    width = 1.5 + (5 * count / busiest if count and busiest else 0)
    ET.SubElement(group, "path", {
        "d": f"M{sx:.0f},{sy:.0f} H{bend:.0f} C{bend + pull:.0f},{sy:.0f} {tx - pull:.0f},{ty:.0f} {tx:.0f},{ty:.0f}",
        "fill": "none", "stroke": "#c53030" if edge.points.startswith("-") else "#4a5568",
        "stroke-width": f"{width:.1f}", "stroke-opacity": "0.8", "marker-end": f"url(#{marker})"})
    _content_text(group, scenario, sx + 6, sy - 5, LABEL_WIDTH - 70, _plain(edge.label, LABEL_CHARS),
                  **{"class": "edge-label"})
    points = ET.SubElement(group, "text", {"x": f"{bend - 4:.0f}", "y": f"{sy - 5:.0f}", "text-anchor": "end",
                                           "font-weight": "bold", "direction": "ltr",
                                           "fill": "#c53030" if edge.points.startswith("-") else "#2f855a"})
    points.text = edge.points
    below = [text.condition.format(condition=edge.condition)] if edge.condition else []
    if count is not None:
        below.append(text.taken.format(count=count))
    if below:
        note = ET.SubElement(group, "text", {"class": "edge-note", "x": f"{sx + 6:.0f}", "y": f"{sy + 13:.0f}",
                                             "fill": "#555555", "direction": "ltr", "font-style": "italic"})
        note.text = " · ".join(below)
