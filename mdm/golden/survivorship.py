"""Survivorship: compute golden values from the linked source records.

Pure functions. For now every single-valued attribute takes the value of the most recent
source record by the source's own business time; many-valued attributes keep every
distinct value, most recent first. The golden-records issue makes the rule configurable.
"""

from __future__ import annotations

from typing import Any

from mdm.core.domains import get_domain
from mdm.sources.selectors import LinkedRecord

MOST_RECENT = "most_recent"
AGGREGATE = "aggregate"


def by_recency(records: list[LinkedRecord]) -> list[LinkedRecord]:
    """Most recent first: business time, then receive time, then id (a stable total order)."""
    return sorted(records, key=lambda r: (r.business_time, r.received_at, r.id), reverse=True)


def survive(domain: str, records: list[LinkedRecord]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Golden values and their lineage (attribute → which source record, which rule)."""
    ordered = by_recency(records)
    values: dict[str, Any] = {}
    lineage: dict[str, Any] = {}
    for attribute in get_domain(domain).attributes:
        if attribute.many:
            _aggregate(attribute.name, ordered, values, lineage)
        else:
            _most_recent(attribute.name, ordered, values, lineage)
    return values, lineage


def _origin(record: LinkedRecord) -> dict[str, Any]:
    """Where a value came from: the source and the source record (its key and time are
    read from the record when lineage is shown; see ``golden_lineage_explained``)."""
    return {"source": record.source, "record": record.id}


def _most_recent(name: str, ordered: list[LinkedRecord], values: dict, lineage: dict) -> None:
    for record in ordered:
        value = record.attributes.get(name)
        if value not in (None, "", []):
            values[name] = value
            lineage[name] = {"rule": MOST_RECENT, **_origin(record)}
            return


def _aggregate(name: str, ordered: list[LinkedRecord], values: dict, lineage: dict) -> None:
    seen: list[Any] = []
    origins = []
    for record in ordered:
        for value in record.attributes.get(name) or []:
            if value not in seen:
                seen.append(value)
                origins.append(_origin(record))
    if seen:
        values[name] = seen
        lineage[name] = {"rule": AGGREGATE, "values": origins}  # one origin per value
