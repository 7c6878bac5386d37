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
from mdm.core.domains import get_domain
from mdm.core.errors import Conflict as ConflictError
from mdm.core.errors import NotFound, PreconditionFailed, ValidationFailed
from mdm.core.locks import domain_write_lock
from mdm.golden.models import Customer, GoldenRecord, MergeLink, SurvivorshipRuleConfig
from mdm.golden.rules import SurvivorshipRule, effective_rules, rules_from_rows
from mdm.golden.schema import (
    attribute_columns,
    canonical_values,
    golden_model,
    golden_values,
    to_python,
)
from mdm.golden.survivorship import survive
from mdm.publishing.services import EventSpec, change_events_emit
from mdm.sources.selectors import LinkedRecord, golden_ids_for_keys, linked_records


def survivorship_rules(domain: str) -> dict[str, SurvivorshipRule]:
    """The configured rules of a domain over the defaults (most recent; lists aggregate)."""
    rows = SurvivorshipRuleConfig.objects.filter(domain=domain, is_active=True) \
        .values("attribute", "strategy", "source_priority", "fallback")
    return effective_rules(domain, rules_from_rows(domain, rows))


@dataclass
class GoldenChange:
    """What happened to one golden record: created, updated, retired or unchanged."""

    golden_id: uuid.UUID
    action: str
    version: int


@transaction.atomic
def golden_records_survive(*, domain: str, golden_ids: Iterable[uuid.UUID],
                           origin_source: str = "", actor: Any = None,
                           caused_at: datetime | None = None, reason: str = "",
                           joined: Iterable[int] = ()) -> list[GoldenChange]:
    """Recompute golden records from their linked source records and store what changed.

    A golden id with no record yet is created; one whose linked records are all gone is
    retired. Unchanged records are left alone (no new version, no event). ``caused_at`` is
    when the source data behind the change arrived (for sync-lag measurement). ``joined``
    are source records linked to their golden record just now (new, matched, merged in):
    their values arrive for the first time, so they are no concurrent write.
    """
    domain_write_lock(domain)
    model = golden_model(domain)
    ids = sorted(set(golden_ids))
    linked = linked_records(domain=domain, golden_ids=ids)
    existing = {g.id: g for g in model.objects.select_for_update().filter(id__in=ids)}
    rules = survivorship_rules(domain)
    survived = {gid: survive(domain, linked.get(gid, []), rules,
                             existing[gid].pins if gid in existing else None)
                for gid in ids if gid in existing or gid in linked}
    if domain == "contract":
        _resolve_customer_refs(survived)
    holds = _holds(domain, existing, survived, linked, origin_source, set(joined))
    created, updated, events, changes = [], [], [], []
    for golden_id, (values, lineage) in survived.items():
        current = existing.get(golden_id)
        held = holds.get(golden_id, {})
        _keep_held(values, lineage, held)
        record, action, before, after = _apply(model, domain, golden_id, current, values,
                                               lineage, held,
                                               has_records=bool(linked.get(golden_id)))
        if action == "unchanged":
            changes.append(GoldenChange(golden_id, action, record.version))
            continue
        (created if action == "created" else updated).append(record)
        changed = _changes(before, after)
        echo = _origin_agrees(linked.get(golden_id, []), origin_source, changed)
        events.append(EventSpec(
            type=f"mdm.{domain}.{action}", domain=domain, golden_id=record.id,
            version=record.version, origin_source=origin_source, caused_at=caused_at,
            data={"values": after, "changed": changed, "origin_echo": echo}))
        changes.append(GoldenChange(golden_id, action, record.version))
    bulk_save_with_history(
        model, created=created, updated=updated, user=actor,
        update_fields=["version", "status", "merged_into", "lineage", "holds", "updated_at",
                       *attribute_columns(domain).values()],
        reason=reason or (f"ingest from {origin_source}" if origin_source else ""))
    change_events_emit(events=events)
    return changes


def _holds(domain: str, existing: dict[uuid.UUID, GoldenRecord],
           survived: dict[uuid.UUID, tuple[dict, dict]],
           linked: dict[uuid.UUID, list[LinkedRecord]], origin_source: str,
           joined: set[int]) -> dict[uuid.UUID, dict[str, Any]]:
    """Attributes whose change must wait (approval) or stop (block): the conflict
    policies decide; changes already waiting stay held."""
    from mdm.stewardship.services import ProposedChange, conflicts_from_changes

    proposals = []
    for golden_id, (values, lineage) in survived.items():
        current = existing.get(golden_id)
        if current is None or current.status != GoldenRecord.Status.ACTIVE:
            continue
        before = canonical_values(current, domain)
        after = {name: values.get(name) for name in before.keys() | values.keys()}
        pinned = {name for name, entry in lineage.items() if entry.get("rule") == "pinned"}
        proposals.append(ProposedChange(golden_id=golden_id, before=before, after=after,
                                        held=dict(current.holds or {}),
                                        records=linked.get(golden_id, []), pinned=pinned,
                                        lineage_before=current.lineage or {},
                                        lineage_after=lineage, joined=joined))
    return conflicts_from_changes(domain=domain, proposals=proposals,
                                  origin_source=origin_source)


