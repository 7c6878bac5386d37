"""The outbox: every golden change as an event, written in the change's own transaction."""

from __future__ import annotations

import uuid

from django.db import models

from mdm.core.domains import DOMAIN_CHOICES
from mdm.core.history import history


class ChangeEvent(models.Model):
    """A CloudEvents-shaped record of one golden change; ``seq`` orders all events."""

    seq = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=80)
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    golden_id = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField()
    data = models.JSONField(default=dict)
    origin_source = models.CharField(max_length=40, blank=True,
                                     help_text="Source system whose record caused the change.")
    request_id = models.CharField(max_length=64, blank=True)
    caused_at = models.DateTimeField(null=True, blank=True,
                                     help_text="when the source record behind it arrived")
    audience = models.ForeignKey("Subscription", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+",
                                 help_text="only for this subscription (reconciliation)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.golden_id} v{self.version}"


class Subscription(models.Model):
    """What a subscribing system wants to receive, in its own names and codes, and when.

    ``field_map`` renames canonical attributes (``{"phones": "mobile"}``); codes are
    translated with the reverse of the subscriber's own value maps. ``filters`` is a list of
    ``{"attribute", "op" (eq, ne, in, not_in, present), "value"}``, all of which must hold.
    """

    class Mode(models.TextChoices):
        REALTIME = "realtime", "real time"
        INTERVAL = "interval", "every N minutes"
        DAILY = "daily", "daily at a time"
        CRON = "cron", "cron expression"
        MANUAL = "manual", "manual"

    class Transport(models.TextChoices):
        WEBHOOK = "webhook", "signed webhook"
        PULL = "pull", "pull from the changes feed"

    subscriber = models.ForeignKey("sources.SourceSystem", on_delete=models.CASCADE,
                                   related_name="subscriptions")
    name = models.CharField(max_length=100)
    domains = models.JSONField(default=list, help_text='e.g. ["customer"]')
    event_types = models.JSONField(default=list, blank=True,
                                   help_text='e.g. ["created", "updated"]; empty: all')
    attributes = models.JSONField(default=list, blank=True,
                                  help_text="canonical attributes to send; empty: all")
    filters = models.JSONField(default=list, blank=True)
    field_map = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.REALTIME)
    interval_minutes = models.PositiveIntegerField(default=15)
    daily_at = models.TimeField(null=True, blank=True)
    cron = models.CharField(max_length=100, blank=True, help_text="e.g. */5 * * * *")
    transport = models.CharField(max_length=20, choices=Transport.choices,
                                 default=Transport.WEBHOOK)
    url = models.URLField(max_length=500, blank=True)
    secret = models.CharField(max_length=100, blank=True, help_text="whsec_... (signing key)")
    batch_size = models.PositiveIntegerField(default=500)
    timeout_seconds = models.FloatField(default=10.0, help_text="per webhook request")
    max_attempts = models.PositiveIntegerField(default=8)
    lag_slo_p95_ms = models.PositiveIntegerField(default=60_000)
    is_active = models.BooleanField(default=True)
    reconcile_every_hours = models.PositiveIntegerField(
        default=0, help_text="compare with what the subscriber holds, through its connector "
        "(0: only on request)")
    reconcile_republish = models.BooleanField(
        default=False, help_text="scheduled reconciliation re-publishes drifted records")
    last_reconciled_at = models.DateTimeField(null=True, blank=True, editable=False)
    slo_breached_since = models.DateTimeField(null=True, blank=True, editable=False)
    fanned_out_seq = models.BigIntegerField(default=0, editable=False,
                                            help_text="outbox events up to here are fanned out")
    acked_seq = models.BigIntegerField(default=0, editable=False,
                                       help_text="pull feed: acknowledged up to here")
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    sending_until = models.DateTimeField(null=True, blank=True, editable=False)

    history = history(excluded_fields=["fanned_out_seq", "acked_seq", "last_sent_at",
                                       "sending_until", "last_reconciled_at",
                                       "slo_breached_since"])

    class Meta:
        ordering = ["subscriber", "name"]

    def __str__(self) -> str:
        return f"{self.subscriber}/{self.name}"


class Delivery(models.Model):
    """One change event for one subscription: its payload and its delivery state."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead", "dead letter"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False,
                          help_text="the webhook-id: the same on every retry")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE,
                                     related_name="deliveries")
    event = models.ForeignKey(ChangeEvent, on_delete=models.PROTECT, related_name="deliveries")
    seq = models.BigIntegerField()
    golden_id = models.UUIDField()
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    lag_ms = models.PositiveIntegerField(null=True, blank=True,
                                         help_text="source record arrival → delivered")

    class Meta:
        ordering = ["subscription", "seq"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event"],
                                               name="uniq_delivery")]
        indexes = [models.Index(fields=["subscription", "seq"], name="delivery_pending",
                                condition=models.Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.subscription} #{self.seq} {self.status}"


class DeliveryAttempt(models.Model):
    """One try at sending one or more deliveries (a batch shares its attempt)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at"]


class ReconciliationRun(models.Model):
    """One comparison of what a subscriber holds with what the hub says it should hold."""

    class Method(models.TextChoices):
        CONNECTOR = "connector", "read through the subscriber's connector"
        CHECKSUMS = "checksums", "checksums posted by the subscriber"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE,
                                     related_name="reconciliations")
    method = models.CharField(max_length=20, choices=Method.choices)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    in_sync = models.PositiveIntegerField(default=0)
    different = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0, help_text="the subscriber lacks them")
    unexpected = models.PositiveIntegerField(default=0,
                                             help_text="the subscriber holds records it should not")
    republished = models.PositiveIntegerField(default=0)
    drift = models.JSONField(default=list, help_text="the first drifted records, with why")

    class Meta:
        ordering = ["-started_at"]
