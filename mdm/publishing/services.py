"""Writes of the publishing stage: the outbox, fan-out to subscriptions, delivery.

Flow: a golden change writes its ``ChangeEvent`` in its own transaction
(``change_events_emit``); after commit a task fans new events out into one ``Delivery``
per interested subscription (``deliveries_fan_out``); a sender per subscription posts them
as signed webhooks, in sequence order, one golden record's versions strictly in order
(``subscription_send``); pull subscribers read the same deliveries from the changes feed
and acknowledge them (``subscription_ack``).
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mdm.core.bulk import bulk_insert_rows, bulk_update_rows
from mdm.core.errors import Conflict, ValidationFailed
from mdm.core.locks import all_domains_read_lock, domain_write_lock, in_lock_order
from mdm.core.middleware import current_request_id
from mdm.publishing.models import ChangeEvent, Delivery, DeliveryAttempt, Subscription
from mdm.publishing.payloads import (
    OutboundMapping,
    cloud_event,
    event_action,
    passes_filters,
)
from mdm.publishing.webhooks import WebhookResult, webhook_post
from mdm.sources.selectors import outbound_codes, subscriber_view

logger = logging.getLogger(__name__)

FAN_OUT_CHUNK = 2000
LEASE_MARGIN_S = 10.0
SCAN_PAGE = 500
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 3600.0


@dataclass
class EventSpec:
    """One golden change to announce."""

    type: str
    domain: str
    golden_id: uuid.UUID
    version: int
    data: dict[str, Any] = field(default_factory=dict)
    origin_source: str = ""
    caused_at: datetime | None = None
    audience: Subscription | None = None


def change_events_emit(*, events: Iterable[EventSpec]) -> list[ChangeEvent]:
    """Append events to the outbox; call inside the transaction that made the change.
    After commit the fan-out is queued (if the broker is down the event simply waits in
    the outbox for the next scheduled dispatch)."""
    request_id = current_request_id()
    rows = [
        ChangeEvent(type=e.type, domain=e.domain, golden_id=e.golden_id, version=e.version,
                    data=json.loads(json.dumps(e.data, cls=DjangoJSONEncoder)),
                    origin_source=e.origin_source, request_id=request_id, caused_at=e.caused_at,
                    audience=e.audience)
        for e in events
    ]
    for domain in in_lock_order({row.domain for row in rows}):
        domain_write_lock(domain)  # see mdm.core.locks: the fan-out must not skip it
    bulk_insert_rows(ChangeEvent, rows)
    if rows:
        from mdm.publishing.tasks import dispatch_outbox

        transaction.on_commit(dispatch_outbox.delay, robust=True)
    return rows


@transaction.atomic
def subscription_upsert(*, subscriber: Any, name: str, **settings: Any) -> Subscription:
    """Create or update a subscriber's subscription by name. A new subscription starts
    at the current end of the outbox: it receives changes from now on."""
    subscription = Subscription.objects.filter(subscriber=subscriber, name=name).first()
    if subscription is None:
        latest = ChangeEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        subscription = Subscription(subscriber=subscriber, name=name, fanned_out_seq=latest or 0,
                                    acked_seq=latest or 0)
    for field_name, value in settings.items():
        setattr(subscription, field_name, value)
    subscription.full_clean(exclude=["subscriber"])
    subscription.save()
    return subscription


# --- fan-out ---------------------------------------------------------------------------

@dataclass
class FanOut:
    """One fan-out pass: outbox events read and deliveries created, per subscription."""

    read: dict[int, int] = field(default_factory=dict)
    created: dict[int, int] = field(default_factory=dict)

    @property
    def caught_up(self) -> bool:
        return all(n < FAN_OUT_CHUNK for n in self.read.values())


@transaction.atomic
def deliveries_fan_out() -> FanOut:
    """Turn outbox events past each subscription's cursor into deliveries (up to
    ``FAN_OUT_CHUNK`` per subscription; call again until ``caught_up``). Waits for
    in-flight golden writes to commit first, so no event with a lower sequence number
    can appear later."""
    all_domains_read_lock()
    result = FanOut()
    for subscription in Subscription.objects.select_for_update(skip_locked=True) \
            .filter(is_active=True).select_related("subscriber"):
        result.read[subscription.pk], result.created[subscription.pk] = \
            _fan_out_one(subscription)
    return result


def _fan_out_one(subscription: Subscription) -> tuple[int, int]:
    """(events read, deliveries created) for one subscription."""
    events = list(ChangeEvent.objects.filter(seq__gt=subscription.fanned_out_seq)
                  .order_by("seq")[:FAN_OUT_CHUNK])
    if not events:
        return 0, 0
    mapping = OutboundMapping(subscription, outbound_codes(source=subscription.subscriber))
    wanted = [e for e in events if _wants(subscription, e)]
    views = _subscriber_views(subscription, wanted)
    deliveries = []
    for event in wanted:
        own = views.get((event.domain, event.golden_id), [])
        if event.origin_source == subscription.subscriber.code and \
                (event.data or {}).get("origin_echo"):
            continue  # the subscriber's own change, already what it holds: no echo
        payload = cloud_event(event, mapping, [key for key, _ in own])
        if event_action(event) == "updated" and not payload["data"]["changed"]:
            continue  # nothing this subscriber asked for changed
        deliveries.append(Delivery(subscription=subscription, event=event, seq=event.seq,
                                   golden_id=event.golden_id, payload=payload))
    bulk_insert_rows(Delivery, deliveries)
    subscription.fanned_out_seq = events[-1].seq
    # a runtime cursor, not configuration: no history row (and no signals) per pass
    Subscription.objects.filter(pk=subscription.pk).update(fanned_out_seq=events[-1].seq)
    return len(events), len(deliveries)


def _wants(subscription: Subscription, event: ChangeEvent) -> bool:
    if event.audience_id not in (None, subscription.pk):
        return False
    if event.domain not in (subscription.domains or []):
        return False
    if subscription.event_types and event_action(event) not in subscription.event_types:
        return False
    return passes_filters(subscription, (event.data or {}).get("values") or {})


def _subscriber_views(subscription: Subscription,
                      events: list[ChangeEvent]) -> dict[tuple[str, uuid.UUID], list]:
    views: dict[tuple[str, uuid.UUID], list] = {}
    for domain in {e.domain for e in events}:
        ids = [e.golden_id for e in events if e.domain == domain]
        for golden_id, own in subscriber_view(source=subscription.subscriber, domain=domain,
                                              golden_ids=ids).items():
            views[(domain, golden_id)] = own
    return views


# --- sending ---------------------------------------------------------------------------

@dataclass
class SendSummary:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    requests: int = 0
    last_sent_at: datetime | None = None


def subscription_send(*, subscription_id: int, now: datetime | None = None) -> SendSummary:
    """Send a webhook subscription's due deliveries, oldest first.

    Real-time subscriptions post one event per request; scheduled ones post batches of
    up to ``batch_size`` (``application/cloudevents-batch+json``). A golden record's
    later versions wait while an earlier one is still being retried. Only one sender
    runs per subscription at a time (a lease on the subscription row).
    """
    summary = SendSummary()
    subscription = Subscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return summary
    length = _lease(subscription)
    held = _claim(subscription_id, length)
    while held is not None:
        try:
            fresh = True  # just claimed: no need to renew before the first request
            while fresh or (held := _renew(subscription_id, held, length)) is not None:
                fresh = False
                if not _send_round(subscription, summary):
                    break
        finally:
            if held is not None:
                _release(subscription_id, held, summary.last_sent_at)
        if held is None or not _sendable(subscription, timezone.now()):
            break  # lost the lease (another sender carries on), or nothing left
        held = _claim(subscription_id, length)
    return summary


def _lease(subscription: Subscription) -> timedelta:
    """Long enough for one request; renewed before each. A sender that died (a killed
    worker) holds the subscription at most this long before another takes over."""
    return timedelta(seconds=2 * subscription.timeout_seconds + LEASE_MARGIN_S)


def _claim(subscription_id: int, length: timedelta) -> datetime | None:
    """Take the subscription's send lease if it is free; the expiry is the owner's token."""
    now = timezone.now()
    until = now + length
    taken = Subscription.objects.filter(
        Q(sending_until__isnull=True) | Q(sending_until__lt=now), pk=subscription_id,
        is_active=True, transport=Subscription.Transport.WEBHOOK,
    ).update(sending_until=until)
    return until if taken else None


def _renew(subscription_id: int, held: datetime, length: timedelta) -> datetime | None:
    """Extend our lease; None if it expired and another sender took it over meanwhile."""
    until = timezone.now() + length
    kept = Subscription.objects.filter(pk=subscription_id, sending_until=held, is_active=True) \
        .update(sending_until=until)
    return until if kept else None


def _release(subscription_id: int, held: datetime, sent_at: datetime | None) -> None:
    fields: dict[str, Any] = {"sending_until": None}
    if sent_at:
        fields["last_sent_at"] = sent_at
    Subscription.objects.filter(pk=subscription_id, sending_until=held).update(**fields)


def _sendable(subscription: Subscription, now: datetime) -> list[Delivery]:
    """Due deliveries in sequence order, skipping golden records with an earlier
    delivery still waiting for its retry."""
    limit = 1 if subscription.mode == Subscription.Mode.REALTIME else subscription.batch_size
    blocked: set[uuid.UUID] = set()
    ready: list[Delivery] = []
    pending = Delivery.objects.filter(subscription=subscription, status=Delivery.Status.PENDING) \
        .select_related("event").only("id", "seq", "golden_id", "payload", "attempts",
                                      "next_attempt_at", "created_at", "event__caused_at") \
        .order_by("seq")
    after = -1
    while len(ready) < limit:
        page = list(pending.filter(seq__gt=after)[:SCAN_PAGE])
        for delivery in page:
            if delivery.golden_id in blocked:
                continue
            if delivery.next_attempt_at and delivery.next_attempt_at > now:
                blocked.add(delivery.golden_id)
                continue
            ready.append(delivery)
            if len(ready) >= limit:
                break
        if len(page) < SCAN_PAGE:
            break
        after = page[-1].seq
    return ready


def _send_round(subscription: Subscription, summary: SendSummary) -> bool:
    """Send one request's worth; False when nothing was due."""
    batch = _sendable(subscription, timezone.now())
    if not batch:
        return False
    batched = subscription.mode != Subscription.Mode.REALTIME
    body = [d.payload for d in batch] if batched else batch[0].payload
    message_id = str(uuid.uuid5(batch[0].id, "batch")) if batched else str(batch[0].id)
    result = webhook_post(url=subscription.url, secret=subscription.secret,
                          message_id=message_id, body=body, batch=batched,
                          timeout=subscription.timeout_seconds)
    summary.requests += 1
    _record(subscription, batch, result, summary)
    return True


