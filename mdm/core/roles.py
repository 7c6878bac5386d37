"""Roles are Django groups with a fixed set of permissions, created on migrate."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

DATA_STEWARD = "data_steward"
APPROVER = "approver"
AUDITOR = "auditor"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    DATA_STEWARD: [
        "sources.view_sourcesystem", "sources.view_fieldmapping", "sources.view_valuemap",
        "sources.view_validationrule", "sources.view_sourcerecord",
        "sources.change_sourcerecord", "sources.view_ingestbatch",
        "sources.view_rejectedrecord", "golden.view_customer", "golden.view_product",
        "golden.view_contract", "publishing.view_changeevent",
        "publishing.view_subscription", "publishing.view_delivery",
        "publishing.change_subscription",
        "stewardship.view_conflict", "stewardship.change_conflict",
        "stewardship.view_changerequest", "stewardship.view_notification",
        "golden.change_customer", "golden.change_product", "golden.change_contract",
        "matching.view_matchrule", "matching.view_matchcandidate",
        "matching.change_matchcandidate", "matching.view_rematchrun", "matching.add_rematchrun",
    ],
    APPROVER: [
        "golden.view_customer", "golden.view_product", "golden.view_contract",
        "stewardship.view_conflict", "stewardship.view_changerequest",
        "stewardship.change_changerequest", "stewardship.view_notification",
    ],
    AUDITOR: [
        "sources.view_sourcesystem", "sources.view_fieldmapping", "sources.view_valuemap",
        "sources.view_validationrule", "sources.view_sourcerecord", "sources.view_ingestbatch",
        "sources.view_rejectedrecord", "golden.view_customer", "golden.view_product",
        "golden.view_contract", "publishing.view_changeevent",
        "publishing.view_subscription", "publishing.view_delivery",
        "stewardship.view_conflict", "stewardship.view_changerequest",
        "stewardship.view_conflictpolicy", "matching.view_matchrule",
        "matching.view_matchcandidate", "matching.view_rematchrun",
    ],
}


def roles_sync(**kwargs: object) -> None:
    """Create or update each role group with exactly its permissions."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted += list(Permission.objects.filter(content_type__app_label=app_label,
                                                     codename=codename))
        group.permissions.set(wanted)
