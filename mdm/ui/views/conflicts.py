"""The conflict queue and approvals: what sources disagree on, and held changes that wait
for an approver."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mdm.core.errors import NotFound, ValidationFailed
from mdm.stewardship.models import ChangeRequest, Conflict, ConflictKind, Severity
from mdm.stewardship.selectors import (
    change_request_get,
    change_requests_list,
    conflict_get,
    conflicts_list,
    golden_value_now,
)
from mdm.stewardship.services import (
    BULK_SEVERITIES,
    change_request_approve,
    change_request_reject,
    conflict_resolve,
    conflicts_bulk_resolve,
)
from mdm.ui.access import action, page, visible_domains
from mdm.ui.views.common import paginate
from mdm.ui.views.review import display_value

PAGE_SIZE = 25
ALL = "all"

SEVERITY_LABELS = {Severity.LOW: gettext_lazy("low"), Severity.MEDIUM: gettext_lazy("medium"),
                   Severity.HIGH: gettext_lazy("high"),
                   Severity.CRITICAL: gettext_lazy("critical")}
KIND_LABELS = {
    ConflictKind.VALUE_DISAGREEMENT: gettext_lazy("value disagreement"),
    ConflictKind.CONCURRENT_WRITE: gettext_lazy("concurrent write"),
    ConflictKind.PERMISSION: gettext_lazy("permission violation"),
    ConflictKind.VALIDATION: gettext_lazy("validation failure"),
    ConflictKind.POTENTIAL_DUPLICATE: gettext_lazy("potential duplicate"),
}
STATUS_LABELS = {
    Conflict.Status.OPEN: gettext_lazy("open"),
    Conflict.Status.AWAITING_APPROVAL: gettext_lazy("awaiting approval"),
    Conflict.Status.RESOLVED: gettext_lazy("resolved"),
    Conflict.Status.AUTO_RESOLVED: gettext_lazy("resolved by survivorship"),
}
REQUEST_LABELS = {ChangeRequest.Status.PENDING: gettext_lazy("pending"),
                  ChangeRequest.Status.APPROVED: gettext_lazy("approved"),
                  ChangeRequest.Status.REJECTED: gettext_lazy("rejected")}


# --- conflicts ---------------------------------------------------------------------------

@page("stewardship.view_conflict")
def conflicts(request: HttpRequest) -> HttpResponse:
    """The conflict queue: open ones unless asked otherwise, filtered like the dashboard
    links (``?status=open&severity=high``)."""
    domains = visible_domains(request.user)
    filters = _conflict_filters(request, domains)
    status = "" if filters["status"] == ALL else filters["status"]
    queue = conflicts_list(user=request.user, status=status, severity=filters["severity"],
                           domain=filters["domain"], kind=filters["kind"]) \
        .filter(domain__in=domains)
    page_obj = paginate(request, queue, PAGE_SIZE)
    for conflict in page_obj.object_list:
        _label(conflict)
        conflict.bulk = conflict.status == Conflict.Status.OPEN and \
            conflict.severity in BULK_SEVERITIES
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(request, "ui/conflicts.html", {
        "nav": "conflicts", "page_obj": page_obj, "filters": filters, "query": query,
        "domains": domains, "statuses": [(ALL, _("all")), *STATUS_LABELS.items()],
        "severities": list(SEVERITY_LABELS.items()), "kinds": list(KIND_LABELS.items()),
        "any_bulk": any(c.bulk for c in page_obj.object_list)})


@page("stewardship.view_conflict")
def conflict_detail(request: HttpRequest, conflict_id: int) -> HttpResponse:
    conflict = conflict_get(user=request.user, conflict_id=conflict_id)
    if conflict is None or conflict.domain not in visible_domains(request.user):
        raise Http404(conflict_id)
    _label(conflict)
    found, value_now = golden_value_now(domain=conflict.domain, golden_id=conflict.golden_id,
                                        attribute=conflict.attribute)
    resolution = conflict.resolution or {}
    return render(request, "ui/conflict.html", {
        "nav": "conflicts", "conflict": conflict,
        "candidates": [{**c, "index": i, "shown": display_value(c.get("value")),
                        "at_time": parse_datetime(str(c.get("at") or ""))}
                       for i, c in enumerate(conflict.candidates or [])],
        "current": display_value(conflict.current_value), "golden_found": found,
        "value_now": display_value(value_now),
        "resolution_value": display_value(resolution["value"]) if "value" in resolution
        else None,
        "change_request": getattr(conflict, "change_request", None),
        "may_choose": bool(conflict.golden_id) and
        conflict.kind == ConflictKind.VALUE_DISAGREEMENT,
        "resolvable": conflict.status == Conflict.Status.OPEN})


@action("conflict.resolve", "stewardship.change_conflict")
def conflict_resolve_action(request: HttpRequest, conflict_id: int) -> HttpResponse:
    """Close a conflict with a comment; for a value conflict optionally keep one
    candidate's value (pinned on the golden record)."""
    conflict = _visible_conflict(request, conflict_id)
    comment = _comment(request)
    choice = request.POST.get("choice", "")
    value, use_value = None, False
    if choice:
        try:
            value = (conflict.candidates or [])[int(choice)]["value"]
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise ValidationFailed(_("Choose one of the candidate values."),
                                   fields={"choice": ["unknown"]}) from exc
        use_value = True
    conflict_resolve(conflict_id=conflict.pk, user=request.user, comment=comment,
                     value=value, use_value=use_value)
    messages.success(request, _("Conflict #%(id)s resolved.") % {"id": conflict.pk})
    return redirect(reverse("ui:conflict", args=[conflict.pk]))


