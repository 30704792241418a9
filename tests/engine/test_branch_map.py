"""The branch map: well-formed SVG, one element per node and edge, escaped text, RTL labels, a readable layout."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.engine.branch_map import Traffic, draw, map_edges
from app.engine.graph_layout import assign_layers, count_crossings, order_layers
from app.engine.model import Choice, Node, PhraseGroup, Reply, Scenario
from app.engine.validate import validate

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[2]


def groups(svg: str, kind: str) -> list[ET.Element]:
    tree = ET.fromstring(svg)
    return [g for g in tree.iter(f"{SVG}g") if g.get("class", "").split()[0] == kind]


def small() -> Scenario:
    return Scenario(id="tiny", title="Tiny <&> test", nodes={
        "open": Node("open", say="Hello <script>alert(1)</script> & welcome", choices=(
            Choice("kind", "Be kind & <b>warm</b>", "ask", points=10),
            Choice("rude", "=HYPERLINK(\"x\")", "lost", points=-5, condition="mood >= 1"),
        )),
        "ask": Node("ask", reply=Reply(prompt="Say what you will do", points=5,
                                       avoid=(PhraseGroup(("no",), points=-5),), goto="won")),
        "won": Node("won", ending="success"),
        "lost": Node("lost", ending="failure"),
    })


def test_svg_is_well_formed_with_one_group_per_node_and_edge():
    svg = draw(small())
    assert len(groups(svg, "node")) == 4
    edges = groups(svg, "edge")
    assert len(edges) == 3 == len(map_edges(small()))
    assert {(g.get("data-from"), g.get("data-to"), g.get("data-key")) for g in edges} == {
        ("open", "ask", "kind"), ("open", "lost", "rude"), ("ask", "won", "reply")}


def test_text_from_yaml_is_escaped_not_markup():
    svg = draw(small())
    assert "<script>" not in svg and "<b>" not in svg
    tree = ET.fromstring(svg)
    texts = "".join(element.text or "" for element in tree.iter(f"{SVG}text"))
    assert "Be kind & <b>warm</b>" in texts and "if mood >= 1" in texts
    assert tree.find(f"{SVG}title").text == "Tiny <&> test"


def test_nodes_are_coloured_by_kind_and_ending_and_edges_show_points():
    svg = draw(small())
    fills = {g.get("data-node"): g.find(f"{SVG}rect").get("fill") for g in groups(svg, "node")}
    assert len({fills["open"], fills["ask"], fills["won"], fills["lost"]}) == 4
    labels = {g.get("data-key"): [t.text for t in g.iter(f"{SVG}text")] for g in groups(svg, "edge")}
    assert "+10" in labels["kind"] and "-5" in labels["rude"] and "0…+5" in labels["reply"]


def test_rtl_scenario_labels_are_laid_out_right_to_left_in_their_language():
    reports = validate([ROOT / "scenarios" / "active-listening-fa.yaml"], ROOT, ROOT / "static")
    scenario = reports[0].content
    tree = ET.fromstring(draw(scenario))
    content = [t for t in tree.iter(f"{SVG}text") if t.get("lang") == "fa"]
    assert content and all(t.get("direction") == "rtl" and t.get("unicode-bidi") == "embed" for t in content)
    edge_labels = [t for t in tree.iter(f"{SVG}text") if t.get("class") == "edge-label"]
    assert edge_labels and all(t.get("lang") == "fa" and t.get("direction") == "rtl" for t in edge_labels)


def test_traffic_shows_counts_on_edges_and_dropoff_on_nodes():
    svg = draw(small(), Traffic(edges={("open", "kind"): 7, ("open", "rude"): 2}, dropoff={"lost": 2, "ask": 1}))
    edges = {g.get("data-key"): g for g in groups(svg, "edge")}
    assert "7×" in edges["kind"].find(f"{SVG}text[@class='edge-note']").text
    widths = {key: float(g.find(f"{SVG}path").get("stroke-width")) for key, g in edges.items()}
    assert widths["kind"] > widths["rude"] > widths["reply"]
    drops = {g.get("data-node"): g.find(f"{SVG}text[@class='dropoff']").text for g in groups(svg, "node")}
    assert drops["lost"].endswith(": 2") and drops["ask"].endswith(": 1") and drops["won"].endswith(": 0")


def test_a_case_study_has_no_map():
    with pytest.raises(ValueError):
        draw(Scenario(id="case", title="Case", kind="case_study"))


def generated(size: int, seed: int = 6) -> Scenario:
    """A branching role-play of `size` nodes: each links forward to two or three later nodes, some back."""
    rng = random.Random(seed)
    nodes = {}
    for number in range(size - 3):
        targets = sorted({rng.randrange(number + 1, size) for _ in range(rng.randint(2, 3))})
        if number > 5 and rng.random() < 0.2:
            targets.append(f"n{rng.randrange(0, number)}")
        choices = tuple(Choice(f"c{i}", f"Option {i} from node {number}, said politely", target
                               if isinstance(target, str) else f"n{target}", points=rng.randint(-5, 10))
                        for i, target in enumerate(targets))
        nodes[f"n{number}"] = Node(f"n{number}", say=f"Customer line {number}", choices=choices)
    for number, ending in zip(range(size - 3, size), ("success", "partial", "failure")):
        nodes[f"n{number}"] = Node(f"n{number}", ending=ending)  # type: ignore[arg-type]
    return Scenario(id="big", title="Sixty nodes", nodes=nodes)


def test_a_sixty_node_map_has_every_node_and_no_overlapping_boxes():
    scenario = generated(60)
    svg = draw(scenario)
    nodes = groups(svg, "node")
    assert len(nodes) == 60
    assert len(groups(svg, "edge")) == sum(len(node.choices) for node in scenario.nodes.values())
    boxes = []
    for group in nodes:
        rect = group.find(f"{SVG}rect")
        boxes.append(tuple(float(rect.get(k)) for k in ("x", "y", "width", "height")))
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
    root = ET.fromstring(svg)
    assert float(root.get("width")) < 20_000 and float(root.get("height")) < 20_000


def test_crossing_reduction_never_makes_the_drawing_more_tangled():
    scenario = generated(60, seed=11)
    edges = [(edge.source, edge.target) for edge in map_edges(scenario)]
    layer_of = assign_layers(list(scenario.nodes), "n0", edges)
    initial = [[node for node in scenario.nodes if layer_of[node] == number]
               for number in range(max(layer_of.values()) + 1)]
    ordered = order_layers(layer_of, list(scenario.nodes), edges)
    assert count_crossings(ordered, edges) <= count_crossings(initial, edges)
    assert sorted(node for layer in ordered for node in layer) == sorted(scenario.nodes)


def test_layers_follow_breadth_first_depth_and_unreachable_nodes_come_after():
    layers = assign_layers(["a", "b", "c", "d", "x"], "a", [("a", "b"), ("b", "c"), ("a", "c"), ("c", "a")])
    assert layers == {"a": 0, "b": 1, "c": 1, "d": 2, "x": 3}
