"""Reads of the publishing stage: the pull feed, delivery lists, sync lag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Avg, Prefetch, Q, QuerySet
from django.utils import timezone

from mdm.core.stats import percentile
from mdm.publishing.models import Delivery, DeliveryAttempt, Subscription


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


def subscription_advice(*, subscription: Subscription, window: timedelta = timedelta(days=7)
                        ) -> dict[str, Any]:
    """Suggest a sync mode from the measured change rate, delivery cost and failures,
    with the numbers behind it. (Conflict rates join once conflicts are recorded.)"""
    since = timezone.now() - window
    hours = window.total_seconds() / 3600
    deliveries = Delivery.objects.filter(subscription=subscription, created_at__gte=since)
    attempts = DeliveryAttempt.objects.filter(delivery__subscription=subscription,
                                              attempted_at__gte=since)
    numbers = {
        "window_hours": round(hours, 1),
        "changes_per_hour": round(deliveries.count() / hours, 2),
        "requests_per_hour": round(attempts.values("attempted_at").distinct().count() / hours, 2),
        "avg_request_ms": round(attempts.aggregate(v=Avg("duration_ms"))["v"] or 0, 1),
        "failed_share": round(attempts.exclude(status_code__range=(200, 299)).count()
                              / max(1, attempts.count()), 3),
        "lag_p95_ms": subscription_lag(subscription=subscription, window=window)["p95_ms"],
        "conflict_rate": None,
    }
    mode, reason = _suggest(numbers)
    return {"subscription": subscription.pk, "current_mode": subscription.mode,
            "suggested_mode": mode, "reason": reason, "numbers": numbers}


def _suggest(numbers: dict[str, Any]) -> tuple[str, str]:
    rate, cost_ms = numbers["changes_per_hour"], numbers["avg_request_ms"]
    busy = rate * cost_ms / 3_600_000  # share of the hour a real-time sender spends posting
    if rate == 0:
        return "daily", "nothing changed in the window; a daily run keeps the door open"
    if numbers["failed_share"] > 0.2:
        return "interval", (f"{numbers['failed_share']:.0%} of requests failed; batches every "
                            "15 minutes retry less often than one request per change")
    if busy > 0.5:
        return "interval", (f"real time would keep the sender busy {busy:.0%} of the time "
                            f"({rate:g} changes/h × {cost_ms:g} ms); batches every minute")
    if busy > 0.1:
        return "interval", (f"real time would keep the sender busy {busy:.0%} of the time; "
                            "batches every 5 minutes cost far less")
    return "realtime", (f"{rate:g} changes/h at {cost_ms:g} ms a request is cheap to send "
                        "as they happen")


def subscriptions_visible(*, domains: list[str]) -> list[Subscription]:
    """Subscriptions that publish at least one of ``domains`` (or every domain)."""
    return [s for s in Subscription.objects.select_related("subscriber").order_by("name", "id")
            if not s.domains or set(s.domains) & set(domains)]


DELIVERY_FILTERS = {
    "pending": Q(status=Delivery.Status.PENDING),
    "failed": Q(status=Delivery.Status.PENDING, attempts__gt=0),
    "dead": Q(status=Delivery.Status.DEAD),
    "delivered": Q(status=Delivery.Status.DELIVERED),
}


def deliveries_list(*, subscription: Subscription, status: str = "",
                    tries: int = 5) -> QuerySet[Delivery]:
    """A subscription's deliveries, newest first, with their latest attempts in
    ``recent_tries``. ``status``: pending, failed (pending after a failed attempt), dead,
    delivered; anything else: all."""
    deliveries = Delivery.objects.filter(subscription=subscription).select_related("event") \
        .order_by("-seq")
    if status in DELIVERY_FILTERS:
        deliveries = deliveries.filter(DELIVERY_FILTERS[status])
    return deliveries.prefetch_related(Prefetch(
        "tries", queryset=DeliveryAttempt.objects.order_by("-attempted_at", "-id"),
        to_attr="recent_tries"))
