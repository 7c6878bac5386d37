"""Helpers shared by the operations pages (quarantine, deliveries, imports, notifications)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from mdm.core.errors import ValidationFailed

OUTCOME_LABELS = {
    "created": _("created"), "updated": _("updated"), "unchanged": _("unchanged"),
    "quarantined": _("quarantined"), "rejected": _("rejected"), "stale": _("stale"),
    "deleted": _("deleted"),
}


def paginate(request: HttpRequest, items: Any, per_page: int = 25) -> Page:
    """One page of ``items`` by ``?page=`` (out of range: the last page)."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current query string without ``page``, for pager links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def outcome_rows(counts: dict[str, int]) -> list[dict[str, Any]]:
    """``{outcome: n}`` as labelled rows, in a fixed order, zeros left out."""
    order = [*OUTCOME_LABELS, *sorted(set(counts) - set(OUTCOME_LABELS))]
    return [{"outcome": o, "label": OUTCOME_LABELS.get(o, o), "count": counts[o]}
            for o in order if counts.get(o)]


def outcome_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{row['count']} {row['label']}" for row in outcome_rows(counts))


def int_ids(values: list[str]) -> list[int]:
    """Selected row ids from a form; a non-number is bad input, not a server error."""
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValidationFailed(_("The selection holds an id that is not a number.")) from None
