"""Writes to golden records. Each change writes the new version, its history row, its
lineage and its outbox event in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from mdm.core.bulk import bulk_save_with_history
from mdm.core.locks import domain_write_lock
from mdm.golden.models import Customer, GoldenRecord
from mdm.golden.schema import (
    attribute_columns,
    golden_model,
    golden_values,
    to_python,
)
from mdm.golden.survivorship import survive
from mdm.publishing.services import EventSpec, change_events_emit
from mdm.sources.selectors import LinkedRecord, golden_ids_for_keys, linked_records


@dataclass
class GoldenChange:
    """What happened to one golden record: created, updated, retired or unchanged."""

    golden_id: uuid.UUID
    action: str
    version: int


@transaction.atomic
def golden_records_survive(*, domain: str, golden_ids: Iterable[uuid.UUID],
                           origin_source: str = "", actor: Any = None,
                           caused_at: datetime | None = None) -> list[GoldenChange]:
    """Recompute golden records from their linked source records and store what changed.

    A golden id with no record yet is created; one whose linked records are all gone is
    retired. Unchanged records are left alone (no new version, no event). ``caused_at`` is
    when the source data behind the change arrived (for sync-lag measurement).
    """
    domain_write_lock(domain)
    model = golden_model(domain)
    ids = sorted(set(golden_ids))
    linked = linked_records(domain=domain, golden_ids=ids)
    existing = {g.id: g for g in model.objects.select_for_update().filter(id__in=ids)}
    survived = {gid: survive(domain, linked.get(gid, [])) for gid in ids
                if gid in existing or gid in linked}
    if domain == "contract":
        _resolve_customer_refs(survived)
    created, updated, events, changes = [], [], [], []
    for golden_id, (values, lineage) in survived.items():
        current = existing.get(golden_id)
        record, action, before = _apply(model, domain, golden_id, current, values, lineage)
        if action == "unchanged":
            changes.append(GoldenChange(golden_id, action, record.version))
            continue
        (created if action == "created" else updated).append(record)
        echo = _origin_agrees(linked.get(golden_id, []), origin_source, record, before)
        events.append(_event(domain, record, action, before, origin_source, caused_at, echo))
        changes.append(GoldenChange(golden_id, action, record.version))
    bulk_save_with_history(
        model, created=created, updated=updated, user=actor,
        update_fields=["version", "status", "lineage", "updated_at",
                       *attribute_columns(domain).values()],
        reason=f"ingest from {origin_source}" if origin_source else "")
    change_events_emit(events=events)
    return changes


def _apply(model: type[GoldenRecord], domain: str, golden_id: uuid.UUID,
           current: GoldenRecord | None, values: dict[str, Any],
           lineage: dict[str, Any]) -> tuple[GoldenRecord, str, dict[str, Any]]:
    """Set the survived values on the record; say whether it was created, changed or not."""
    status = GoldenRecord.Status.ACTIVE if lineage else GoldenRecord.Status.RETIRED
    record = current or model(id=golden_id, version=1)
    before = golden_values(record) if current else {}
    columns = attribute_columns(domain)
    for attribute, column in columns.items():
        setattr(record, column, to_python(model, column, values.get(attribute)))
    record.lineage = lineage
    if current is None:
        record.status = status
        return record, "created", before
    if golden_values(record) == before and current.status == status:
        return record, "unchanged", before
    action = "retired" if status == GoldenRecord.Status.RETIRED else "updated"
    record.status = status
    record.version += 1
    record.updated_at = timezone.now()
    return record, action, before


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: {"before": before.get(name), "after": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)}


def _origin_agrees(records: list[LinkedRecord], origin_source: str, record: GoldenRecord,
                   before: dict[str, Any]) -> bool:
    """True when every changed golden value is what the origin source itself holds: then
    sending the change back to that source would only echo its own data."""
    own = [r.attributes for r in records if r.source == origin_source]
    if not own:
        return False
    changed = _changes(before, golden_values(record))
    return all(any(_same(attributes.get(name), change["after"]) for attributes in own)
               for name, change in changed.items())


def _same(source_value: Any, golden_value: Any) -> bool:
    return source_value == golden_value or (golden_value is None and not source_value)


def _event(domain: str, record: GoldenRecord, action: str, before: dict[str, Any],
           origin_source: str, caused_at: datetime | None, echo: bool) -> EventSpec:
    after = golden_values(record)
    return EventSpec(type=f"mdm.{domain}.{action}", domain=domain, golden_id=record.id,
                     version=record.version, origin_source=origin_source, caused_at=caused_at,
                     data={"values": after, "changed": _changes(before, after),
                           "origin_echo": echo})


def _resolve_customer_refs(survived: dict[uuid.UUID, tuple[dict, dict]]) -> None:
    """Contracts: replace the surviving customer_ref (a source key) by the golden customer."""
    wanted = {
        golden_id: (lineage["customer_ref"]["source"], values["customer_ref"])
        for golden_id, (values, lineage) in survived.items() if values.get("customer_ref")
    }
    found = golden_ids_for_keys(domain="customer", keys=wanted.values())
    survivors = _survivors(Customer, set(found.values()))
    for golden_id, (values, _) in survived.items():
        values["customer_ref"] = survivors.get(found.get(wanted.get(golden_id)))


def _survivors(model: type[GoldenRecord], ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Follow merge pointers: each id → the active golden record it now lives in."""
    pointers = dict(model.objects.filter(id__in=ids).values_list("id", "merged_into"))
    resolved = {}
    for golden_id in ids:
        if golden_id not in pointers:
            continue
        current, hops = golden_id, 0
        while pointers.get(current) and hops < 50:
            nxt = pointers[current]
            if nxt not in pointers:
                pointers.update(model.objects.filter(id=nxt).values_list("id", "merged_into"))
            current, hops = nxt, hops + 1
        resolved[golden_id] = current
    return resolved
