"""Writes of the web interface: its audit trail."""

from __future__ import annotations

from typing import Any

from mdm.core.middleware import current_request_id
from mdm.ui.models import StewardAction


def steward_action_record(*, user: Any, action: str, target: str, refused: str = "",
                          detail: dict[str, Any] | None = None) -> StewardAction:
    """Record one action taken in the web interface, done or (with ``refused``) refused."""
    return StewardAction.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None, action=action,
        target=target[:200], message=refused, detail=detail or {},
        outcome=StewardAction.Outcome.REFUSED if refused else StewardAction.Outcome.DONE,
        request_id=current_request_id())
