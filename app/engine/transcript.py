"""Render a playthrough as the play command prints it: JSON for tools, plain text for people."""

from __future__ import annotations

import json
from typing import Any

from .play import Playthrough


def as_dict(playthrough: Playthrough) -> dict[str, Any]:
    """The play command's `--json` object."""
    return {
        "id": playthrough.scenario.id,
        "outcome": playthrough.outcome,
        "ending": playthrough.ending,
        "points": playthrough.points,
        "skills": {name: total for name, total in playthrough.skills.items() if total},
        "variables": dict(playthrough.variables),
        "steps": [{
            "node": step.node,
            "action": step.action,
            "points": step.points,
            "skills": step.skills,
            "feedback": list(step.feedback),
        } for step in playthrough.steps],
    }


def as_json(playthrough: Playthrough) -> str:
    """The `--json` object as text."""
    return json.dumps(as_dict(playthrough), ensure_ascii=False, indent=2)


def _signed(value: int) -> str:
    return f"{value:+d}"


def as_text(playthrough: Playthrough) -> str:
    """A transcript for people to read."""
    scenario = playthrough.scenario
    lines = [f"{scenario.title} ({scenario.id})", ""]
    for step in playthrough.steps:
        lines.append(f"{step.number}. [{step.node}]")
        for label, text in step.shown.items():
            if text:
                lines.append(f"   {label}: {text.strip()}")
        lines.append(f"   you: {step.answer}  ({step.action})")
        gains = [f"{_signed(step.points)} points"] + [f"{name} {_signed(v)}" for name, v in step.skills.items()]
        lines.append(f"   earned: {', '.join(gains)}")
        lines.extend(f"   feedback: {text.strip()}" for text in step.feedback)
        lines.append("")
    node = playthrough.node
    if playthrough.finished and node is not None:
        lines.append(f"[{node.id}] ending: {node.ending or 'none (no choice was offered)'}")
        for text in (node.narrate, node.say, node.debrief):
            if text:
                lines.append(f"   {text.strip()}")
    elif not playthrough.finished:
        offered = ", ".join(playthrough.describe_offer())
        lines.append(f"(stopped at {playthrough.step_id!r}; offered: {offered})")
    skills = ", ".join(f"{name} {_signed(total)}" for name, total in playthrough.skills.items() if total)
    variables = ", ".join(f"{name}={value}" for name, value in playthrough.variables.items())
    lines.append(f"outcome: {playthrough.outcome}, points: {playthrough.points}")
    if skills:
        lines.append(f"skills: {skills}")
    if variables:
        lines.append(f"variables: {variables}")
    return "\n".join(lines)
