"""Template helpers of the web interface: charts drawn as inline SVG, no chart library."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

CHART_HEIGHT = 120


@register.inclusion_tag("ui/_bar_chart.html")
def bar_chart(rows: list[dict[str, Any]], key: str = "value", unit: str = "",
              label: str = "") -> dict[str, Any]:
    """Vertical bars, one per row (``label``, ``key`` value, ``url``); each bar links."""
    top = max([float(row.get(key) or 0) for row in rows] + [1.0])
    bars = [{**row, "number": row.get(key) or 0,
             "height": round(CHART_HEIGHT * float(row.get(key) or 0) / top, 1)}
            for row in rows]
    for index, bar in enumerate(bars):
        bar["x"] = index * 36
        bar["y"] = CHART_HEIGHT - bar["height"]
    return {"bars": bars, "unit": unit, "width": max(len(bars) * 36, 36),
            "height": CHART_HEIGHT, "label": label}


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> Any:
    """``{{ values|get_item:name }}``: a dictionary value by a variable key."""
    return (mapping or {}).get(key)
