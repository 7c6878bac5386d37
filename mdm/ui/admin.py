from django.contrib import admin

from mdm.ui.models import StewardAction


@admin.register(StewardAction)
class StewardActionAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by the web interface, never edited."""

    list_display = ("at", "user", "action", "target", "outcome", "message")
    list_filter = ("action", "outcome")
    search_fields = ("target", "message", "user__username", "request_id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
