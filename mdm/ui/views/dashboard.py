"""The dashboard: what needs a steward now, and how the hub is doing."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from mdm.matching.selectors import match_candidates_list
from mdm.publishing.selectors import subscription_lag, subscriptions_visible
from mdm.sources.selectors import quarantined_records, records_received_by_day
from mdm.stewardship.selectors import conflicts_list
from mdm.ui.access import page, visible_domains
from mdm.ui.views.conflicts import SEVERITY_LABELS

INGEST_DAYS = 14


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    domains = visible_domains(request.user)
    return render(request, "ui/dashboard.html", {
        "conflicts": _open_conflicts(request.user),
        "review_open": match_candidates_list(user=request.user).filter(
            domain__in=domains).count(),
        "quarantined": quarantined_records().filter(domain__in=domains).count(),
        "ingest": _ingest_by_day(),
        "lag": _sync_lag(request.user),
    })


def _open_conflicts(user: Any) -> list[dict[str, Any]]:
    counts = dict(conflicts_list(user=user, status="open").values_list("severity")
                  .annotate(n=Count("id")).order_by())
    url = reverse("ui:conflicts")
    return [{"label": label, "value": counts.get(severity, 0),
             "url": f"{url}?status=open&severity={severity}", "severity": severity}
            for severity, label in reversed(SEVERITY_LABELS.items())]  # critical first


def _ingest_by_day() -> list[dict[str, Any]]:
    url = reverse("ui:imports")
    return [{"label": day.strftime("%m-%d"), "value": count, "url": f"{url}?day={day}"}
            for day, count in records_received_by_day(days=INGEST_DAYS).items()]


def _sync_lag(user: Any) -> list[dict[str, Any]]:
    url = reverse("ui:deliveries")
    return [{**subscription_lag(subscription=subscription), "label": subscription.name,
             "url": f"{url}?subscription={subscription.pk}"}
            for subscription in subscriptions_visible(domains=visible_domains(user))]


urlpatterns = [path("", dashboard, name="dashboard")]
