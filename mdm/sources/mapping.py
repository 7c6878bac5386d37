"""Map a source's fields to canonical attributes and standardise the values.

Pure functions over a ``MappingConfig`` loaded once per batch; nothing here writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mdm.core.domains import Attribute, Domain, get_domain
from mdm.sources.models import FieldMapping, SourceSystem, ValueMap
from mdm.sources.standardisers import (
    StandardisationError,
    amount_currency_hint,
    has_han,
    standardise,
)

_SPLIT = re.compile(r"[;,/、；，\n]+")


@dataclass
class MappingConfig:
    """Everything needed to map one source's records of one domain."""

    source: SourceSystem
    domain: Domain
    mappings: list[FieldMapping]
    value_maps: dict[str, dict[str, str]]

    @classmethod
    def load(cls, source: SourceSystem, domain: str) -> MappingConfig:
        mappings = list(FieldMapping.objects.filter(source=source, domain=domain).order_by("id"))
        value_maps: dict[str, dict[str, str]] = {}
        for vm in ValueMap.objects.filter(source=source, domain=domain):
            value_maps.setdefault(vm.attribute, {})[vm.source_value.strip()] = vm.canonical_value
        return cls(source=source, domain=get_domain(domain), mappings=mappings,
                   value_maps=value_maps)

    @cached_property
    def mapped_plan(self) -> list[tuple[str, Attribute, str, dict]]:
        return [(m.source_field, self.domain.attribute(m.attribute), m.transform,
                 m.options or {}) for m in self.mappings if self.domain.attribute(m.attribute)]

    def field_plan(self, fields: dict[str, Any]) -> list[tuple[str, Attribute, str, dict]]:
        """(source field, attribute, transform, options) for each mapped field."""
        if self.mappings:
            return self.mapped_plan
        # No mappings configured: the source sends canonical attribute names.
        return [(name, self.domain.attribute(name), "", {}) for name in fields
                if self.domain.attribute(name)]


@dataclass
class MappedRecord:
    """The outcome of mapping one record: attributes, or reasons it cannot be used."""

    attributes: dict[str, Any] = field(default_factory=dict)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignored_fields: list[str] = field(default_factory=list)


def reason(attribute: str, message: str, *, source_field: str = "", value: Any = None) -> dict:
    """One quarantine reason in the shape stewards and API clients see."""
    entry: dict[str, Any] = {"attribute": attribute, "message": message}
    if source_field:
        entry["field"] = source_field
    if value is not None:
        entry["value"] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return entry


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def map_record(config: MappingConfig, fields: dict[str, Any],
               skip_fields: frozenset[str] = frozenset()) -> MappedRecord:
    """Map, value-map and standardise ``fields``; collect every problem, not just the first."""
    result = MappedRecord()
    used: set[str] = set(skip_fields)
    for source_field, attribute, transform, options in config.field_plan(fields):
        used.add(source_field)
        raw = fields.get(source_field)
        if is_empty(raw):
            continue
        values = _split(raw) if transform == "split" or (attribute.many and isinstance(raw, list)) \
            else [raw]
        for value in values:
            clean = _map_value(config, attribute, source_field, value, options, result)
            if clean is not None:
                _store(result.attributes, attribute, clean)
    result.ignored_fields = sorted(name for name in fields if name not in used)
    _derive(config.domain.name, result.attributes, fields)
    _refuse_forbidden(config, result)
    return result


def _split(raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return [v for v in raw if not is_empty(v)]
    return [part for part in _SPLIT.split(str(raw)) if part.strip()]


def _map_value(config: MappingConfig, attribute: Attribute, source_field: str, value: Any,
               options: dict, result: MappedRecord) -> Any:
    codes = config.value_maps.get(attribute.name)
    if codes is not None and not isinstance(value, (list, dict)):
        key = str(value).strip()
        mapped = codes.get(key) or _casefold_lookup(codes, key)
        if mapped is None:
            known = ", ".join(sorted(codes)[:20])
            result.reasons.append(reason(
                attribute.name, f"no value map for code '{key}' from {config.source.code} "
                f"(known codes: {known})", source_field=source_field, value=value))
            return None
        value = mapped
    try:
        clean = standardise(attribute.kind, value, options)
    except StandardisationError as exc:
        if options.get("on_invalid") == "drop":  # legacy data: keep the record, not the value
            return None
        result.reasons.append(reason(attribute.name, str(exc), source_field=source_field,
                                     value=value))
        return None
    if clean is not None and attribute.choices and clean not in attribute.choices:
        result.reasons.append(reason(
            attribute.name, f"'{clean}' is not one of {', '.join(attribute.choices)}",
            source_field=source_field, value=value))
        return None
    return clean


def _casefold_lookup(codes: dict[str, str], key: str) -> str | None:
    folded = key.casefold()
    for source_value, canonical in codes.items():
        if source_value.casefold() == folded:
            return canonical
    return None


def _store(attributes: dict[str, Any], attribute: Attribute, value: Any) -> None:
    if attribute.many:
        bucket = attributes.setdefault(attribute.name, [])
        if value not in bucket:
            bucket.append(value)
    else:
        attributes.setdefault(attribute.name, value)


def _derive(domain: str, attributes: dict[str, Any], fields: dict[str, Any]) -> None:
    """Fill attributes implied by others: name forms by script, currency from an amount."""
    if domain == "customer" and attributes.get("name"):
        name = attributes["name"]
        attributes.setdefault("name_zh" if has_han(name) else "name_latin", name)
    if domain == "customer" and not attributes.get("name"):
        fallback = attributes.get("name_zh") or attributes.get("name_latin")
        if fallback:
            attributes["name"] = fallback
    priced = any(attributes.get(name) is not None for name in ("amount", "list_price"))
    if priced and not attributes.get("currency"):
        hints = (amount_currency_hint(raw) for raw in fields.values() if isinstance(raw, str))
        hint = next((h for h in hints if h), None)
        if hint:
            attributes["currency"] = hint


def _refuse_forbidden(config: MappingConfig, result: MappedRecord) -> None:
    for name in list(result.attributes):
        if not config.source.may_write(config.domain.name, name):
            result.refused[name] = {
                "value": result.attributes.pop(name),
                "reason": f"source {config.source.code} may not write "
                          f"{config.domain.name}.{name}",
            }
