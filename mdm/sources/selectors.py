"""Reads over source records, for other stages and the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from mdm.sources.models import FeedUpload, IngestBatch, SourceRecord, SourceSystem


@dataclass(frozen=True)
class LinkedRecord:
    """What survivorship needs to know of one source record linked to a golden record."""

    id: int
    source: str
    source_key: str
    status: str
    attributes: dict[str, Any]
    source_updated_at: datetime | None
    received_at: datetime

    @property
    def business_time(self) -> datetime:
        """The source's own last-update time; the receive time when the source gave none."""
        return self.source_updated_at or self.received_at


def linked_records(*, domain: str,
                   golden_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[LinkedRecord]]:
    """The non-deleted source records linked to each golden id, with usable attributes."""
    by_golden: dict[uuid.UUID, list[LinkedRecord]] = {}
    rows = SourceRecord.objects.filter(domain=domain, golden_id__in=list(golden_ids)) \
        .exclude(status=SourceRecord.Status.DELETED) \
        .values_list("id", "golden_id", "source__code", "source_key", "status", "attributes",
                     "source_updated_at", "received_at")
    for rid, golden_id, source, key, status, attributes, updated, received in rows.iterator(
            chunk_size=2000):
        if attributes:
            by_golden.setdefault(golden_id, []).append(
                LinkedRecord(rid, source, key, status, attributes, updated, received))
    return by_golden


def golden_ids_for_keys(*, domain: str,
                        keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """Golden id of each ``(source code, source key)`` of ``domain`` that is linked."""
    keys = set(keys)
    if not keys:
        return {}
    rows = SourceRecord.objects.filter(
        domain=domain, source_key__in={k for _, k in keys}, golden_id__isnull=False,
    ).values_list("source__code", "source_key", "golden_id")
    return {(s, k): g for s, k, g in rows if (s, k) in keys}


def source_records_for_golden(golden_id: uuid.UUID) -> QuerySet[SourceRecord]:
    return SourceRecord.objects.filter(golden_id=golden_id).select_related("source") \
        .order_by("source__code", "source_key")


def quarantined_records(*, source: SourceSystem | None = None,
                        domain: str | None = None) -> QuerySet[SourceRecord]:
    records = SourceRecord.objects.filter(status=SourceRecord.Status.QUARANTINED) \
        .select_related("source").order_by("-received_at", "-id")
    if source is not None:
        records = records.filter(source=source)
    if domain:
        records = records.filter(domain=domain)
    return records


def source_system_for_key(raw_key: str) -> SourceSystem | None:
    """The active source system owning an API key, or None."""
    from mdm.sources.services import api_key_hash

    return SourceSystem.objects.filter(api_key_hash=api_key_hash(raw_key), is_active=True).first()


def source_keys_by_golden(golden_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, str]]]:
    """``golden id → [(source code, source key), ...]`` of the non-deleted linked records."""
    links: dict[uuid.UUID, list[tuple[str, str]]] = {}
    rows = SourceRecord.objects.filter(golden_id__in=golden_ids) \
        .exclude(status=SourceRecord.Status.DELETED) \
        .order_by("source__code", "source_key").values_list("golden_id", "source__code",
                                                            "source_key")
    for golden_id, source, key in rows:
        links.setdefault(golden_id, []).append((source, key))
    return links


def subscriber_view(*, source: SourceSystem, domain: str,
                    golden_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, dict]]]:
    """For a subscribing system: its own (key, attributes) linked to each golden id."""
    view: dict[uuid.UUID, list[tuple[str, dict]]] = {}
    rows = SourceRecord.objects.filter(source=source, domain=domain, golden_id__in=golden_ids) \
        .exclude(status=SourceRecord.Status.DELETED) \
        .values_list("golden_id", "source_key", "attributes")
    for golden_id, key, attributes in rows:
        view.setdefault(golden_id, []).append((key, attributes))
    return view


def outbound_codes(*, source: SourceSystem) -> dict[tuple[str, str], dict[str, str]]:
    """The reverse of a system's value maps: (domain, attribute) → canonical → its code.
    Where several codes map to one canonical value, the first one configured is used."""
    codes: dict[tuple[str, str], dict[str, str]] = {}
    for vm in source.value_maps.order_by("id"):
        codes.setdefault((vm.domain, vm.attribute), {}).setdefault(vm.canonical_value,
                                                                   vm.source_value)
    return codes