@transaction.atomic
def _record(subscription: Subscription, batch: list[Delivery], result: WebhookResult,
            summary: SendSummary) -> None:
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create([
        DeliveryAttempt(delivery=d, status_code=result.status, error=result.error[:2000],
                        duration_ms=result.duration_ms) for d in batch])
    if result.ok:
        _mark_delivered(batch, now)
        summary.delivered += len(batch)
        summary.last_sent_at = now
        return
    for delivery in batch:
        delivery.attempts += 1
        delivery.last_error = result.error[:2000]
        if not result.retryable or delivery.attempts >= subscription.max_attempts:
            delivery.status = Delivery.Status.DEAD
            summary.dead += 1
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
            summary.failed += 1
    Delivery.objects.bulk_update(batch, ["attempts", "last_error", "status", "next_attempt_at"])
    retry_at = min((d.next_attempt_at for d in batch if d.status == Delivery.Status.PENDING),
                   default=None)
    if retry_at:
        from mdm.publishing.tasks import send_subscription

        delay = max(0.0, (retry_at - now).total_seconds())
        transaction.on_commit(lambda: send_subscription.apply_async(
            (subscription.pk,), countdown=delay), robust=True)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter: up to 5 s, 10 s, 20 s, … capped at an hour."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def _mark_delivered(deliveries: list[Delivery], now: datetime) -> None:
    """Delivered (or acknowledged) now; the lag runs from the source data's arrival."""
    for delivery in deliveries:
        delivery.status = Delivery.Status.DELIVERED
        delivery.delivered_at = now
        start = delivery.event.caused_at or delivery.created_at
        delivery.lag_ms = max(0, int((now - start).total_seconds() * 1000))
    if len(deliveries) == 1:
        Delivery.objects.filter(pk=deliveries[0].pk).update(
            status=Delivery.Status.DELIVERED, delivered_at=now, lag_ms=deliveries[0].lag_ms)
    else:
        bulk_update_rows(Delivery, deliveries, ["status", "delivered_at", "lag_ms"])


