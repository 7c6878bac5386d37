"""Golden records: one trusted record per real-world customer, product and contract.

Each column mirrors a canonical attribute in ``mdm.core.domains``; ``lineage`` says for
each attribute which source record and which rule produced the value.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models

from mdm.core.domains import DOMAIN_CHOICES
from mdm.core.history import history
from mdm.golden.rules import FALLBACK_CHOICES, MOST_RECENT, STRATEGY_CHOICES, rule_config_errors


class GoldenRecord(models.Model):
    """Fields every golden record has: id, version, status, merge pointer, lineage."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        MERGED = "merged", "merged into another"
        RETIRED = "retired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.UUIDField(null=True, blank=True)
    lineage = models.JSONField(default=dict, blank=True)
    pins = models.JSONField(
        default=dict, blank=True,
        help_text="steward overrides: attribute → {value, by, at, reason}; win until unpinned")
    holds = models.JSONField(
        default=dict, blank=True,
        help_text="attribute → {value, change_request}: kept while a change awaits approval")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Customer(GoldenRecord):
    """A person or an organisation."""

    party_type = models.CharField(max_length=20, blank=True)
    name = models.CharField(max_length=300, blank=True, db_index=True)
    name_zh = models.CharField(max_length=300, blank=True)
    name_latin = models.CharField(max_length=300, blank=True)
    national_id = models.CharField(max_length=18, blank=True, db_index=True)
    credit_code = models.CharField(max_length=18, blank=True, db_index=True)
    emails = models.JSONField(default=list, blank=True)
    phones = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    other_ids = models.JSONField(default=list, blank=True,
                                 help_text="passport, foreign social security and other numbers")
    segment = models.CharField(max_length=50, blank=True)
    customer_status = models.CharField("status", max_length=20, blank=True)

    history = history()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or str(self.id)


class Product(GoldenRecord):
    """A sellable item."""

    sku = models.CharField(max_length=100, blank=True, db_index=True)
    gtin = models.CharField(max_length=14, blank=True, db_index=True)
    name = models.CharField(max_length=300, blank=True)
    brand = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=200, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    list_price = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    product_status = models.CharField("status", max_length=20, blank=True)

    history = history()

    class Meta:
        ordering = ["sku", "id"]

    def __str__(self) -> str:
        return self.sku or self.name or str(self.id)


class Contract(GoldenRecord):
    """A contract with a customer, its product lines and amount."""

    contract_number = models.CharField(max_length=100, blank=True, db_index=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="contracts")
    product_lines = models.JSONField(default=list, blank=True)
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    signed_date = models.DateField(null=True, blank=True)
    contract_status = models.CharField("status", max_length=20, blank=True)

    history = history()

    class Meta:
        ordering = ["contract_number", "id"]

    def __str__(self) -> str:
        return self.contract_number or str(self.id)


class MergeLink(models.Model):
    """One merge: which golden record was merged into which, and which source records moved.
    The merge tree that unmerge walks back."""

    domain = models.CharField(max_length=20)
    survivor_id = models.UUIDField(db_index=True)
    merged_id = models.UUIDField(db_index=True)
    source_record_ids = models.JSONField(default=list)
    merged_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    merged_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]


class SurvivorshipRuleConfig(models.Model):
    """How one golden attribute's value is chosen (see ``mdm.golden.rules``)."""

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    attribute = models.CharField(max_length=60)
    strategy = models.CharField(max_length=20, choices=STRATEGY_CHOICES)
    source_priority = models.JSONField(default=list, blank=True,
                                       help_text="Source codes, most trusted first "
                                       "(source_priority only).")
    fallback = models.CharField(max_length=20, choices=FALLBACK_CHOICES, default=MOST_RECENT,
                                help_text="Settles ties between different values.")
    is_active = models.BooleanField(default=True)

    history = history()

    class Meta:
        ordering = ["domain", "attribute", "id"]
        constraints = [models.UniqueConstraint(fields=["domain", "attribute"],
                                               condition=models.Q(is_active=True),
                                               name="one_active_survivorship_rule")]

    def __str__(self) -> str:
        return f"{self.domain}.{self.attribute} {self.strategy}"

    def clean(self) -> None:
        errors = rule_config_errors(self.domain, self.attribute, self.strategy,
                                    self.source_priority, self.fallback)
        if errors:
            raise ValidationError(errors)