def _keep_held(values: dict[str, Any], lineage: dict[str, Any], holds: dict[str, Any]) -> None:
    for attribute, hold in holds.items():
        if "value" not in hold:
            continue  # an accepted-change marker, cleared by the policy check
        values[attribute] = hold["value"]
        lineage[attribute] = {"rule": "held", **{k: v for k, v in hold.items() if k != "value"}}


def _apply(model: type[GoldenRecord], domain: str, golden_id: uuid.UUID,
           current: GoldenRecord | None, values: dict[str, Any], lineage: dict[str, Any],
           holds: dict[str, Any], *, has_records: bool
           ) -> tuple[GoldenRecord, str, dict[str, Any], dict[str, Any]]:
    """Set the survived values on the record; say whether it was created, changed or not,
    with its values before and after."""
    status = GoldenRecord.Status.ACTIVE if has_records else GoldenRecord.Status.RETIRED
    if current and current.status == GoldenRecord.Status.MERGED and \
            status == GoldenRecord.Status.RETIRED:
        status = GoldenRecord.Status.MERGED  # merged away: stays a pointer to its survivor
    record = current or model(id=golden_id, version=1)
    before = golden_values(record) if current else {}
    columns = attribute_columns(domain)
    for attribute, column in columns.items():
        setattr(record, column, to_python(model, column, values.get(attribute)))
    record.lineage = lineage
    holds_changed = (current.holds if current else {}) != holds
    record.holds = holds
    after = golden_values(record)
    if current is None:
        record.status = status
        return record, "created", before, after
    if after == before and current.status == status and not holds_changed:
        return record, "unchanged", before, after
    action = "retired" if status == GoldenRecord.Status.RETIRED else "updated"
    record.status = status
    if status == GoldenRecord.Status.ACTIVE:
        record.merged_into = None
    record.version += 1
    record.updated_at = timezone.now()
    return record, action, before, after


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: {"before": before.get(name), "after": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)}


def _origin_agrees(records: list[LinkedRecord], origin_source: str,
                   changed: dict[str, Any]) -> bool:
    """True when every changed golden value is what the origin source itself holds: then
    sending the change back to that source would only echo its own data."""
    own = [r.attributes for r in records if r.source == origin_source]
    if not own:
        return False
    return all(any(_same(attributes.get(name), change["after"]) for attributes in own)
               for name, change in changed.items())


def _same(source_value: Any, golden_value: Any) -> bool:
    return source_value == golden_value or (golden_value is None and not source_value)


def _resolve_customer_refs(survived: dict[uuid.UUID, tuple[dict, dict]]) -> None:
    """Contracts: replace the surviving customer_ref (a source key) by the golden customer."""
    wanted = {
        golden_id: (lineage["customer_ref"]["source"], values["customer_ref"])
        for golden_id, (values, lineage) in survived.items()
        if values.get("customer_ref") and "source" in lineage["customer_ref"]
    }
    found = golden_ids_for_keys(domain="customer", keys=wanted.values())
    survivors = _survivors(Customer, set(found.values()))
    for golden_id, (values, lineage) in survived.items():
        if lineage.get("customer_ref", {}).get("rule") == "pinned":
            continue  # the steward pinned the golden customer id itself
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


# --- steward actions -------------------------------------------------------------------

def _locked(domain: str, golden_id: uuid.UUID | str,
            expected_version: int | None = None) -> GoldenRecord:
    """The golden record, row-locked, after checking the writer's base version."""
    domain_write_lock(domain)
    record = golden_model(domain).objects.select_for_update().filter(pk=golden_id).first()
    if record is None:
        raise NotFound(f"No {domain} golden record {golden_id}.")
    if expected_version is not None and record.version != expected_version:
        raise PreconditionFailed(
            f"The record is at version {record.version}, not {expected_version}: someone "
            "changed it since you read it. Read it again and retry.",
            fields={"If-Match": [f"current version is {record.version}"]})
    return record


def _pin(value: Any, actor: Any, reason: str) -> dict[str, Any]:
    """A steward override: the value, who set it, when and why."""
    return {"value": value, "by": getattr(actor, "username", ""),
            "at": timezone.now().isoformat(), "reason": reason}


