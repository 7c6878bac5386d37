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
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from mdm.core.bulk import bulk_insert_rows, bulk_update_rows
from mdm.core.errors import Conflict, ValidationFailed
from mdm.core.locks import all_domains_read_lock, domain_write_lock, in_lock_order
from mdm.core.middleware import current_request_id
from mdm.publishing.fan_out_reads import (
    events_after,
    own_keys,
    subscriber_codes,
    subscriptions_lock,
)
from mdm.publishing.models import ChangeEvent, Delivery, DeliveryAttempt, Subscription
from mdm.publishing.payloads import (
    OutboundMapping,
    cloud_event,
    event_action,
    passes_filters,
)
from mdm.publishing.webhooks import WebhookResult, webhook_post

logger = logging.getLogger(__name__)

FAN_OUT_CHUNK = 2000
LEASE_MARGIN_S = 10.0
SCAN_SLACK = 10  # extra rows per page read, for deliveries held back behind a retry
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 3600.0
DELIVERY_ID_NAMESPACE = uuid.UUID("5d0c1f4e-2b7a-5c3e-9f61-8a4d2e7b9c10")


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
        transaction.on_commit(_dispatch_new_events, robust=True)
    return rows


def _dispatch_new_events() -> None:
    """After a change commits: fan its events out and send them (no sweep)."""
    from mdm.publishing.tasks import dispatch_outbox

    dispatch_outbox.delay(sweep=False)


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
class Lease:
    """A subscription's send lease, held until ``until`` (the holder's token; None once
    released or lost), and what was due when it was taken or last renewed: ``due`` for
    the next request and whether ``more`` waited behind them. ``cursor`` is the fan-out
    cursor the holder knows of; ``seen_all`` says the last read saw every pending delivery
    and none was held back for a retry, so once the due ones are sent only a fan-out that
    moved the cursor meanwhile can have left new ones (see ``_release``)."""

    subscription: Subscription
    until: datetime | None
    cursor: int
    due: list[Delivery] = field(default_factory=list)
    more: bool = False
    seen_all: bool = False


@dataclass
class FanOut:
    """One fan-out pass: outbox events read and deliveries created, per subscription; the
    subscriptions that received deliveries; a lease taken for sending at once, if asked."""

    read: dict[int, int] = field(default_factory=dict)
    created: dict[int, int] = field(default_factory=dict)
    fresh: dict[int, tuple[Subscription, list[Delivery]]] = field(default_factory=dict)
    lease: Lease | None = None

    @property
    def caught_up(self) -> bool:
        return all(n < FAN_OUT_CHUNK for n in self.read.values())


@transaction.atomic
def deliveries_fan_out(*, lease_realtime: bool = False) -> FanOut:
    """Turn outbox events past each subscription's cursor into deliveries (up to
    ``FAN_OUT_CHUNK`` per subscription; call again until ``caught_up``). Waits for
    in-flight golden writes to commit first, so no event with a lower sequence number
    can appear later.

    With ``lease_realtime``, a caught-up pass also takes the send lease of the first
    real-time webhook subscription that received deliveries (if no sender holds it), with
    its due deliveries, in this same transaction: the caller sends them right away
    (``subscription_send(lease=...)``) instead of queueing a sender task."""
    all_domains_read_lock()
    result = FanOut()
    cursors: dict[int, int] = {}
    for subscription in subscriptions_lock(first=_without_flush_sql()):
        read, deliveries = _fan_out_one(subscription)
        result.read[subscription.pk], result.created[subscription.pk] = read, len(deliveries)
        if read:
            cursors[subscription.pk] = subscription.fanned_out_seq
        if deliveries:
            result.fresh[subscription.pk] = (subscription, deliveries)
    if lease_realtime and result.caught_up:
        result.lease = _lease_fresh(list(result.fresh.values()))
    leased = result.lease.subscription.pk if result.lease else None
    for pk, seq in cursors.items():
        _cursor_move(pk, seq, result.lease.until if result.lease and pk == leased else None)
    return result


def _cursor_move(pk: int, seq: int, lease_until: datetime | None) -> None:
    """One statement: a subscription's fan-out cursor and, if this pass took it, its send
    lease. Runtime columns, not configuration: no history row (and no signals) per pass."""
    table = Subscription._meta.db_table
    with connection.cursor() as cursor:
        if lease_until is None:
            cursor.execute(f"UPDATE {table} SET fanned_out_seq = %s WHERE id = %s", [seq, pk])
        else:
            cursor.execute(f"UPDATE {table} SET fanned_out_seq = %s, sending_until = %s "
                           "WHERE id = %s",
                           [seq, connection.ops.adapt_datetimefield_value(lease_until), pk])


def _fan_out_one(subscription: Subscription) -> tuple[int, list[Delivery]]:
    """(events read, deliveries created) for one subscription; advances its
    ``fanned_out_seq`` in memory (the caller writes it)."""
    events = events_after(subscription, limit=FAN_OUT_CHUNK)
    if not events:
        return 0, []
    wanted = [e for e in events if _wants(subscription, e)]
    deliveries = _deliveries(subscription, wanted) if wanted else []
    bulk_insert_rows(Delivery, deliveries)
    subscription.fanned_out_seq = events[-1].seq
    return len(events), deliveries


