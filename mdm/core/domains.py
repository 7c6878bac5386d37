"""The canonical data model: domains and their attributes.

Every stage reads this one description: mapping knows which standardiser to run for an
attribute, validation knows what is allowed, golden models mirror it column by column,
and match rules name the attributes they compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Attribute:
    """One canonical attribute of a domain.

    ``kind`` names the standardiser applied to every incoming value (see
    ``mdm.sources.standardisers.STANDARDISERS``); ``many`` attributes hold a list of
    distinct values; ``choices`` restricts an ``enum`` attribute.
    """

    name: str
    kind: str
    many: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    """A kind of master data with its attributes."""

    name: str
    attributes: tuple[Attribute, ...]
    label_attribute: str
    extra: dict = field(default_factory=dict)

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name)

    def attribute_names(self) -> list[str]:
        return [a.name for a in self.attributes]

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        return {a.name: a for a in self.attributes}


CUSTOMER = Domain(
    name="customer",
    label_attribute="name",
    attributes=(
        Attribute("party_type", "enum", choices=("person", "organisation")),
        Attribute("name", "name"),
        Attribute("name_zh", "name"),
        Attribute("name_latin", "name"),
        Attribute("national_id", "national_id"),
        Attribute("credit_code", "credit_code"),
        Attribute("emails", "email", many=True),
        Attribute("phones", "phone", many=True),
        Attribute("addresses", "text", many=True),
        Attribute("postal_code", "text"),
        Attribute("city", "text"),
        Attribute("region", "text"),
        Attribute("country", "country"),
        Attribute("birth_date", "date"),
        Attribute("other_ids", "text", many=True),
        Attribute("status", "enum", choices=("active", "inactive", "suspended")),
        Attribute("segment", "code"),
    ),
)

PRODUCT = Domain(
    name="product",
    label_attribute="name",
    attributes=(
        Attribute("sku", "sku"),
        Attribute("gtin", "gtin"),
        Attribute("name", "text"),
        Attribute("brand", "text"),
        Attribute("category", "text"),
        Attribute("unit", "code"),
        Attribute("list_price", "amount"),
        Attribute("currency", "currency"),
        Attribute("status", "enum", choices=("active", "inactive", "discontinued")),
    ),
)

CONTRACT = Domain(
    name="contract",
    label_attribute="contract_number",
    attributes=(
        Attribute("contract_number", "sku"),
        Attribute("customer_ref", "text"),
        Attribute("product_lines", "product_lines"),
        Attribute("amount", "amount"),
        Attribute("currency", "currency"),
        Attribute("start_date", "date"),
        Attribute("end_date", "date"),
        Attribute("signed_date", "date"),
        Attribute("status", "enum", choices=("draft", "active", "expired", "terminated")),
    ),
)

DOMAINS: dict[str, Domain] = {d.name: d for d in (CUSTOMER, PRODUCT, CONTRACT)}
DOMAIN_CHOICES = [(name, name.capitalize()) for name in DOMAINS]


def get_domain(name: str) -> Domain:
    """The domain called ``name``; raises ``KeyError`` for an unknown one."""
    return DOMAINS[name]
