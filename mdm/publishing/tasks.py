"""Celery tasks of the publishing stage: thin, ids only."""

from __future__ import annotations

import time
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from mdm.core.middleware import set_request_id
from mdm.publishing.models import Delivery, Subscription
from mdm.publishing.reconciliation import subscription_reconcile
from mdm.publishing.schedules import is_due
from mdm.publishing.services import (
    Lease,
    deliveries_fan_out,
    subscription_send,
    subscriptions_lag_check,
)

FAN_OUT_SECONDS = 20.0


@shared_task(name="mdm.publishing.tasks.dispatch_outbox", acks_late=True)
def dispatch_outbox(sweep: bool = True) -> dict[str, int]:
    """Fan new outbox events out and get them sent. Queued after every golden change
    (``sweep=False``) and by beat.

    The first real-time subscription that received deliveries is sent to right here,
    under the lease the fan-out took: one task from commit to webhook. Every other due
    subscription that received some gets a sender task, queued before that. ``sweep``
    also starts senders for every subscription with deliveries waiting (retries whose
    trigger was lost, a dead sender's leftovers): beat's job, not every change's.
    """
    set_request_id()
    created, deadline = 0, time.monotonic() + FAN_OUT_SECONDS
    fresh: dict[int, Subscription] = {}
    lease: Lease | None = None
    while True:  # a backlog (say, after the broker was down) drains in one run
        fan_out = deliveries_fan_out(lease_realtime=lease is None)
        lease = lease or fan_out.lease
        created += sum(fan_out.created.values())
        fresh.update((pk, sub) for pk, (sub, _) in fan_out.fresh.items())
        if fan_out.caught_up or time.monotonic() > deadline:
            break
    if sweep:
        fresh.update((s.pk, s) for s in _waiting())
    if lease:
        fresh.pop(lease.subscription.pk, None)
    now = timezone.now()
    due = [pk for pk, subscription in fresh.items() if is_due(subscription, now)]
    for pk in due:
        send_subscription.delay(pk)
    sent = subscription_send(subscription_id=lease.subscription.pk, lease=lease) if lease \
        else None
    return {"fanned_out": created, "senders": len(due), "sent": sent.delivered if sent else 0}


def _waiting() -> list[Subscription]:
    """Active subscriptions with deliveries still pending."""
    waiting = Delivery.objects.filter(status=Delivery.Status.PENDING).order_by() \
        .values_list("subscription_id", flat=True).distinct()
    return list(Subscription.objects.filter(pk__in=waiting, is_active=True))


@shared_task(name="mdm.publishing.tasks.send_subscription", acks_late=True)
def send_subscription(subscription_id: int) -> dict[str, int]:
    set_request_id()
    summary = subscription_send(subscription_id=subscription_id)
    return {"delivered": summary.delivered, "failed": summary.failed, "dead": summary.dead}


@shared_task(name="mdm.publishing.tasks.check_sync_lag")
def check_sync_lag() -> list[int]:
    """Beat: flag subscriptions whose p95 sync lag breaks their SLO (and clear recovered)."""
    set_request_id()
    return subscriptions_lag_check()


@shared_task(name="mdm.publishing.tasks.reconcile_due")
def reconcile_due() -> list[int]:
    """Beat: run the scheduled reconciliations that are due."""
    set_request_id()
    now = timezone.now()
    started = []
    for subscription in Subscription.objects.filter(is_active=True, reconcile_every_hours__gt=0):
        last = subscription.last_reconciled_at
        if last is None or last + timedelta(hours=subscription.reconcile_every_hours) <= now:
            reconcile_subscription.delay(subscription.pk)
            started.append(subscription.pk)
    return started


@shared_task(name="mdm.publishing.tasks.reconcile_subscription")
def reconcile_subscription(subscription_id: int) -> dict[str, int]:
    set_request_id()
    subscription = Subscription.objects.select_related("subscriber").get(pk=subscription_id)
    run = subscription_reconcile(subscription=subscription,
                                 republish=subscription.reconcile_republish)
    return {"checked": run.checked, "drifted": run.different + run.missing + run.unexpected}