def _deliveries(subscription: Subscription, events: list[ChangeEvent]) -> list[Delivery]:
    """The subscription's payloads for the events it wants, in its names, codes and keys."""
    mapping = OutboundMapping(subscription, subscriber_codes(subscription))
    keys = own_keys(subscription, events)
    deliveries = []
    for event in events:
        if event.origin_source == subscription.subscriber.code and \
                (event.data or {}).get("origin_echo"):
            continue  # the subscriber's own change, already what it holds: no echo
        payload = cloud_event(event, mapping, keys.get((event.domain, event.golden_id), []))
        if event_action(event) == "updated" and not payload["data"]["changed"]:
            continue  # nothing this subscriber asked for changed
        deliveries.append(Delivery(id=delivery_id(subscription.pk, event.event_id),
                                   subscription=subscription, event=event, seq=event.seq,
                                   golden_id=event.golden_id, payload=payload))
    return deliveries


def delivery_id(subscription_id: int, event_id: uuid.UUID) -> uuid.UUID:
    """A delivery's id (its webhook-id) follows from its subscription and event: a fan-out
    that is lost and done again makes the same deliveries, with the same webhook-ids."""
    return uuid.uuid5(DELIVERY_ID_NAMESPACE, f"{subscription_id}/{event_id}")


def _commit_without_flush() -> None:
    """Let this transaction's commit return before its WAL record reaches the disk
    (PostgreSQL; other transactions still see it at once). Only for writes that can be
    done again after a crash: a fan-out (the outbox it reads is durable, the delivery ids
    are derived) and a delivery's outcome (unrecorded, it is sent again with the same
    webhook-id: at least once). Only in an outermost transaction: it would apply to all
    of a caller's enclosing transaction."""
    if setting := _without_flush_sql():
        with connection.cursor() as cursor:
            cursor.execute(setting)


def _without_flush_sql() -> str:
    """The statement ``_commit_without_flush`` runs, where it applies ('' elsewhere)."""
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        return "SET LOCAL synchronous_commit TO OFF;"
    return ""


def _lease_fresh(fresh: list[tuple[Subscription, list[Delivery]]]) -> Lease | None:
    """Inside the fan-out (the rows are locked): the lease of the first real-time webhook
    subscription whose lease is free, with its due deliveries; the caller writes
    ``until`` together with the cursor. When nothing older is pending (no ``backlog``
    when the row was locked: every delivery made since is among ``created``), the due ones
    are the deliveries just created: no need to read them back."""
    now = timezone.now()
    for subscription, created in fresh:
        if subscription.mode != Subscription.Mode.REALTIME or \
                subscription.transport != Subscription.Transport.WEBHOOK or \
                (subscription.sending_until and subscription.sending_until >= now):
            continue
        lease = Lease(subscription, now + _lease_length(subscription),
                      subscription.fanned_out_seq)
        if subscription.backlog:  # pending at or behind the cursor: older than these
            _read_due(lease, now)
        else:
            lease.due, lease.more, lease.seen_all = created[:1], len(created) > 1, True
        if lease.due:
            return lease
    return None


def _wants(subscription: Subscription, event: ChangeEvent) -> bool:
    if event.audience_id not in (None, subscription.pk):
        return False
    if event.domain not in (subscription.domains or []):
        return False
    if subscription.event_types and event_action(event) not in subscription.event_types:
        return False
    return passes_filters(subscription, (event.data or {}).get("values") or {})


# --- sending ---------------------------------------------------------------------------

@dataclass
class SendSummary:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    requests: int = 0
    last_sent_at: datetime | None = None


def subscription_send(*, subscription_id: int, lease: Lease | None = None) -> SendSummary:
    """Send a webhook subscription's due deliveries, oldest first.

    Real-time subscriptions post one event per request; scheduled ones post batches of
    up to ``batch_size`` (``application/cloudevents-batch+json``). A golden record's
    later versions wait while an earlier one is still being retried. Only one sender
    runs per subscription at a time (a lease on the subscription row); ``lease`` is one
    already taken (by ``deliveries_fan_out``), else it is claimed here.
    """
    summary = SendSummary()
    if lease is None:
        subscription = Subscription.objects.filter(pk=subscription_id).first()
        lease = _claim(subscription) if subscription else None
    while lease is not None:
        try:
            _send_due(lease, summary)
        finally:
            _release(lease, summary.last_sent_at)
        # Released first, then looked again: a sender that found the lease taken meanwhile
        # left its deliveries to the holder. Not needed when nothing can have been left.
        if lease.seen_all or not _sendable(lease.subscription, timezone.now(), 1)[0]:
            break
        lease = _claim(lease.subscription)
    return summary


