"""Helpers shared by the interface's list pages: paging and form selections."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from mdm.core.errors import ValidationFailed


def paginate(request: HttpRequest, items: Any, per_page: int = 25) -> Page:
    """One page of ``items`` by ``?page=`` (out of range: the last page)."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The current query string without ``page``, for pager links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def int_ids(values: list[str]) -> list[int]:
    """Selected row ids from a form; a non-number is bad input, not a server error."""
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValidationFailed(_("The selection holds an id that is not a number.")) from None
