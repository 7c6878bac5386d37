"""Read-mostly admin for golden records (changes go through services, not the admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from mdm.golden.models import Contract, Customer, MergeLink, Product, SurvivorshipRuleConfig


class GoldenAdmin(SimpleHistoryAdmin):
    list_filter = ["status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(GoldenAdmin):
    list_display = ["name", "party_type", "national_id", "credit_code", "city", "status",
                    "version"]
    search_fields = ["name", "name_zh", "name_latin", "national_id", "credit_code"]


@admin.register(Product)
class ProductAdmin(GoldenAdmin):
    list_display = ["sku", "gtin", "name", "brand", "list_price", "currency", "status", "version"]
    search_fields = ["sku", "gtin", "name"]


@admin.register(Contract)
class ContractAdmin(GoldenAdmin):
    list_display = ["contract_number", "customer", "amount", "currency", "contract_status",
                    "status", "version"]
    search_fields = ["contract_number"]


@admin.register(SurvivorshipRuleConfig)
class SurvivorshipRuleConfigAdmin(SimpleHistoryAdmin):
    list_display = ["domain", "attribute", "strategy", "source_priority", "fallback", "is_active"]
    list_filter = ["domain", "strategy", "is_active"]
    search_fields = ["attribute"]


@admin.register(MergeLink)
class MergeLinkAdmin(admin.ModelAdmin):
    list_display = ["domain", "survivor_id", "merged_id", "merged_by", "merged_at", "undone_at"]
    list_filter = ["domain"]
    readonly_fields = [f.name for f in MergeLink._meta.fields]
