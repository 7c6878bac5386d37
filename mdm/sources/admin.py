"""Admin for source systems and their mapping, value maps, rules, records and batches."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from mdm.sources.models import (
    FieldMapping,
    IngestBatch,
    RejectedRecord,
    SourceRecord,
    SourceSystem,
    ValidationRule,
    ValueMap,
)
from mdm.sources.services import source_records_reprocess, source_system_rotate_key


class FieldMappingInline(admin.TabularInline):
    model = FieldMapping
    extra = 0


class ValueMapInline(admin.TabularInline):
    model = ValueMap
    extra = 0


@admin.register(SourceSystem)
class SourceSystemAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "is_source", "is_subscriber", "is_active", "api_key_prefix",
                    "connector", "pull_interval_minutes", "last_pulled_at"]
    list_filter = ["is_source", "is_subscriber", "is_active", "connector"]
    search_fields = ["code", "name"]
    readonly_fields = ["api_key_prefix", "last_pulled_at", "last_pull_error", "pull_cursor"]
    inlines = [FieldMappingInline, ValueMapInline]
    actions = ["rotate_api_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def rotate_api_key(self, request: HttpRequest, queryset: QuerySet[SourceSystem]) -> None:
        for source in queryset:
            key = source_system_rotate_key(source=source)
            self.message_user(request, f"New API key for {source.code}: {key}  (copy it now; "
                              "it is not shown again)", messages.WARNING)


@admin.register(FieldMapping)
class FieldMappingAdmin(SimpleHistoryAdmin):
    list_display = ["source", "domain", "source_field", "attribute", "transform", "options"]
    list_filter = ["source", "domain"]
    search_fields = ["source_field", "attribute"]


@admin.register(ValueMap)
class ValueMapAdmin(SimpleHistoryAdmin):
    list_display = ["source", "domain", "attribute", "source_value", "canonical_value"]
    list_filter = ["source", "domain", "attribute"]


@admin.register(ValidationRule)
class ValidationRuleAdmin(SimpleHistoryAdmin):
    list_display = ["domain", "attribute", "rule", "params", "source", "is_active"]
    list_filter = ["domain", "rule", "is_active"]


@admin.register(SourceRecord)
class SourceRecordAdmin(SimpleHistoryAdmin):
    list_display = ["source", "domain", "source_key", "status", "golden_id", "source_updated_at",
                    "received_at"]
    list_filter = ["status", "domain", "source"]
    search_fields = ["source_key", "golden_id"]
    readonly_fields = [f.name for f in SourceRecord._meta.fields]
    actions = ["reprocess"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Re-process through mapping and validation",
                  permissions=["change"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[SourceRecord]) -> None:
        results = source_records_reprocess(record_ids=queryset.values_list("pk", flat=True),
                                           actor=request.user)
        counts: dict[str, int] = {}
        for result in results:
            for outcome, n in result.counts.items():
                counts[outcome] = counts.get(outcome, 0) + n
        self.message_user(request, f"Re-processed: {counts}")


@admin.register(IngestBatch)
class IngestBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "source", "channel", "origin", "received_at", "finished_at", "counts"]
    list_filter = ["channel", "source"]
    readonly_fields = [f.name for f in IngestBatch._meta.fields]


@admin.register(RejectedRecord)
class RejectedRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "source", "domain", "source_key", "line", "received_at", "reasons"]
    list_filter = ["source", "domain"]
    readonly_fields = [f.name for f in RejectedRecord._meta.fields]
