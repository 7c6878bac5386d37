"""Admin for conflict policies, alert channels and steward scopes; conflicts, change
requests and notifications are shown read-only (they change through services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from mdm.stewardship.models import (
    AlertChannel,
    ChangeRequest,
    Conflict,
    ConflictPolicy,
    Decision,
    Notification,
    StewardScope,
)


@admin.register(ConflictPolicy)
class ConflictPolicyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "domain", "attribute", "kind", "condition", "params", "severity",
                    "handling", "approval_levels", "approver_group", "is_active"]
    list_filter = ["domain", "kind", "severity", "handling", "is_active"]


@admin.register(AlertChannel)
class AlertChannelAdmin(SimpleHistoryAdmin):
    list_display = ["name", "format", "url", "domains", "min_severity", "is_active"]
    list_filter = ["format", "is_active"]


@admin.register(StewardScope)
class StewardScopeAdmin(SimpleHistoryAdmin):
    list_display = ["user", "domains"]


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conflict)
class ConflictAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "domain", "attribute", "severity", "status", "golden_id",
                    "created_at"]
    list_filter = ["status", "severity", "kind", "domain"]
    search_fields = ["golden_id", "attribute", "detail"]


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    readonly_fields = ["level", "user", "approved", "comment", "decided_at"]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "domain", "attribute", "current_value", "proposed_value", "status",
                    "approval_levels", "approver_group", "created_at"]
    list_filter = ["status", "domain"]
    inlines = [DecisionInline]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "title", "created_at", "read_at"]
    list_filter = ["read_at"]
    readonly_fields = ["user", "conflict", "title", "body", "created_at"]
