"""Graph checks and exact point ranges of a scenario, by searching every reachable state."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

from . import conditions
from .model import Deltas, Node, Reply, Scenario, VariableSpec

STATE_LIMIT = 200_000
_NEG = float("-inf")
_POS = float("inf")


@dataclass
class Stats:
    """What the validator reports about a scenario's shape and scoring."""

    nodes: int
    endings: int
    max_points: int | None = None
    min_points: int | None = None
    too_branchy: bool = False
    unreachable: list[str] = field(default_factory=list)
    never_entered: list[str] = field(default_factory=list)
    traps: list[str] = field(default_factory=list)
    stuck: dict[str, dict[str, int]] = field(default_factory=dict)
    ending_reachable: bool = True

    def as_json(self) -> dict[str, int | None]:
        """The `stats` object of the validate command's JSON."""
        return {"nodes": self.nodes, "endings": self.endings, "max_points": self.max_points,
                "min_points": self.min_points}


def reply_range(reply: Reply) -> tuple[int, int]:
    """The lowest and highest points one reply can earn."""
    groups = reply.look_for + reply.avoid
    low = reply.points + sum(min(0, group.points) for group in groups)
    high = reply.points + sum(max(0, group.points) for group in groups)
    return low, high


def scenario_stats(scenario: Scenario, search: bool = True) -> Stats:
    """Stats and warnings; `search=False` skips the graph checks (for files with broken references)."""
    if scenario.is_case_study:
        return _case_study_stats(scenario)
    endings = [node.id for node in scenario.nodes.values() if node.ending is not None]
    stats = Stats(nodes=len(scenario.nodes), endings=len(endings))
    if not search or not scenario.nodes:
        return stats
    edges = {node.id: _targets(node) for node in scenario.nodes.values()}
    start = scenario.start or next(iter(scenario.nodes))
    reachable = _closure([start], edges)
    stats.unreachable = [node_id for node_id in scenario.nodes if node_id not in reachable]
    reverse: dict[str, set[str]] = {node_id: set() for node_id in scenario.nodes}
    for source, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    can_finish = _closure(endings, reverse)
    stats.ending_reachable = bool(can_finish & reachable)
    stats.traps = [node_id for node_id in scenario.nodes if node_id in reachable and node_id not in can_finish]
    _search(scenario, start, stats)
    return stats


def _targets(node: Node) -> set[str]:
    """Where a node leads; an ending leads nowhere."""
    if node.ending is not None:
        return set()
    if node.reply is not None:
        return {node.reply.goto} if node.reply.goto else set()
    return {choice.goto for choice in node.choices}


