"""Layered layout of a directed graph: columns by distance from the start, rows ordered to cross less."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Mapping, Sequence

SWEEPS = 6


@dataclass(frozen=True)
class Layout:
    """Each node's column and row order, and its top-left corner in drawing units."""

    layers: tuple[tuple[str, ...], ...]
    layer_of: Mapping[str, int]
    position: Mapping[str, tuple[float, float]]
    width: float
    height: float


def assign_layers(nodes: Sequence[str], start: str, edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Breadth-first depth from the start; nodes it cannot reach get columns after the reachable ones."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for source, target in edges:
        if source in successors and target in successors and target not in successors[source]:
            successors[source].append(target)
    layer: dict[str, int] = {}
    next_layer = 0
    for root in [start, *nodes]:
        if root in layer or root not in successors:
            continue
        layer[root] = next_layer
        queue = deque([root])
        while queue:
            node = queue.popleft()
            for target in successors[node]:
                if target not in layer:
                    layer[target] = layer[node] + 1
                    queue.append(target)
        next_layer = max(layer.values()) + 1
    return layer


def count_crossings(layers: Sequence[Sequence[str]], edges: Sequence[tuple[str, str]]) -> int:
    """Crossings between edges joining neighbouring columns (a measure of how tangled the drawing is)."""
    index = {node: (number, row) for number, layer in enumerate(layers) for row, node in enumerate(layer)}
    spans: dict[int, list[tuple[int, int]]] = {}
    for source, target in edges:
        (a_layer, a_row), (b_layer, b_row) = index[source], index[target]
        if abs(a_layer - b_layer) == 1:
            left, right = ((a_row, b_row) if a_layer < b_layer else (b_row, a_row))
            spans.setdefault(min(a_layer, b_layer), []).append((left, right))
    crossings = 0
    for pairs in spans.values():
        for i, (a, b) in enumerate(pairs):
            crossings += sum(1 for c, d in pairs[i + 1:] if (a - c) * (b - d) < 0)
    return crossings


def order_layers(layer_of: Mapping[str, int], nodes: Sequence[str],
                 edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Rows within each column by the barycentre of their neighbours, sweeping both ways; keep the best order."""
    count = max(layer_of.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for node in nodes:
        if node in layer_of:
            layers[layer_of[node]].append(node)
    neighbours: dict[str, list[str]] = {node: [] for node in layer_of}
    for source, target in edges:
        if source in neighbours and target in neighbours and source != target:
            neighbours[source].append(target)
            neighbours[target].append(source)
    best = [list(layer) for layer in layers]
    best_crossings = count_crossings(best, edges)
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        for number in (range(1, count) if downward else range(count - 2, -1, -1)):
            reference = number - 1 if downward else number + 1
            rows = {node: row for row, node in enumerate(layers[reference])}
            layers[number] = _by_barycentre(layers[number], neighbours, rows)
        crossings = count_crossings(layers, edges)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in layers], crossings
    return best


def _by_barycentre(layer: list[str], neighbours: Mapping[str, list[str]], rows: Mapping[str, int]) -> list[str]:
    def key(item: tuple[int, str]) -> tuple[float, int]:
        current, node = item
        linked = [rows[other] for other in neighbours[node] if other in rows]
        # A node with no neighbour in the reference column keeps its place.
        return (sum(linked) / len(linked) if linked else float(current), current)
    return [node for _, node in sorted(enumerate(layer), key=key)]


def layered_layout(nodes: Sequence[str], start: str, edges: Sequence[tuple[str, str]],
                   heights: Mapping[str, float], column_width: float, node_gap: float,
                   margin: float) -> Layout:
    """Place nodes in columns left to right, each column a stack of boxes of the given heights."""
    layer_of = assign_layers(nodes, start, edges)
    layers = order_layers(layer_of, nodes, edges)
    position: dict[str, tuple[float, float]] = {}
    tallest = 0.0
    for number, layer in enumerate(layers):
        y = margin
        for node in layer:
            position[node] = (margin + number * column_width, y)
            y += heights[node] + node_gap
        tallest = max(tallest, y - node_gap)
    width = margin * 2 + max(len(layers), 1) * column_width
    return Layout(tuple(tuple(layer) for layer in layers), layer_of, position, width, tallest + margin)
