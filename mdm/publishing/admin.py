from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from mdm.publishing.models import ChangeEvent, Delivery, ReconciliationRun, Subscription


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "type", "golden_id", "version", "origin_source", "created_at"]
    list_filter = ["type", "domain", "origin_source"]
    search_fields = ["golden_id"]
    readonly_fields = [f.name for f in ChangeEvent._meta.fields]


@admin.register(Subscription)
class SubscriptionAdmin(SimpleHistoryAdmin):
    list_display = ["subscriber", "name", "domains", "mode", "transport", "is_active",
                    "fanned_out_seq", "acked_seq", "last_sent_at"]
    list_filter = ["mode", "transport", "is_active"]
    readonly_fields = ["fanned_out_seq", "acked_seq", "last_sent_at", "sending_until"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["seq", "subscription", "golden_id", "status", "attempts", "next_attempt_at",
                    "delivered_at", "lag_ms"]
    list_filter = ["status", "subscription"]
    readonly_fields = [f.name for f in Delivery._meta.fields]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = ["subscription", "method", "started_at", "checked", "in_sync", "different",
                    "missing", "unexpected", "republished"]
    list_filter = ["subscription", "method"]
    readonly_fields = [f.name for f in ReconciliationRun._meta.fields]