def _closure(seeds: list[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(seeds)
    queue = deque(seeds)
    while queue:
        for target in edges.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _case_study_stats(scenario: Scenario) -> Stats:
    low = high = 0
    for question in scenario.questions:
        if question.reply is not None:
            reply_low, reply_high = reply_range(question.reply)
        else:
            reply_low, reply_high = min(0, question.points), max(0, question.points)
        low += reply_low
        high += reply_high
    return Stats(nodes=len(scenario.questions), endings=0, max_points=max(0, high), min_points=max(0, low))


State = tuple[str, tuple[int, ...], frozenset[str], frozenset[str]]


def _search(scenario: Scenario, start: str, stats: Stats) -> None:
    """Enumerate (node, condition variables, visited, scored) states and find the point range at finishes."""
    watched_vars: set[str] = set()
    watched_nodes: set[str] = set()
    for node in scenario.nodes.values():
        for choice in node.choices:
            if choice.expr is not None:
                variables, nodes = conditions.names(choice.expr)
                watched_vars |= variables
                watched_nodes |= nodes
    var_names = sorted(watched_vars)
    specs = scenario.variables
    initial_vars = {name: spec.initial for name, spec in specs.items()}

    def make_state(node_id: str, values: dict[str, int], visited: frozenset[str], scored: frozenset[str]) -> State:
        if node_id in watched_nodes:
            visited = visited | {node_id}
        return node_id, tuple(values[name] for name in var_names), visited, scored

    first = make_state(start, initial_vars, frozenset(), frozenset())
    index = {first: 0}
    states = [first]
    # Each edge: (target, lowest points, highest points).
    edges: list[list[tuple[int, int, int]]] = []
    finishes: list[bool] = []
    entered: set[str] = set()
    queue = deque([0])
    while queue:
        state_index = queue.popleft()
        node_id, values_tuple, visited, scored = states[state_index]
        entered.add(node_id)
        node = scenario.nodes[node_id]
        values = dict(zip(var_names, values_tuple))
        out: list[tuple[str, dict[str, int], frozenset[str], int, int]] = []
        if node.ending is not None:
            pass
        elif node.reply is not None:
            key = f"{node_id}/reply"
            low, high = (0, 0) if key in scored else reply_range(node.reply)
            out.append((node.reply.goto or node_id, values, scored | {key} if (low or high) else scored, low, high))
        else:
            full = {**initial_vars, **values}
            for choice in node.choices:
                if choice.expr is not None and not conditions.evaluate(
                        choice.expr, full, lambda name: name in visited or name == node_id):
                    continue
                after = _apply(choice.set, choice.change, values, specs)
                key = f"{node_id}/{choice.id}"
                points = 0 if key in scored else choice.points
                out.append((choice.goto, after, scored | {key} if points else scored, points, points))
            if not out:
                stats.stuck.setdefault(node_id, values)
        finishes.append(node.ending is not None or not out)
        state_edges = []
        for target_id, after, new_scored, low, high in out:
            target = make_state(target_id, {**values, **after}, visited, new_scored)
            if target not in index:
                if len(states) >= STATE_LIMIT:
                    stats.too_branchy = True
                    return
                index[target] = len(states)
                states.append(target)
                queue.append(index[target])
            state_edges.append((index[target], low, high))
        edges.append(state_edges)
    stats.never_entered = [node_id for node_id in scenario.nodes
                           if node_id not in entered and node_id not in stats.unreachable]
    layers = [len(state[3]) for state in states]
    best = _extreme(edges, finishes, layers, maximise=True)
    worst = _extreme(edges, finishes, layers, maximise=False)
    if best != _NEG:
        stats.max_points = max(0, int(best))
    if worst != _POS:
        stats.min_points = max(0, int(worst))


def _apply(assign: Deltas, change: Deltas, values: dict[str, int],
           specs: Mapping[str, VariableSpec]) -> dict[str, int]:
    result = dict(values)
    for name, value in assign.items():
        if name in result:
            result[name] = specs[name].clamp(value)
    for name, value in change.items():
        if name in result:
            result[name] = specs[name].clamp(result[name] + value)
    return result


def _extreme(edges: list[list[tuple[int, int, int]]], finishes: list[bool], layers: list[int],
             maximise: bool) -> float:
    """Best total from the first state to any finish; edges inside one layer earn nothing, so layers go in order."""
    worst = _NEG if maximise else _POS
    better = max if maximise else min
    value = [0.0 if finish else worst for finish in finishes]
    predecessors: list[list[int]] = [[] for _ in edges]
    for source, out in enumerate(edges):
        for target, _, _ in out:
            if layers[target] == layers[source]:
                predecessors[target].append(source)
    by_layer: dict[int, list[int]] = {}
    for state, layer in enumerate(layers):
        by_layer.setdefault(layer, []).append(state)
    for layer in sorted(by_layer, reverse=True):
        members = by_layer[layer]
        for state in members:
            for target, low, high in edges[state]:
                if layers[target] > layer and value[target] != worst:
                    value[state] = better(value[state], (high if maximise else low) + value[target])
        pending = deque(state for state in members if value[state] != worst)
        while pending:
            state = pending.popleft()
            for source in predecessors[state]:
                candidate = better(value[source], value[state])
                if candidate != value[source]:
                    value[source] = candidate
                    pending.append(source)
    return value[0]
