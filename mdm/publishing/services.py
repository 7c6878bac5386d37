"""Writes to the outbox. Delivery to subscribers builds on these events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from mdm.core.bulk import bulk_insert_rows
from mdm.core.middleware import current_request_id
from mdm.publishing.models import ChangeEvent


@dataclass
class EventSpec:
    """One golden change to announce."""

    type: str
    domain: str
    golden_id: uuid.UUID
    version: int
    data: dict[str, Any] = field(default_factory=dict)
    origin_source: str = ""


def change_events_emit(*, events: Iterable[EventSpec]) -> list[ChangeEvent]:
    """Append events to the outbox; call inside the transaction that made the change."""
    request_id = current_request_id()
    rows = [
        ChangeEvent(type=e.type, domain=e.domain, golden_id=e.golden_id, version=e.version,
                    data=json.loads(json.dumps(e.data, cls=DjangoJSONEncoder)),
                    origin_source=e.origin_source, request_id=request_id)
        for e in events
    ]
    bulk_insert_rows(ChangeEvent, rows)
    return rows
