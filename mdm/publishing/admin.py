from django.contrib import admin

from mdm.publishing.models import ChangeEvent


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "type", "golden_id", "version", "origin_source", "created_at"]
    list_filter = ["type", "domain", "origin_source"]
    search_fields = ["golden_id"]
    readonly_fields = [f.name for f in ChangeEvent._meta.fields]
