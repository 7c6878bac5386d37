"""Celery tasks of the stewardship stage: thin, ids only."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from mdm.core.middleware import set_request_id
from mdm.stewardship.alerts import conflict_alert


@shared_task(name="mdm.stewardship.tasks.alert_conflicts")
def alert_conflicts(conflict_ids: list[int]) -> list[dict[str, Any]]:
    """Notify stewards, approvers and alert channels about high or critical conflicts
    (one task per write batch)."""
    set_request_id()
    return [conflict_alert(conflict_id=pk).as_dict() for pk in conflict_ids]
