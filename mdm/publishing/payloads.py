"""Build what a subscriber receives: CloudEvents 1.0 in its own field names and codes.

Pure functions; the fan-out service decides which events each subscription gets.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mdm.publishing.models import ChangeEvent, Subscription

CLOUDEVENTS_SOURCE = "urn:mdm-hub"
FILTER_OPS = ("eq", "ne", "in", "not_in", "present")


def event_action(event: ChangeEvent) -> str:
    """``mdm.customer.updated`` → ``updated``."""
    return event.type.rsplit(".", 1)[-1]


def passes_filters(subscription: Subscription, values: dict[str, Any]) -> bool:
    """Whether the golden values meet every filter condition of the subscription."""
    return all(_holds(condition, values.get(condition.get("attribute", "")))
               for condition in subscription.filters or [])


def _holds(condition: dict[str, Any], value: Any) -> bool:
    op, wanted = condition.get("op", "eq"), condition.get("value")
    candidates = value if isinstance(value, list) else [value]
    if op == "present":
        return value not in (None, "", [])
    if op == "eq":
        return wanted in candidates
    if op == "ne":
        return wanted not in candidates
    if op == "in":
        return any(c in (wanted or []) for c in candidates)
    if op == "not_in":
        return not any(c in (wanted or []) for c in candidates)
    return False


class OutboundMapping:
    """Canonical attributes → the subscriber's field names and codes."""

    def __init__(self, subscription: Subscription,
                 codes: dict[tuple[str, str], dict[str, str]]) -> None:
        self.wanted = set(subscription.attributes or [])
        self.field_map = subscription.field_map or {}
        self.codes = codes

    def values(self, domain: str, values: dict[str, Any]) -> dict[str, Any]:
        return {self.field_map.get(name, name): self.value(domain, name, value)
                for name, value in values.items() if not self.wanted or name in self.wanted}

    def changes(self, domain: str, changed: dict[str, Any]) -> dict[str, Any]:
        return {self.field_map.get(name, name): {
            "before": self.value(domain, name, change.get("before")),
            "after": self.value(domain, name, change.get("after"))}
            for name, change in changed.items() if not self.wanted or name in self.wanted}

    def value(self, domain: str, attribute: str, value: Any) -> Any:
        codes = self.codes.get((domain, attribute))
        if not codes or value is None:
            return value
        if isinstance(value, list):
            return [codes.get(v, v) for v in value]
        return codes.get(value, value)


def values_checksum(values: dict[str, Any]) -> str:
    """SHA-256 of the values as the subscriber receives them: keys sorted, lists sorted,
    compact UTF-8 JSON. A subscriber keeps the ``checksum`` of the last event it applied
    and posts it back for reconciliation."""
    normalised = {k: sorted(v, key=str) if isinstance(v, list) else v
                  for k, v in values.items() if v not in (None, "", [])}
    text = json.dumps(normalised, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cloud_event(event: ChangeEvent, mapping: OutboundMapping,
                source_keys: list[str]) -> dict[str, Any]:
    """One CloudEvents 1.0 JSON event for one subscriber."""
    data = event.data or {}
    values = mapping.values(event.domain, data.get("values") or {})
    return {
        "specversion": "1.0",
        "id": str(event.event_id),
        "source": CLOUDEVENTS_SOURCE,
        "type": event.type,
        "subject": str(event.golden_id),
        "time": event.created_at.isoformat(),
        "datacontenttype": "application/json",
        "sequence": str(event.seq),
        "data": {
            "golden_id": str(event.golden_id),
            "domain": event.domain,
            "version": event.version,
            "values": values,
            "changed": mapping.changes(event.domain, data.get("changed") or {}),
            "source_keys": source_keys,
            "checksum": values_checksum(values),
        },
    }
