"""How canonical attributes live on the golden models (column names and Python types)."""

from __future__ import annotations

from typing import Any

from django.db import models

from mdm.core.domains import get_domain
from mdm.golden.models import Contract, Customer, GoldenRecord, Product

GOLDEN_MODELS: dict[str, type[GoldenRecord]] = {
    "customer": Customer,
    "product": Product,
    "contract": Contract,
}


def golden_model(domain: str) -> type[GoldenRecord]:
    return GOLDEN_MODELS[domain]


def column_for(domain: str, attribute: str) -> str:
    """The model field holding ``attribute`` (``status`` is the record's own lifecycle)."""
    if attribute == "status":
        return f"{domain}_status"
    if attribute == "customer_ref":
        return "customer_id"
    return attribute


def golden_attribute_name(attribute: str) -> str:
    """The name a golden record shows an attribute under (a resolved reference drops _ref)."""
    return "customer" if attribute == "customer_ref" else attribute


def attribute_columns(domain: str) -> dict[str, str]:
    return {a.name: column_for(domain, a.name) for a in get_domain(domain).attributes}


def to_python(model: type[models.Model], column: str, value: Any) -> Any:
    """Convert a canonical JSON value into what the model field holds."""
    field = model._meta.get_field(column)
    if value is None:
        return field.get_default() if not field.null else None
    if isinstance(field, models.ForeignKey):
        return value
    return field.to_python(value)


def to_canonical(value: Any) -> Any:
    """A model value as JSON: dates as ISO text, decimals as plain text, UUIDs as text."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def golden_values(record: GoldenRecord) -> dict[str, Any]:
    """The canonical attribute values of a golden record (empty ones left out)."""
    domain = type(record).__name__.lower()
    values = {}
    for attribute, column in attribute_columns(domain).items():
        value = to_canonical(getattr(record, column))
        if value not in (None, "", []):
            values[golden_attribute_name(attribute)] = value
    return values


def canonical_values(record: GoldenRecord, domain: str) -> dict[str, Any]:
    """A golden record's values keyed by canonical attribute (``customer_ref`` holds the
    golden customer id), for comparing with freshly survived values."""
    return {attribute: to_canonical(getattr(record, column))
            for attribute, column in attribute_columns(domain).items()}
