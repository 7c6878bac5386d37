"""Reads of the stewardship stage."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from mdm.stewardship.models import ChangeRequest, Conflict, StewardScope


def steward_domains(user: Any) -> list[str] | None:
    """The domains a user may act on; None: every domain (superusers, or no scope set)."""
    if user.is_superuser:
        return None
    scope = StewardScope.objects.filter(user_id=user.pk).first()
    return scope.domains if scope and scope.domains else None


def conflicts_list(*, user: Any, status: str = "", severity: str = "", domain: str = "",
                   kind: str = "") -> QuerySet[Conflict]:
    """The conflict queue a user may see: stewards scoped to domains see only those."""
    conflicts = Conflict.objects.select_related("change_request").order_by("-created_at", "-id")
    domains = steward_domains(user)
    if domains is not None:
        conflicts = conflicts.filter(domain__in=domains)
    for name, value in (("status", status), ("severity", severity), ("domain", domain),
                        ("kind", kind)):
        if value:
            conflicts = conflicts.filter(**{name: value})
    return conflicts


def change_requests_list(*, status: str = "") -> QuerySet[ChangeRequest]:
    requests = ChangeRequest.objects.prefetch_related("decisions__user").order_by("-created_at")
    return requests.filter(status=status) if status else requests
