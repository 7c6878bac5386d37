"""Reads over golden records."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet

from mdm.core.domains import get_domain
from mdm.core.errors import NotFound
from mdm.golden.models import GoldenRecord
from mdm.golden.schema import (
    canonical_values,
    golden_attribute_name,
    golden_model,
    golden_values,
)
from mdm.matching.selectors import golden_ids_by_name
from mdm.sources.selectors import source_keys_by_golden, source_records_for_golden

SEARCH_FIELDS = {
    "customer": ["name", "name_zh", "name_latin", "national_id", "credit_code"],
    "product": ["sku", "gtin", "name", "brand"],
    "contract": ["contract_number"],
}


def golden_records_list(*, domain: str, search: str = "", status: str = "") -> QuerySet:
    records = golden_model(domain).objects.all()
    if status:
        records = records.filter(status=status)
    if search:
        query = Q()
        for name in SEARCH_FIELDS[domain]:
            query |= Q(**{f"{name}__icontains": search})
        records = records.filter(query)
    return records


IDENTIFIER_FIELDS = {
    "customer": ["national_id", "credit_code"],
    "product": ["sku", "gtin"],
    "contract": ["contract_number"],
}
_SEPARATORS = re.compile(r"[\s\-]")
_PHONE_TEXT = re.compile(r"[\d\s+()\-.]+")
MIN_PHONE_DIGITS = 6


def golden_records_search(*, domain: str, query: str = "", status: str = "") -> QuerySet:
    """Golden records matching what a steward typed: names and identifiers as in
    ``golden_records_list``, plus for customers a person or company name in any script
    or order (张伟 = zhang wei = Wei ZHANG, through the matching's name keys), a phone
    number in any format (138-0013-8000 = +86 138 0013 8000), an email in any case, and
    identifiers typed with spaces or dashes."""
    records = golden_records_list(domain=domain, status=status)
    text = " ".join(query.split())
    if not text:
        return records
    return records.filter(_search_filter(domain, text))


def _search_filter(domain: str, text: str) -> Q:
    condition = Q()
    for name in SEARCH_FIELDS[domain]:
        condition |= Q(**{f"{name}__icontains": text})
    # identifiers are stored without spaces (resident IDs and codes also without dashes)
    for compact in {"".join(text.split()).upper(), _SEPARATORS.sub("", text).upper()}:
        if compact and compact != text:
            for name in IDENTIFIER_FIELDS[domain]:
                condition |= Q(**{f"{name}__icontains": compact})
    if domain == "customer":
        condition |= Q(emails__icontains=text.lower())
        if phone := _phone_fragment(text):
            condition |= Q(phones__icontains=phone)
        if ids := golden_ids_by_name(domain=domain, name=text):
            condition |= Q(pk__in=ids)
    return condition


def _phone_fragment(text: str) -> str:
    """The E.164 form of a whole phone number, else the digits of a partial one ("")."""
    from mdm.sources.standardisers import StandardisationError, standardise

    if not _PHONE_TEXT.fullmatch(text):
        return ""
    try:
        return standardise("phone", text) or ""
    except StandardisationError:
        digits = re.sub(r"\D", "", text)
        return digits if len(digits) >= MIN_PHONE_DIGITS else ""


def golden_record_get(*, domain: str, golden_id: uuid.UUID | str) -> GoldenRecord:
    try:
        return golden_model(domain).objects.get(pk=uuid.UUID(str(golden_id)))
    except (golden_model(domain).DoesNotExist, ValueError) as exc:
        raise NotFound(f"No {domain} golden record {golden_id}.") from exc


def golden_export_rows(*, domain: str, with_sources: bool = False,
                       status: str = GoldenRecord.Status.ACTIVE) -> tuple[list[str], Any]:
    """Header and a row iterator for exporting golden records.

    With ``with_sources``: one row per linked source record, starting
    ``golden_id, source, source_key``, then the golden values.
    """
    names = [golden_attribute_name(a) for a in get_domain(domain).attribute_names()]
    head = ["id", "version", "record_status"]
    header = (["golden_id", "source", "source_key"] if with_sources else head) + names + \
        ([] if with_sources else ["lineage"])
    records = golden_records_list(domain=domain, status=status).order_by("created_at", "id")

    def rows() -> Any:
        for chunk in _chunks(records.iterator(chunk_size=1000), 1000):
            links = source_keys_by_golden([r.id for r in chunk]) if with_sources else {}
            for record in chunk:
                values = golden_values(record)
                attrs = [values.get(name) for name in names]
                if with_sources:
                    for source, key in links.get(record.id, []):
                        yield [str(record.id), source, key, *attrs]
                else:
                    yield [str(record.id), record.version, record.status, *attrs, record.lineage]

    return header, rows()


def _chunks(items: Any, size: int) -> Any:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def golden_lineage_explained(record: GoldenRecord) -> dict[str, Any]:
    """Lineage with each origin's source key and business time filled in from its record."""
    records = {r.pk: r for r in source_records_for_golden(record.id)}

    def explain(origin: dict[str, Any]) -> dict[str, Any]:
        found = records.get(origin.get("record"))
        if found is None:
            return origin
        return {**origin, "source_key": found.source_key,
                "source_updated_at": found.source_updated_at or found.received_at}

    explained = {}
    for attribute, entry in (record.lineage or {}).items():
        if "values" in entry:
            explained[attribute] = {**entry, "values": [explain(o) for o in entry["values"]]}
        else:
            explained[attribute] = explain(entry)
    return explained


def golden_record_resolve(*, domain: str, golden_id: uuid.UUID | str) -> tuple[GoldenRecord, str]:
    """The record for an id, following merge pointers to the survivor; also says which id
    was asked for when it was merged away ("" when not)."""
    record = golden_record_get(domain=domain, golden_id=golden_id)
    asked = ""
    hops = 0
    while record.status == GoldenRecord.Status.MERGED and record.merged_into and hops < 50:
        asked = asked or str(record.id)
        record = golden_record_get(domain=domain, golden_id=record.merged_into)
        hops += 1
    return record, asked


def golden_record_as_of(*, domain: str, golden_id: uuid.UUID | str, at: Any) -> GoldenRecord:
    """The record as it was at a past time (from its history)."""
    record = golden_record_get(domain=domain, golden_id=golden_id)
    past = record.history.filter(history_date__lte=at).order_by("-history_date",
                                                               "-history_id").first()
    if past is None:
        raise NotFound(f"{domain} {golden_id} did not exist yet at {at.isoformat()}.")
    return past.instance


def golden_versions(*, domain: str, golden_ids: list[uuid.UUID | None]) -> dict[uuid.UUID, int]:
    ids = [g for g in golden_ids if g]
    if not ids:
        return {}
    return dict(golden_model(domain).objects.filter(pk__in=ids).values_list("id", "version"))


def golden_record_history(*, record: GoldenRecord) -> list[dict[str, Any]]:
    """Every history row of a golden record, oldest first: version, status, when, who, why,
    request id and the values that changed (``{attribute: {before, after}}``)."""
    versions = []
    previous: dict[str, Any] = {}
    for row in record.history.order_by("history_date", "history_id").select_related(
            "history_user"):
        values = golden_values(row.instance)
        versions.append({
            "version": row.version, "status": row.status, "at": row.history_date,
            "user": row.history_user.username if row.history_user else None,
            "reason": row.history_change_reason, "request_id": row.request_id,
            "changes": {k: {"before": previous.get(k), "after": values.get(k)}
                        for k in sorted(set(previous) | set(values))
                        if previous.get(k) != values.get(k)},
        })
        previous = values
    return versions


def golden_record_sources_compared(*, record: GoldenRecord) -> dict[str, Any]:
    """The linked source records side by side with the golden values: ``sources`` (one
    per source record) and ``rows`` (one per attribute any of them holds), each cell with
    the source's value and whether it differs from the golden value."""
    domain = type(record).__name__.lower()
    golden = canonical_values(record, domain)
    sources = list(source_records_for_golden(record.id))
    rows = []
    for attribute in get_domain(domain).attributes:
        name = attribute.name
        cells = [{"value": (s.attributes or {}).get(name)} for s in sources]
        if all(_empty(c["value"]) for c in cells) and _empty(golden.get(name)):
            continue
        for cell in cells:
            cell["differs"] = name != "customer_ref" and not _empty(cell["value"]) and \
                _differs(cell["value"], golden.get(name), many=attribute.many)
        rows.append({"attribute": name, "golden": golden.get(name), "cells": cells})
    return {"sources": sources, "rows": rows}


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _differs(value: Any, golden: Any, *, many: bool) -> bool:
    if many:
        kept = golden if isinstance(golden, list) else []
        return any(item not in kept for item in (value if isinstance(value, list) else [value]))
    try:
        return Decimal(str(value)) != Decimal(str(golden))
    except (InvalidOperation, ValueError):
        return value != golden
