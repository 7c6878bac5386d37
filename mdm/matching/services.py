"""Matching, first step: link records that share an exact strong identifier.

The record-linkage issue replaces ``records_match`` with scored matching; callers only
see "which golden record does each record belong to".
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from django.db import transaction

from mdm.core.bulk import bulk_insert_rows
from mdm.core.domains import get_domain
from mdm.matching.models import MatchKey


def match_keys_of(domain: str, attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """The (kind, value) strong identifiers of a record, e.g. ("emails", "a@b.cn")."""
    keys = []
    for attribute in get_domain(domain).identifiers():
        value = attributes.get(attribute.name)
        for item in value if isinstance(value, list) else [value]:
            if item not in (None, ""):
                keys.append((attribute.name, str(item)))
    return keys


def records_match(
    *, domain: str,
    records: Sequence[tuple[Hashable, dict[str, Any], uuid.UUID | None]],
    ambiguous: list[tuple[Hashable, list[uuid.UUID]]] | None = None,
) -> dict[Hashable, uuid.UUID]:
    """Assign a golden id to each ``(ref, attributes, current golden id or None)``.

    Records sharing an identifier (with each other or with an indexed record) belong
    together. A record already linked keeps its golden record (golden ids are stable);
    a group of new records joins a linked record of the batch it shares a key with, else
    the oldest indexed golden record it shares a key with, else one new id. Records that
    share keys with more than one golden record are reported in ``ambiguous``.
    """
    keys_by_ref = {ref: match_keys_of(domain, attributes) for ref, attributes, _ in records}
    linked = {ref: golden_id for ref, _, golden_id in records if golden_id}
    indexed = _indexed_goldens(domain, {k for keys in keys_by_ref.values() for k in keys})
    assigned: dict[Hashable, uuid.UUID] = dict(linked)
    for refs in _group_by_shared_keys(keys_by_ref):
        hits = [(-1, linked[ref]) for ref in refs if ref in linked]
        hits += [indexed[k] for ref in refs for k in keys_by_ref[ref] if k in indexed]
        golden_id = min(hits)[1] if hits else uuid.uuid4()
        assigned.update({ref: golden_id for ref in refs if ref not in linked})
        others = sorted({g for _, g in hits} - {golden_id})
        if others and ambiguous is not None:
            ambiguous += [(ref, [golden_id, *others]) for ref in refs if ref not in linked]
    return assigned


@transaction.atomic
def match_keys_index(*, domain: str,
                     entries: Iterable[tuple[int, uuid.UUID | None, dict[str, Any] | None]]) -> int:
    """Replace the indexed keys of source records: ``(record id, golden id, attributes)``.

    ``attributes`` None (a deleted or unlinked record) only removes its keys.
    Returns the number of keys written.
    """
    entries = list(entries)
    MatchKey.objects.filter(source_record_id__in=[e[0] for e in entries]).delete()
    rows = [
        MatchKey(domain=domain, kind=kind, value=value[:300], golden_id=golden_id,
                 source_record_id=record_id)
        for record_id, golden_id, attributes in entries if attributes and golden_id
        for kind, value in match_keys_of(domain, attributes)
    ]
    bulk_insert_rows(MatchKey, rows)
    return len(rows)


def match_keys_repoint(*, record_ids: Sequence[int], golden_id: uuid.UUID) -> int:
    """The records moved to another golden record (merge, unmerge): so do their keys."""
    return MatchKey.objects.filter(source_record_id__in=list(record_ids)) \
        .update(golden_id=golden_id)


def _indexed_goldens(domain: str,
                     keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, uuid.UUID]]:
    """For each key already indexed: (oldest index row id, its golden id)."""
    found: dict[tuple[str, str], tuple[int, uuid.UUID]] = {}
    if not keys:
        return found
    rows = MatchKey.objects.filter(domain=domain, value__in={v for _, v in keys}) \
        .values_list("id", "kind", "value", "golden_id")
    for row_id, kind, value, golden_id in rows:
        key = (kind, value)
        if key in keys and (key not in found or row_id < found[key][0]):
            found[key] = (row_id, golden_id)
    return found


def _group_by_shared_keys(keys_by_ref: dict[Hashable, list]) -> list[list[Hashable]]:
    """Connected components of records linked by a shared key (union-find)."""
    parent: dict[Hashable, Hashable] = {ref: ref for ref in keys_by_ref}

    def find(ref: Hashable) -> Hashable:
        while parent[ref] != ref:
            parent[ref] = parent[parent[ref]]
            ref = parent[ref]
        return ref

    owner: dict[tuple[str, str], Hashable] = {}
    for ref, keys in keys_by_ref.items():
        for key in keys:
            if key in owner:
                parent[find(ref)] = find(owner[key])
            else:
                owner[key] = ref
    groups: dict[Hashable, list[Hashable]] = {}
    for ref in keys_by_ref:
        groups.setdefault(find(ref), []).append(ref)
    return list(groups.values())