def feed_rows_canonical(*, source: SourceSystem, domain: str,
                        rows: Iterable[Any]) -> list[tuple[str, dict[str, Any]]]:
    """Read-only: a system's feed rows as ``(record key, canonical attributes)``, mapped
    and standardised with its own field mappings and value maps (rows that do not map
    cleanly keep the attributes that did). Used to compare what a subscriber holds."""
    from mdm.sources.mapping import MappingConfig, map_record

    config = MappingConfig.load(source, domain)
    key_field = source.key_field(domain)
    mapped = []
    for row in rows:
        if row.data is None or row.data.get(key_field) in (None, ""):
            continue
        mapped.append((str(row.data[key_field]).strip(),
                       map_record(config, row.data, frozenset({key_field})).attributes))
    return mapped


def mapped_attributes(*, source: SourceSystem, domain: str) -> set[str]:
    """The canonical attributes a system's field mappings cover (empty: no mappings)."""
    return set(source.mappings.filter(domain=domain).values_list("attribute", flat=True))


def source_record_ids_for_golden(*, domain: str, golden_id: uuid.UUID) -> list[int]:
    """Every source record linked to a golden record (deleted ones too: they move along)."""
    return list(SourceRecord.objects.filter(domain=domain, golden_id=golden_id)
                .order_by("id").values_list("id", flat=True))


def source_record_find(*, domain: str, source: str, source_key: str) -> SourceRecord | None:
    return SourceRecord.objects.filter(domain=domain, source__code=source,
                                       source_key=source_key).first()


_MATCHABLE = (SourceRecord.Status.ACTIVE, SourceRecord.Status.QUARANTINED)


def matchable_record_attributes(*, record_ids: Iterable[int]
                                ) -> dict[int, tuple[uuid.UUID, dict[str, Any]]]:
    """For each linked, non-deleted record among ``record_ids``: its golden id and its
    attributes (a quarantined record's last good ones)."""
    ids = list(record_ids)
    if not ids:
        return {}
    rows = SourceRecord.objects.filter(pk__in=ids, status__in=_MATCHABLE) \
        .exclude(golden_id=None).values_list("id", "golden_id", "attributes")
    return {pk: (golden_id, attributes) for pk, golden_id, attributes in rows}


def matchable_record_counts(*, domain: str,
                            golden_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many non-deleted source records each golden record holds."""
    ids = list(golden_ids)
    if not ids:
        return {}
    return dict(SourceRecord.objects.filter(domain=domain, golden_id__in=ids,
                                            status__in=_MATCHABLE)
                .values("golden_id").annotate(n=Count("id")).values_list("golden_id", "n"))


def matchable_records(*, domain: str) -> Iterator[tuple[int, uuid.UUID, str, str]]:
    """(id, golden id, source code, source key) of every linked, non-deleted record."""
    return SourceRecord.objects.filter(domain=domain, status__in=_MATCHABLE) \
        .exclude(golden_id=None).order_by("id") \
        .values_list("id", "golden_id", "source__code", "source_key").iterator(chunk_size=20_000)


def source_systems_sending() -> QuerySet[SourceSystem]:
    """The systems that send records (for choosing one to import a file for)."""
    return SourceSystem.objects.filter(is_source=True, is_active=True).order_by("code")


def ingest_batches_recent(*, day: date | None = None) -> QuerySet[IngestBatch]:
    """Ingest batches, newest first; with ``day``, those received that (local) day."""
    batches = IngestBatch.objects.select_related("source", "user").order_by("-id")
    if day is not None:
        start = timezone.make_aware(datetime.combine(day, time.min))
        batches = batches.filter(received_at__gte=start,
                                 received_at__lt=start + timedelta(days=1))
    return batches


def records_received_by_day(*, days: int) -> dict[date, int]:
    """Records received per local day over the last ``days`` days (every day, zero too),
    counted from the ingest batches' outcome counts."""
    today = timezone.localdate()
    received = {today - timedelta(days=n): 0 for n in range(days - 1, -1, -1)}
    batches = IngestBatch.objects.filter(received_at__gte=timezone.now() - timedelta(days=days))
    for received_at, counts in batches.values_list("received_at", "counts").iterator():
        day = timezone.localdate(received_at)
        if day in received:
            received[day] += sum(v for v in (counts or {}).values() if isinstance(v, int))
    return received


def feed_uploads(*, domains: Iterable[str]) -> QuerySet[FeedUpload]:
    """Uploaded feed files of the given domains, newest first (without their content)."""
    return FeedUpload.objects.filter(domain__in=list(domains)).defer("content") \
        .select_related("source", "user", "batch").order_by("-id")


def source_systems_all() -> QuerySet[SourceSystem]:
    return SourceSystem.objects.order_by("code")
