"""Celery tasks of the stewardship stage: thin, ids only."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from mdm.core.middleware import set_request_id
from mdm.stewardship.alerts import conflict_alert


@shared_task(name="mdm.stewardship.tasks.alert_conflict")
def alert_conflict(conflict_id: int) -> dict[str, Any]:
    """Notify stewards, approvers and alert channels about one high or critical conflict."""
    set_request_id()
    return conflict_alert(conflict_id=conflict_id).as_dict()
