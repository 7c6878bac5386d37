"""Reads of the stewardship stage."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, IntegerField, QuerySet, Value, When

from mdm.stewardship.models import ChangeRequest, Conflict, Notification, StewardScope


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


def conflict_get(*, user: Any, conflict_id: int) -> Conflict | None:
    """One conflict a user may see; None when missing or outside their domains."""
    return conflicts_list(user=user).filter(pk=conflict_id).first()


def change_requests_list(*, user: Any, status: str = "") -> QuerySet[ChangeRequest]:
    """The change requests a user may see (their domains only), pending ones first, then
    newest first."""
    requests = ChangeRequest.objects.prefetch_related("decisions__user") \
        .select_related("requested_by", "conflict")
    if status:
        requests = requests.filter(status=status)
    domains = steward_domains(user)
    if domains is not None:
        requests = requests.filter(domain__in=domains)
    pending_first = Case(When(status=ChangeRequest.Status.PENDING, then=Value(0)),
                         default=Value(1), output_field=IntegerField())
    return requests.order_by(pending_first, "-created_at", "-id")


def change_request_get(*, user: Any, change_request_id: int) -> ChangeRequest | None:
    """One change request a user may see; None when missing or outside their domains."""
    return change_requests_list(user=user).filter(pk=change_request_id).first()


def golden_value_now(*, domain: str, golden_id: Any, attribute: str) -> tuple[bool, Any]:
    """What a golden record holds for an attribute now (following merges): (found, value)."""
    from mdm.core.errors import NotFound
    from mdm.golden.schema import golden_values
    from mdm.golden.selectors import golden_record_resolve

    if not golden_id:
        return False, None
    try:
        record, _ = golden_record_resolve(domain=domain, golden_id=golden_id)
    except NotFound:
        return False, None
    return True, golden_values(record).get(attribute)


def notifications_list(*, user: Any) -> QuerySet[Notification]:
    """A user's own in-app notifications: unread first, newest first."""
    return Notification.objects.filter(user_id=getattr(user, "pk", None)) \
        .select_related("conflict").order_by(F("read_at").asc(nulls_first=True),
                                             "-created_at", "-id")
