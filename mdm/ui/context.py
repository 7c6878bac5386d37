"""What every page of the web interface shows: the unread notification count."""

from typing import Any

from django.http import HttpRequest

from mdm.stewardship.models import Notification


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith(("/api/", "/admin/")):
        return {}
    return {"unread_notifications": Notification.objects.filter(
        user=user, read_at__isnull=True).count()}
