"""Who may see and do what in the web interface, and the audit trail of every action.

Pages need a login and a view permission; actions are POSTs (CSRF-checked by Django)
that need a change permission and are recorded as ``StewardAction`` rows whether they
succeed or are refused. Auditors hold only view permissions, so every action refuses
them. Stewards scoped to domains see and act on those domains only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mdm.core.domains import DOMAINS
from mdm.core.errors import MDMError
from mdm.stewardship.selectors import steward_domains
from mdm.ui.services import steward_action_record

View = Callable[..., HttpResponse]


def page(*perms: str) -> Callable[[View], View]:
    """A page: logged in and holding at least one of ``perms`` (none: any logged-in user)."""
    def wrap(view: View) -> View:
        @login_required
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if perms and not any(request.user.has_perm(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return inner
    return wrap


def action(name: str, *perms: str) -> Callable[[View], View]:
    """A POST action, audited. A refused permission answers 403; an ``MDMError`` from the
    service becomes an error message on the page the steward came from."""
    def wrap(view: View) -> View:
        @login_required
        @require_POST
        @functools.wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            target = ":".join(str(v) for v in kwargs.values())
            if perms and not any(request.user.has_perm(p) for p in perms):
                audit(request, name, target, refused="permission denied")
                raise PermissionDenied
            try:
                response = view(request, *args, **kwargs)
            except MDMError as error:
                audit(request, name, target, refused=error.message,
                      detail={"code": error.code, "fields": error.fields})
                messages.error(request, error.message)
                return redirect(back_url(request))
            audit(request, name, target)
            return response
        return inner
    return wrap


def audit(request: HttpRequest, name: str, target: str, *, refused: str = "",
          detail: dict[str, Any] | None = None) -> None:
    steward_action_record(user=request.user, action=name, target=target, refused=refused,
                          detail=detail)


def back_url(request: HttpRequest, default: str = "/") -> str:
    """Where to send the steward after an action: ``next``, else the page they came from."""
    for candidate in (request.POST.get("next"), request.GET.get("next"),
                      request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
                candidate, allowed_hosts={request.get_host()},
                require_https=request.is_secure()):
            return candidate
    return default


def visible_domains(user: Any) -> list[str]:
    """The domains a user may see, in the hub's order."""
    scoped = steward_domains(user)
    return [d for d in DOMAINS if scoped is None or d in scoped]


def check_domain(user: Any, domain: str) -> None:
    """404 for an unknown domain or one outside the user's scope (do not reveal it)."""
    if domain not in visible_domains(user):
        raise Http404(domain)