# --- pull feed, replay -----------------------------------------------------------------

@transaction.atomic
def subscription_ack(*, subscription: Subscription, seq: int) -> int:
    """A pull subscriber confirms it has processed everything up to ``seq``."""
    if subscription.transport != Subscription.Transport.PULL:
        raise Conflict("This subscription is delivered by webhook; there is nothing to ack.")
    if seq < subscription.acked_seq:
        raise ValidationFailed(f"seq {seq} is behind the acknowledged {subscription.acked_seq}",
                               fields={"seq": ["must not move backwards"]})
    if seq > subscription.fanned_out_seq:
        raise ValidationFailed(f"seq {seq} has not been published yet",
                               fields={"seq": [f"at most {subscription.fanned_out_seq}"]})
    acked = list(Delivery.objects.filter(subscription=subscription,
                                         status=Delivery.Status.PENDING, seq__lte=seq)
                 .select_related("event"))
    _mark_delivered(acked, timezone.now())
    Subscription.objects.filter(pk=subscription.pk).update(acked_seq=seq,
                                                           last_sent_at=timezone.now())
    return len(acked)


@transaction.atomic
def deliveries_replay(*, subscription: Subscription, ids: list[uuid.UUID] | None = None) -> int:
    """Put dead letters back in the queue (all of the subscription's, or the given ones)."""
    dead = Delivery.objects.filter(subscription=subscription, status=Delivery.Status.DEAD)
    if ids:
        dead = dead.filter(pk__in=ids)
    count = dead.update(status=Delivery.Status.PENDING, next_attempt_at=None,
                        attempts=F("attempts") * 0)
    if count:
        from mdm.publishing.tasks import send_subscription

        transaction.on_commit(lambda: send_subscription.delay(subscription.pk), robust=True)
    return count


def subscriptions_lag_check() -> list[int]:
    """Mark subscriptions whose sync lag p95 (last hour) breaks their SLO; log each new
    breach as a warning; clear the mark when they recover. Returns the breaching ids."""
    from mdm.publishing.selectors import subscription_lag

    breaching = []
    now = timezone.now()
    for subscription in Subscription.objects.filter(is_active=True):
        lag = subscription_lag(subscription=subscription)
        if lag["slo_breached"]:
            breaching.append(subscription.pk)
            if subscription.slo_breached_since is None:
                logger.warning("sync lag SLO breached for %s: p95 %s ms > %s ms", subscription,
                               lag["p95_ms"], lag["slo_p95_ms"])
                Subscription.objects.filter(pk=subscription.pk).update(slo_breached_since=now)
        elif subscription.slo_breached_since is not None:
            Subscription.objects.filter(pk=subscription.pk).update(slo_breached_since=None)
    return breaching
