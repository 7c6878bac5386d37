"""The dashboard: what needs a steward now, and how the hub is doing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mdm.matching.selectors import match_candidates_list
from mdm.publishing.models import Subscription
from mdm.publishing.selectors import subscription_lag
from mdm.sources.models import IngestBatch
from mdm.sources.selectors import quarantined_records
from mdm.stewardship.models import Severity
from mdm.stewardship.selectors import conflicts_list
from mdm.ui.access import page, visible_domains

INGEST_DAYS = 14
SEVERITY_LABELS = {Severity.CRITICAL: _("critical"), Severity.HIGH: _("high"),
                   Severity.MEDIUM: _("medium"), Severity.LOW: _("low")}


@page()
def dashboard(request: HttpRequest) -> HttpResponse:
    domains = visible_domains(request.user)
    return render(request, "ui/dashboard.html", {
        "conflicts": _open_conflicts(request.user),
        "review_open": match_candidates_list(user=request.user).filter(
            domain__in=domains).count(),
        "quarantined": quarantined_records().filter(domain__in=domains).count(),
        "ingest": _ingest_by_day(),
        "lag": _sync_lag(),
    })


def _open_conflicts(user: Any) -> list[dict[str, Any]]:
    counts = dict(conflicts_list(user=user, status="open").values_list("severity")
                  .annotate(n=Count("id")).order_by())
    url = reverse("ui:conflicts")
    return [{"label": label, "value": counts.get(severity, 0),
             "url": f"{url}?status=open&severity={severity}", "severity": severity}
            for severity, label in SEVERITY_LABELS.items()]


def _ingest_by_day() -> list[dict[str, Any]]:
    """Records received per day over the last two weeks, every day shown (zero or not)."""
    today = timezone.localdate()
    days = [today - timedelta(days=n) for n in range(INGEST_DAYS - 1, -1, -1)]
    received = dict.fromkeys(days, 0)
    batches = IngestBatch.objects.filter(received_at__gte=timezone.now() - timedelta(
        days=INGEST_DAYS)).values_list("received_at", "counts")
    for received_at, counts in batches.iterator():
        day = timezone.localdate(received_at)
        if day in received:
            received[day] += sum(v for v in (counts or {}).values() if isinstance(v, int))
    return [{"label": day.strftime("%m-%d"), "value": received[day],
             "url": reverse("ui:imports") + f"?day={day.isoformat()}"} for day in days]


def _sync_lag() -> list[dict[str, Any]]:
    url = reverse("ui:deliveries")
    rows = []
    for subscription in Subscription.objects.select_related("subscriber").order_by("name"):
        lag = subscription_lag(subscription=subscription)
        rows.append({**lag, "label": subscription.name,
                     "url": f"{url}?subscription={subscription.pk}"})
    return rows


urlpatterns = [path("", dashboard, name="dashboard")]
