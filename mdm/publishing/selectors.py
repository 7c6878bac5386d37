"""Reads of the publishing stage: the pull feed, delivery lists, sync lag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from mdm.core.stats import percentile
from mdm.publishing.models import Delivery, Subscription


def subscription_changes(*, subscription: Subscription, after: int | None,
                         limit: int) -> list[Delivery]:
    """The feed of a pull subscription: deliveries after ``after`` (default: the
    acknowledged cursor), in sequence order."""
    start = subscription.acked_seq if after is None else after
    return list(Delivery.objects.filter(subscription=subscription, seq__gt=start)
                .order_by("seq")[:limit])


def subscription_deliveries(*, subscription: Subscription, status: str = "") -> QuerySet:
    deliveries = Delivery.objects.filter(subscription=subscription).order_by("-seq")
    return deliveries.filter(status=status) if status else deliveries


def subscription_lag(*, subscription: Subscription, window: timedelta = timedelta(hours=1)
                     ) -> dict[str, Any]:
    """Sync lag (source record arrival → delivered) over the window, against the SLO."""
    since = timezone.now() - window
    lags = sorted(Delivery.objects.filter(subscription=subscription, delivered_at__gte=since,
                                          lag_ms__isnull=False)
                  .values_list("lag_ms", flat=True))
    p95 = percentile([float(v) for v in lags], 0.95)
    return {
        "subscription": subscription.pk, "window_s": int(window.total_seconds()),
        "deliveries": len(lags), "p50_ms": round(percentile([float(v) for v in lags], 0.5)),
        "p95_ms": round(p95), "slo_p95_ms": subscription.lag_slo_p95_ms,
        "slo_breached": bool(lags) and p95 > subscription.lag_slo_p95_ms,
        "pending": Delivery.objects.filter(subscription=subscription,
                                           status=Delivery.Status.PENDING).count(),
        "dead": Delivery.objects.filter(subscription=subscription,
                                        status=Delivery.Status.DEAD).count(),
    }
