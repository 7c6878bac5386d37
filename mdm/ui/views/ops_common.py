"""Import outcome labels shared by the operations pages (quarantine, imports)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

OUTCOME_LABELS = {
    "created": _("created"), "updated": _("updated"), "unchanged": _("unchanged"),
    "quarantined": _("quarantined"), "rejected": _("rejected"), "stale": _("stale"),
    "deleted": _("deleted"),
}


def outcome_rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    """``{outcome: n}`` as labelled rows, in a fixed order, zeros left out."""
    order = [*OUTCOME_LABELS, *sorted(set(counts) - set(OUTCOME_LABELS))]
    return [{"outcome": o, "label": OUTCOME_LABELS.get(o, o), "count": counts[o]}
            for o in order if counts.get(o)]


def outcome_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{row['count']} {row['label']}" for row in outcome_rows(counts))
