"""Small charts drawn as SVG on the server: horizontal bars with their labels and values."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Sequence

LABEL_WIDTH = 220
BAR_WIDTH = 320
VALUE_WIDTH = 70
ROW = 26


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length as a number, and how the value is written."""

    label: str
    value: float
    text: str


def bar_chart(title: str, bars: Sequence[Bar], colour: str = "#4a6fb5") -> str:
    """A horizontal bar chart as standalone SVG; labels take their direction from their own text."""
    height = ROW * max(len(bars), 1) + 10
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    svg = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "class": "chart", "role": "img",
                             "width": str(width), "height": str(height), "viewBox": f"0 0 {width} {height}",
                             "font-family": "system-ui, sans-serif", "font-size": "12"})
    ET.SubElement(svg, "title").text = title
    largest = max((bar.value for bar in bars), default=0)
    for row, bar in enumerate(bars):
        y = 5 + row * ROW
        group = ET.SubElement(svg, "g", {"class": "bar"})
        ET.SubElement(group, "title").text = f"{bar.label}: {bar.text}"
        label = ET.SubElement(group, "text", {"x": str(LABEL_WIDTH - 8), "y": str(y + 16), "text-anchor": "end",
                                              "unicode-bidi": "plaintext"})
        label.text = bar.label if len(bar.label) <= 32 else bar.label[:31] + "…"
        length = BAR_WIDTH * bar.value / largest if largest > 0 else 0
        ET.SubElement(group, "rect", {"x": str(LABEL_WIDTH), "y": str(y + 3), "width": f"{max(length, 0):.1f}",
                                      "height": str(ROW - 8), "fill": colour, "rx": "3"})
        value = ET.SubElement(group, "text", {"x": f"{LABEL_WIDTH + max(length, 0) + 6:.1f}", "y": str(y + 16),
                                              "direction": "ltr"})
        value.text = bar.text
    return ET.tostring(svg, encoding="unicode")