@action("conflict.bulk_resolve", "stewardship.change_conflict")
def conflicts_bulk_resolve_view(request: HttpRequest) -> HttpResponse:
    """Close many open low- and medium-severity conflicts with one comment, all or none."""
    try:
        ids = sorted({int(i) for i in request.POST.getlist("ids")})
    except ValueError as exc:
        raise ValidationFailed(_("Unknown conflict ids."), fields={"ids": ["invalid"]}) from exc
    resolved = conflicts_bulk_resolve(conflict_ids=ids, user=request.user,
                                      comment=_comment(request))
    messages.success(request, _("%(count)d conflicts resolved.") % {"count": len(resolved)})
    return redirect(_back_to_queue(request))


def _conflict_filters(request: HttpRequest, domains: list[str]) -> dict[str, str]:
    params = request.GET

    def allowed(name: str, choices: Any, default: str = "") -> str:
        value = params.get(name, default)
        return value if value in choices else default

    return {"status": allowed("status", [ALL, *STATUS_LABELS], Conflict.Status.OPEN),
            "severity": allowed("severity", SEVERITY_LABELS),
            "domain": allowed("domain", domains), "kind": allowed("kind", KIND_LABELS)}


def _back_to_queue(request: HttpRequest) -> str:
    url = reverse("ui:conflicts")
    query = request.POST.get("query", "")
    return f"{url}?{query}" if query and "//" not in query else url


def _visible_conflict(request: HttpRequest, conflict_id: int) -> Conflict:
    conflict = conflict_get(user=request.user, conflict_id=conflict_id)
    if conflict is None or conflict.domain not in visible_domains(request.user):
        raise NotFound(_("No conflict %(id)s.") % {"id": conflict_id})
    return conflict


def _label(conflict: Conflict) -> None:
    conflict.kind_label = KIND_LABELS.get(conflict.kind, conflict.kind)
    conflict.status_label = STATUS_LABELS.get(conflict.status, conflict.status)
    conflict.severity_label = SEVERITY_LABELS.get(conflict.severity, conflict.severity)


# --- approvals ---------------------------------------------------------------------------

@page("stewardship.view_changerequest")
def approvals(request: HttpRequest) -> HttpResponse:
    """Change requests of the user's domains, pending first."""
    status = request.GET.get("status", "")
    status = status if status in REQUEST_LABELS else ""
    requests = change_requests_list(user=request.user, status=status)
    page_obj = paginate(request, requests, PAGE_SIZE)
    for change in page_obj.object_list:
        _label_request(change)
    return render(request, "ui/approvals.html", {
        "nav": "approvals", "page_obj": page_obj, "status": status,
        "statuses": list(REQUEST_LABELS.items())})


@page("stewardship.view_changerequest")
def approval_detail(request: HttpRequest, change_request_id: int) -> HttpResponse:
    change = change_request_get(user=request.user, change_request_id=change_request_id)
    if change is None:
        raise Http404(change_request_id)
    _label_request(change)
    found, value_now = golden_value_now(domain=change.domain, golden_id=change.golden_id,
                                        attribute=change.attribute)
    decisions = list(change.decisions.all())
    return render(request, "ui/approval.html", {
        "nav": "approvals", "change": change, "decisions": decisions,
        "approved_levels": sum(1 for d in decisions if d.approved),
        "value_now": display_value(value_now), "golden_found": found,
        "pending": change.status == ChangeRequest.Status.PENDING})


@action("approval.approve", "stewardship.change_changerequest")
def approval_approve(request: HttpRequest, change_request_id: int) -> HttpResponse:
    _visible_request(request, change_request_id)
    change = change_request_approve(change_request_id=change_request_id, user=request.user,
                                    comment=_comment(request))
    if change.status == ChangeRequest.Status.APPROVED:
        messages.success(request, _("Approved: the new value is on the golden record."))
    else:
        messages.success(request, _("Approved at your level; another approver decides the "
                                    "next level."))
    return redirect(reverse("ui:approval", args=[change_request_id]))


@action("approval.reject", "stewardship.change_changerequest")
def approval_reject(request: HttpRequest, change_request_id: int) -> HttpResponse:
    _visible_request(request, change_request_id)
    change_request_reject(change_request_id=change_request_id, user=request.user,
                          comment=_comment(request))
    messages.success(request, _("Rejected: the golden record keeps its current value."))
    return redirect(reverse("ui:approval", args=[change_request_id]))


def _visible_request(request: HttpRequest, change_request_id: int) -> ChangeRequest:
    change = change_request_get(user=request.user, change_request_id=change_request_id)
    if change is None:
        raise NotFound(_("No change request %(id)s.") % {"id": change_request_id})
    return change


def _label_request(change: ChangeRequest) -> None:
    change.status_label = REQUEST_LABELS.get(change.status, change.status)
    change.old_shown = display_value(change.current_value)
    change.new_shown = display_value(change.proposed_value)


# --- shared ------------------------------------------------------------------------------

def _comment(request: HttpRequest) -> str:
    comment = request.POST.get("comment", "").strip()
    if not comment:
        raise ValidationFailed(_("A comment is required: say why."),
                               fields={"comment": ["required"]})
    return comment


urlpatterns = [
    path("conflicts/", conflicts, name="conflicts"),
    path("conflicts/bulk-resolve/", conflicts_bulk_resolve_view, name="conflicts-bulk-resolve"),
    path("conflicts/<int:conflict_id>/", conflict_detail, name="conflict"),
    path("conflicts/<int:conflict_id>/resolve/", conflict_resolve_action,
         name="conflict-resolve"),
    path("approvals/", approvals, name="approvals"),
    path("approvals/<int:change_request_id>/", approval_detail, name="approval"),
    path("approvals/<int:change_request_id>/approve/", approval_approve,
         name="approval-approve"),
    path("approvals/<int:change_request_id>/reject/", approval_reject, name="approval-reject"),
]
