"""History with request ids: every historical row says which request or task wrote it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from mdm.core.middleware import current_request_id


class RequestIdHistoricalModel(models.Model):
    """Base of every historical model: the request (or task) id that made the change."""

    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


def _history_user(instance: Any, request: Any = None, **kwargs: Any) -> Any:
    user = getattr(instance, "_history_user", None)
    if user is None and request is not None:
        user = getattr(request, "user", None)
    return user if isinstance(user, get_user_model()) and user.is_authenticated else None


def history(**kwargs: Any) -> HistoricalRecords:
    """``HistoricalRecords`` configured the hub's way (request id, only real users)."""
    return HistoricalRecords(bases=[RequestIdHistoricalModel], get_user=_history_user, **kwargs)


def bulk_history_attrs() -> dict[str, str]:
    """Extra columns for ``bulk_create_with_history`` / ``bulk_update_with_history``."""
    return {"request_id": current_request_id()}


@receiver(pre_create_historical_record)
def _stamp_request_id(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    if hasattr(history_instance, "request_id") and not history_instance.request_id:
        history_instance.request_id = current_request_id()