def _recompute(domain: str, golden_ids: Iterable[uuid.UUID], actor: Any, reason: str,
               joined: Iterable[int] = ()) -> None:
    golden_records_survive(domain=domain, golden_ids=golden_ids, actor=actor, reason=reason,
                           caused_at=timezone.now(), joined=joined)


def _save_steward_fields(record: GoldenRecord, fields: list[str]) -> None:
    record.save(update_fields=fields)  # a history row; the recompute then bumps the version


@transaction.atomic
def golden_record_pin(*, domain: str, golden_id: uuid.UUID | str, values: dict[str, Any],
                      actor: Any, reason: str = "",
                      expected_version: int | None = None) -> GoldenRecord:
    """Steward override: these values win over every survivorship rule until unpinned.
    Values are standardised like incoming ones; a bad value is refused (400)."""
    record = _locked(domain, golden_id, expected_version)
    record.pins = {**(record.pins or {}), **{
        attribute: _pin(value, actor, reason)
        for attribute, value in _standardised(domain, values).items()}}
    _save_steward_fields(record, ["pins"])
    _recompute(domain, [record.id], actor, reason or "steward override")
    return golden_model(domain).objects.get(pk=record.id)


@transaction.atomic
def golden_record_unpin(*, domain: str, golden_id: uuid.UUID | str, attributes: list[str],
                        actor: Any, expected_version: int | None = None) -> GoldenRecord:
    """Remove steward overrides: survivorship decides these attributes again."""
    record = _locked(domain, golden_id, expected_version)
    record.pins = {k: v for k, v in (record.pins or {}).items() if k not in attributes}
    _save_steward_fields(record, ["pins"])
    _recompute(domain, [record.id], actor, f"unpinned {', '.join(attributes)}")
    return golden_model(domain).objects.get(pk=record.id)


@transaction.atomic
def golden_record_hold_release(*, domain: str, golden_id: uuid.UUID, attribute: str,
                               keep_current: bool, actor: Any, reason: str,
                               accepted: Any = None) -> None:
    """End a hold: let survivorship decide again with the ``accepted`` value not questioned
    by the policies again (approved), or pin the held value so it stays (rejected)."""
    record = _locked(domain, golden_id)
    hold = (record.holds or {}).get(attribute)
    if hold is None:
        return
    record.holds = {k: v for k, v in record.holds.items() if k != attribute}
    if accepted is not None:
        record.holds[attribute] = {"accepted": accepted}
    fields = ["holds"]
    if keep_current:
        record.pins = {**(record.pins or {}), attribute: _pin(hold["value"], actor, reason)}
        fields.append("pins")
    _save_steward_fields(record, fields)
    _recompute(domain, [record.id], actor, reason)


def _standardised(domain: str, values: dict[str, Any]) -> dict[str, Any]:
    from mdm.sources.standardisers import StandardisationError, standardise

    spec, clean, errors = get_domain(domain), {}, {}
    for name, value in values.items():
        attribute = spec.attribute(name)
        if attribute is None:
            errors[name] = [f"not a {domain} attribute"]
            continue
        try:
            items = value if attribute.many and isinstance(value, list) else [value]
            standard = [standardise(attribute.kind, item, {}) for item in items]
        except StandardisationError as exc:
            errors[name] = [str(exc)]
            continue
        if attribute.choices and any(s not in attribute.choices for s in standard if s):
            errors[name] = [f"must be one of {', '.join(attribute.choices)}"]
            continue
        clean[name] = [s for s in standard if s] if attribute.many else standard[0]
    if errors:
        raise ValidationFailed("Some values are not valid.", fields=errors)
    return clean


@transaction.atomic
def golden_record_revert(*, domain: str, golden_id: uuid.UUID | str, version: int, actor: Any,
                         expected_version: int | None = None) -> GoldenRecord:
    """Bring back the values of an earlier version by pinning the ones that differ now
    (so the revert holds against later source updates until a steward unpins)."""
    record = _locked(domain, golden_id, expected_version)
    past = record.history.filter(version=version).order_by("-history_date").first()
    if past is None:
        raise NotFound(f"{domain} {record.id} has no version {version}.")
    then, now = canonical_values(past.instance, domain), canonical_values(record, domain)
    pins = dict(record.pins or {})
    for attribute, value in then.items():
        if value != now.get(attribute) and attribute != "customer_ref":
            pins[attribute] = _pin(value, actor, f"revert to version {version}")
    record.pins = pins
    _save_steward_fields(record, ["pins"])
    _recompute(domain, [record.id], actor, f"revert to version {version}")
    return golden_model(domain).objects.get(pk=record.id)


# --- merge and unmerge -----------------------------------------------------------------