def _send_due(lease: Lease, summary: SendSummary) -> None:
    """Send request after request while deliveries are due; the last request's outcome
    and the lease's release commit together. Renew the lease before each further request
    (the due list was read when the lease was taken)."""
    while lease.due:
        result = _post(lease.subscription, lease.due, summary)
        with transaction.atomic():
            _commit_without_flush()
            _record(lease.subscription, lease.due, result, summary)
            if not result.ok:
                lease.seen_all = False  # its retry may come due while we still hold the lease
            if not lease.more:
                _release(lease, summary.last_sent_at)
                return
        if not _renew(lease):
            return
        _read_due(lease, timezone.now())


def _lease_length(subscription: Subscription) -> timedelta:
    """Long enough for one request; renewed before each. A sender that died (a killed
    worker) holds the subscription at most this long before another takes over."""
    return timedelta(seconds=2 * subscription.timeout_seconds + LEASE_MARGIN_S)


def _claim(subscription: Subscription) -> Lease | None:
    """Take the subscription's send lease if it is free, with the deliveries due now."""
    now = timezone.now()
    lease = Lease(subscription, now + _lease_length(subscription), subscription.fanned_out_seq)
    taken = Subscription.objects.filter(
        Q(sending_until__isnull=True) | Q(sending_until__lt=now), pk=subscription.pk,
        is_active=True, transport=Subscription.Transport.WEBHOOK,
    ).update(sending_until=lease.until)
    if not taken:
        return None
    _read_due(lease, now)
    return lease


def _renew(lease: Lease) -> bool:
    """Extend our lease; False (and ``until`` None) if it expired and another sender took
    it over meanwhile."""
    until = timezone.now() + _lease_length(lease.subscription)
    kept = Subscription.objects.filter(pk=lease.subscription.pk, sending_until=lease.until,
                                       is_active=True).update(sending_until=until)
    lease.until = until if kept else None
    return bool(kept)


def _release(lease: Lease, sent_at: datetime | None) -> None:
    """Give the lease up (once). If the fan-out cursor moved meanwhile, a fan-out may have
    created deliveries and found the lease taken: ``seen_all`` is cleared to look again.
    (A fan-out holds the row until it commits, so this update sees its cursor.)"""
    if lease.until is None:
        return  # released already, or lost: then it is another sender's
    fields: dict[str, Any] = {"sending_until": None}
    if sent_at:
        fields["last_sent_at"] = sent_at
    held = Subscription.objects.filter(pk=lease.subscription.pk, sending_until=lease.until)
    if not held.filter(fanned_out_seq=lease.cursor).update(**fields):
        lease.seen_all = False
        held.update(**fields)
    lease.until = None


def _read_due(lease: Lease, now: datetime) -> None:
    """Load the next request's due deliveries into the lease (one for real time, else up
    to ``batch_size``), and whether more are due behind them."""
    subscription = lease.subscription
    size = 1 if subscription.mode == Subscription.Mode.REALTIME else subscription.batch_size
    ready, lease.seen_all = _sendable(subscription, now, size + 1)
    lease.due, lease.more = ready[:size], len(ready) > size


def _sendable(subscription: Subscription, now: datetime,
              limit: int) -> tuple[list[Delivery], bool]:
    """Up to ``limit`` due deliveries in sequence order, skipping golden records with an
    earlier delivery still waiting for its retry; and whether that was every pending
    delivery, none held back."""
    blocked: set[uuid.UUID] = set()
    ready: list[Delivery] = []
    pending = Delivery.objects.filter(subscription=subscription, status=Delivery.Status.PENDING) \
        .select_related("event").only("id", "seq", "golden_id", "payload", "attempts",
                                      "next_attempt_at", "created_at", "event__caused_at") \
        .order_by("seq")
    after, page_size, seen_all = -1, limit + SCAN_SLACK, False
    while len(ready) < limit:
        page = list(pending.filter(seq__gt=after)[:page_size])
        unseen = False
        for position, delivery in enumerate(page, start=1):
            if delivery.golden_id in blocked:
                continue
            if delivery.next_attempt_at and delivery.next_attempt_at > now:
                blocked.add(delivery.golden_id)
                continue
            ready.append(delivery)
            if len(ready) >= limit:
                unseen = position < len(page)
                break
        if len(page) < page_size:
            seen_all = not unseen and not blocked
            break
        after = page[-1].seq
    return ready, seen_all


def _post(subscription: Subscription, batch: list[Delivery],
          summary: SendSummary) -> WebhookResult:
    """Post one request: one event in real time, else a batch."""
    batched = subscription.mode != Subscription.Mode.REALTIME
    body = [d.payload for d in batch] if batched else batch[0].payload
    message_id = str(uuid.uuid5(batch[0].id, "batch")) if batched else str(batch[0].id)
    summary.requests += 1
    return webhook_post(url=subscription.url, secret=subscription.secret,
                        message_id=message_id, body=body, batch=batched,
                        timeout=subscription.timeout_seconds)


def _record(subscription: Subscription, batch: list[Delivery], result: WebhookResult,
            summary: SendSummary) -> None:
    """Call inside a transaction: the attempt, and the deliveries delivered or due again."""
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
