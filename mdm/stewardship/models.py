"""Conflicts, the policies that grade and route them, approvals, and notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mdm.core.domains import DOMAIN_CHOICES
from mdm.core.history import history


class Severity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ConflictKind(models.TextChoices):
    VALUE_DISAGREEMENT = "value_disagreement", "value disagreement between sources"
    CONCURRENT_WRITE = "concurrent_write", "concurrent write"
    PERMISSION = "permission_violation", "permission violation"
    VALIDATION = "validation_failure", "validation failure"
    POTENTIAL_DUPLICATE = "potential_duplicate", "potential duplicate"


class ConflictPolicy(models.Model):
    """Decides, per domain attribute and kind, how severe a conflict is and what happens.

    Conditions for value changes: ``any`` (any disagreement), ``relative_change``
    (``{"percent": 10}``), ``absolute_change`` (``{"amount": 50000}``), ``value_in``
    (``{"values": [...]}``: the new value is one of these).
    """

    class Condition(models.TextChoices):
        ANY = "any", "any disagreement"
        RELATIVE = "relative_change", "relative change above percent"
        ABSOLUTE = "absolute_change", "absolute change above amount"
        VALUE_IN = "value_in", "new value in a list"

    class Handling(models.TextChoices):
        RESOLVE = "resolve", "resolve by survivorship"
        APPROVE = "approve", "require approval"
        BLOCK = "block", "block until a steward resolves it"

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    attribute = models.CharField(max_length=60, blank=True, help_text="blank: any attribute")
    kind = models.CharField(max_length=30, choices=ConflictKind.choices,
                            default=ConflictKind.VALUE_DISAGREEMENT)
    condition = models.CharField(max_length=20, choices=Condition.choices, default=Condition.ANY)
    params = models.JSONField(default=dict, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.LOW)
    handling = models.CharField(max_length=10, choices=Handling.choices, default=Handling.RESOLVE)
    approval_levels = models.PositiveSmallIntegerField(default=1, help_text="1 or 2")
    approver_group = models.CharField(max_length=100, blank=True,
                                      help_text="group whose members may approve (blank: "
                                      "any approver)")
    is_active = models.BooleanField(default=True)

    history = history()

    class Meta:
        ordering = ["domain", "attribute", "id"]
        verbose_name_plural = "conflict policies"

    def __str__(self) -> str:
        return self.name


class Conflict(models.Model):
    """One disagreement a steward may need to see: what, how severe, every candidate value."""

    class Status(models.TextChoices):
        OPEN = "open"
        AWAITING_APPROVAL = "awaiting_approval", "awaiting approval"
        RESOLVED = "resolved"
        AUTO_RESOLVED = "auto_resolved", "resolved by survivorship"

    kind = models.CharField(max_length=30, choices=ConflictKind.choices)
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    golden_id = models.UUIDField(null=True, blank=True, db_index=True)
    attribute = models.CharField(max_length=60, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    policy = models.ForeignKey(ConflictPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    candidates = models.JSONField(default=list,
                                  help_text="[{value, source, source_key, record, at}]")
    current_value = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolution = models.JSONField(null=True, blank=True)

    history = history()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "severity"], name="conflict_queue")]

    def __str__(self) -> str:
        return f"{self.kind} {self.domain}.{self.attribute} ({self.severity})"


class ChangeRequest(models.Model):
    """A change to a golden value held back until one or two approvers accept it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    conflict = models.OneToOneField(Conflict, on_delete=models.CASCADE,
                                    related_name="change_request")
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    golden_id = models.UUIDField(db_index=True)
    attribute = models.CharField(max_length=60)
    current_value = models.JSONField(null=True)
    proposed_value = models.JSONField(null=True)
    proposed_by_source = models.CharField(max_length=40, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    approval_levels = models.PositiveSmallIntegerField(default=1)
    approver_group = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    history = history()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"CR #{self.pk} {self.domain}.{self.attribute}"


class Decision(models.Model):
    """Who decided what on a change request, when and why."""

    change_request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE,
                                       related_name="decisions")
    level = models.PositiveSmallIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    approved = models.BooleanField()
    comment = models.TextField()
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at"]
        constraints = [models.UniqueConstraint(fields=["change_request", "level"],
                                               name="one_decision_per_level")]


class StewardScope(models.Model):
    """The domains a data steward (or approver) works on; none listed: every domain."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="steward_scope")
    domains = models.JSONField(default=list)

    history = history()

    def __str__(self) -> str:
        return f"{self.user}: {', '.join(self.domains) or 'all domains'}"


class Notification(models.Model):
    """An in-app message to one user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    conflict = models.ForeignKey(Conflict, null=True, blank=True, on_delete=models.CASCADE)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class AlertChannel(models.Model):
    """Where alerts about new high and critical conflicts go besides the in-app inbox."""

    class Format(models.TextChoices):
        GENERIC = "generic", "generic JSON webhook"
        DINGTALK = "dingtalk", "DingTalk group robot"
        WECOM = "wecom", "WeCom (企业微信) group robot"
        EMAIL = "email", "email"

    name = models.CharField(max_length=100)
    format = models.CharField(max_length=20, choices=Format.choices)
    url = models.URLField(max_length=500, blank=True, help_text="webhook URL (not for email)")
    emails = models.JSONField(default=list, blank=True, help_text="for email: addresses")
    domains = models.JSONField(default=list, blank=True, help_text="empty: every domain")
    min_severity = models.CharField(max_length=10, choices=Severity.choices,
                                    default=Severity.HIGH)
    is_active = models.BooleanField(default=True)

    history = history()

    def __str__(self) -> str:
        return f"{self.name} ({self.format})"
