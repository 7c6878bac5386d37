"""Permission helpers shared by the API views."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from mdm.api.authentication import SourcePrincipal


def is_source(user: Any) -> bool:
    return isinstance(user, SourcePrincipal)


class HasModelPerms(BasePermission):
    """A user (not a source system) holding every permission in the view's
    ``read_perms`` (safe methods) or ``write_perms`` (others)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated or is_source(user):
            return False
        perms = view.read_perms if request.method in ("GET", "HEAD", "OPTIONS") \
            else view.write_perms
        return user.has_perms(perms)


def may_act_on_domain(user: Any, domain: str) -> bool:
    """Stewards work only on their domains (a StewardScope with domains; none: all)."""
    from mdm.stewardship.selectors import steward_domains

    domains = steward_domains(user)
    return domains is None or domain in domains