@transaction.atomic
def golden_records_merge(*, domain: str, survivor_id: uuid.UUID | str,
                         merged_ids: list[uuid.UUID | str], actor: Any = None,
                         reason: str = "") -> GoldenRecord:
    """Merge golden records into a survivor: their source records move to it, they become
    pointers to it (their ids keep resolving), and the survivor is recomputed."""
    from mdm.matching.services import match_candidates_close_merged
    from mdm.sources.selectors import source_record_ids_for_golden
    from mdm.sources.services import source_records_relink

    survivor = _locked(domain, survivor_id)
    others = [_locked(domain, m) for m in dict.fromkeys(str(m) for m in merged_ids)
              if str(m) != str(survivor.id)]
    if not others:
        raise ValidationFailed("Name at least one other golden record to merge.",
                               fields={"ids": ["at least two distinct records"]})
    for record in [survivor, *others]:
        if record.status != GoldenRecord.Status.ACTIVE:
            raise ConflictError(f"{domain} {record.id} is {record.status}; only active "
                                "records can be merged.")
    user = actor if getattr(actor, "pk", None) else None
    joined: list[int] = []
    for other in others:
        moved = source_record_ids_for_golden(domain=domain, golden_id=other.id)
        joined += moved
        source_records_relink(domain=domain, record_ids=moved, golden_id=survivor.id,
                              actor=user, reason=f"merged into {survivor.id}")
        MergeLink.objects.create(domain=domain, survivor_id=survivor.id, merged_id=other.id,
                                 source_record_ids=moved, merged_by=user, reason=reason)
        other.merged_into = survivor.id
        other.status = GoldenRecord.Status.MERGED
        other.version += 1
        other.save(update_fields=["merged_into", "status", "version", "updated_at"])
    _recompute(domain, [survivor.id], user, reason or "merge", joined)
    match_candidates_close_merged(domain=domain, golden_id=survivor.id, actor=user,
                                  reason=reason or "merge")
    survivor.refresh_from_db()
    change_events_emit(events=[EventSpec(
        type=f"mdm.{domain}.merged", domain=domain, golden_id=survivor.id,
        version=survivor.version, data={"values": golden_values(survivor), "changed": {},
                                        "merged_ids": [str(o.id) for o in others]})])
    _refresh_references(domain, [o.id for o in others], user)
    return survivor


@transaction.atomic
def golden_record_unmerge(*, domain: str, golden_id: uuid.UUID | str, source: str,
                          source_key: str, actor: Any = None,
                          expected_version: int | None = None,
                          ) -> tuple[GoldenRecord, GoldenRecord]:
    """Split one source record out of a golden record. If a merge brought it in, it goes
    back to the golden record it came from (revived with its own id, pins and history);
    otherwise it gets a new golden record. Both sides are recomputed."""
    from mdm.sources.selectors import source_record_find
    from mdm.sources.services import source_records_relink

    record = _locked(domain, golden_id, expected_version)
    found = source_record_find(domain=domain, source=source, source_key=source_key)
    if found is None or found.golden_id != record.id:
        raise NotFound(f"{source}:{source_key} is not linked to {domain} {record.id}.")
    link = next((m for m in MergeLink.objects.filter(survivor_id=record.id, undone_at=None)
                 if found.pk in m.source_record_ids), None)
    target_id = link.merged_id if link else uuid.uuid4()
    if link:
        _locked(domain, target_id)
    user = actor if getattr(actor, "pk", None) else None
    source_records_relink(domain=domain, record_ids=[found.pk], golden_id=target_id,
                          actor=user, reason=f"unmerged from {record.id}")
    if link and not _still_merged(link):
        link.undone_at = timezone.now()
        link.save(update_fields=["undone_at"])
    _recompute(domain, [record.id, target_id], user, f"unmerge {source}:{source_key}")
    model = golden_model(domain)
    remaining, split = model.objects.get(pk=record.id), model.objects.get(pk=target_id)
    change_events_emit(events=[EventSpec(
        type=f"mdm.{domain}.unmerged", domain=domain, golden_id=remaining.id,
        version=remaining.version, data={"values": golden_values(remaining), "changed": {},
                                         "split_off": str(split.id)})])
    _refresh_references(domain, [record.id, target_id], user)
    return remaining, split


def _still_merged(link: MergeLink) -> bool:
    from mdm.sources.selectors import source_record_ids_for_golden

    return bool(set(link.source_record_ids) & set(
        source_record_ids_for_golden(domain=link.domain, golden_id=link.survivor_id)))


def _refresh_references(domain: str, customer_ids: list[uuid.UUID], actor: Any) -> None:
    """Contracts of merged or split customers point at the right golden customer again."""
    if domain != "customer":
        return
    from mdm.golden.models import Contract

    contracts = list(Contract.objects.filter(customer_id__in=customer_ids)
                     .values_list("id", flat=True))
    if contracts:
        _recompute("contract", contracts, actor, "customer merged or split")
