"""Source systems, their configuration, and every record they send (the crosswalk)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from mdm.core.domains import DOMAIN_CHOICES, DOMAINS
from mdm.core.history import history


class SourceSystem(models.Model):
    """A system that sends records to the hub, receives its changes, or both."""

    code = models.SlugField(max_length=40, unique=True, help_text="Short code, e.g. crm, erp.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_source = models.BooleanField(default=True, help_text="Sends records to the hub.")
    is_subscriber = models.BooleanField(default=False, help_text="Receives golden changes.")
    is_active = models.BooleanField(default=True)
    api_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True,
                                    editable=False)
    api_key_prefix = models.CharField(max_length=12, blank=True, editable=False)
    allowed_attributes = models.JSONField(
        default=dict, blank=True,
        help_text='Per domain, the canonical attributes this source may write, e.g. '
        '{"customer": ["name", "phones"]}. A domain not listed: every attribute.',
    )
    record_key_fields = models.JSONField(
        default=dict, blank=True,
        help_text='Per domain, the feed field holding the record key, '
        'e.g. {"customer": "客户编号"}.',
    )
    updated_at_fields = models.JSONField(
        default=dict, blank=True,
        help_text="Per domain, the feed field holding the source's own last-updated time.",
    )
    connector = models.CharField(max_length=40, blank=True,
                                 help_text="Pull connector name (blank: push only).")
    connector_config = models.JSONField(default=dict, blank=True)
    connector_domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES, blank=True)
    pull_interval_minutes = models.PositiveIntegerField(
        default=0, help_text="Pull every N minutes from the beat schedule (0: not scheduled).")
    pull_cursor = models.CharField(max_length=200, blank=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_pull_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = history(excluded_fields=["pull_cursor", "last_pulled_at", "last_pull_error"])

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        for domain, attributes in (self.allowed_attributes or {}).items():
            if domain not in DOMAINS:
                raise ValidationError({"allowed_attributes": f"unknown domain '{domain}'"})
            unknown = set(attributes) - set(DOMAINS[domain].attribute_names())
            if unknown:
                raise ValidationError(
                    {"allowed_attributes": f"unknown {domain} attributes: {sorted(unknown)}"})

    def key_field(self, domain: str) -> str:
        """The feed field holding a record's key (``source_key`` unless configured)."""
        return (self.record_key_fields or {}).get(domain) or "source_key"

    def may_write(self, domain: str, attribute: str) -> bool:
        allowed = (self.allowed_attributes or {}).get(domain)
        return allowed is None or attribute in allowed


class FieldMapping(models.Model):
    """Maps one field of a source's feed to one canonical attribute."""

    class Transform(models.TextChoices):
        NONE = "", "as is"
        SPLIT = "split", "split a multi-value cell on ; , / 、"

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="mappings")
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    source_field = models.CharField(max_length=200)
    attribute = models.CharField(max_length=60)
    transform = models.CharField(max_length=20, choices=Transform.choices, blank=True)
    options = models.JSONField(
        default=dict, blank=True,
        help_text='Standardiser options, e.g. {"date_format": "%d/%m/%Y"}, {"dayfirst": true}, '
        '{"default_region": "CN"}, {"timezone": "Europe/Berlin"}; {"on_invalid": "drop"} drops '
        'a value that cannot be standardised instead of quarantining the record.',
    )

    history = history()

    class Meta:
        ordering = ["source", "domain", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "domain", "source_field", "attribute"],
                                    name="uniq_field_mapping"),
        ]

    def __str__(self) -> str:
        return f"{self.source}.{self.domain}: {self.source_field} → {self.attribute}"

    def clean(self) -> None:
        if self.domain in DOMAINS and not DOMAINS[self.domain].attribute(self.attribute):
            raise ValidationError({"attribute": f"'{self.attribute}' is not a {self.domain} "
                                   f"attribute"})


class ValueMap(models.Model):
    """Translates a source's code for an attribute into the canonical value."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="value_maps")
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    attribute = models.CharField(max_length=60)
    source_value = models.CharField(max_length=200)
    canonical_value = models.CharField(max_length=200)

    history = history()

    class Meta:
        ordering = ["source", "domain", "attribute", "source_value"]
        constraints = [
            models.UniqueConstraint(fields=["source", "domain", "attribute", "source_value"],
                                    name="uniq_value_map"),
        ]

    def __str__(self) -> str:
        return f"{self.source}.{self.domain}.{self.attribute}: {self.source_value} → " \
               f"{self.canonical_value}"

    def clean(self) -> None:
        attribute = DOMAINS[self.domain].attribute(self.attribute) if self.domain in DOMAINS \
            else None
        if attribute is None:
            raise ValidationError({"attribute": f"'{self.attribute}' is not a {self.domain} "
                                   f"attribute"})
        if attribute.choices and self.canonical_value not in attribute.choices:
            raise ValidationError({"canonical_value": f"must be one of {list(attribute.choices)}"})


class ValidationRule(models.Model):
    """A check on a canonical attribute; a record failing it is quarantined with the reason."""

    class Rule(models.TextChoices):
        REQUIRED = "required", "required"
        FORMAT = "format", "matches a regular expression (params: pattern)"
        ALLOWED_VALUES = "allowed_values", "one of a list (params: values)"
        REFERENCE_EXISTS = "reference_exists", "names an existing record (params: domain)"

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    attribute = models.CharField(max_length=60)
    rule = models.CharField(max_length=20, choices=Rule.choices)
    params = models.JSONField(default=dict, blank=True)
    source = models.ForeignKey(SourceSystem, null=True, blank=True, on_delete=models.CASCADE,
                               help_text="Only for this source (blank: every source).")
    message = models.CharField(max_length=300, blank=True,
                               help_text="Shown to stewards instead of the default message.")
    is_active = models.BooleanField(default=True)

    history = history()

    class Meta:
        ordering = ["domain", "attribute", "id"]

    def __str__(self) -> str:
        return f"{self.domain}.{self.attribute} {self.rule}"

    def clean(self) -> None:
        from mdm.sources.validation import rule_config_errors

        errors = rule_config_errors(self.domain, self.attribute, self.rule, self.params)
        if errors:
            raise ValidationError(errors)


class IngestBatch(models.Model):
    """One delivery of records: an API call, a file import, a pull, a re-process run."""

    class Channel(models.TextChoices):
        API = "api"
        FILE = "file"
        PULL = "pull"
        REPROCESS = "reprocess"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="batches")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    origin = models.CharField(max_length=500, blank=True, help_text="File name or URL.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL)
    request_id = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "ingest batches"

    def __str__(self) -> str:
        return f"{self.source} {self.channel} #{self.pk}"


class SourceRecord(models.Model):
    """The crosswalk: one record of one source system, and the golden record it belongs to.

    ``raw_payload`` is the record as received (JSON text, key order and number text kept);
    ``attributes`` are the mapped, standardised canonical values of the last version that
    passed mapping and validation. A quarantined update keeps the previous good
    ``attributes`` so the golden record is not changed by bad input.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        QUARANTINED = "quarantined"
        DELETED = "deleted"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="records")
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    source_key = models.CharField(max_length=200)
    golden_id = models.UUIDField(null=True, blank=True, db_index=True)
    raw_payload = models.TextField()
    attributes = models.JSONField(default=dict, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    quarantine_reasons = models.JSONField(default=list, blank=True)
    refused_values = models.JSONField(default=dict, blank=True)
    base_version = models.PositiveIntegerField(null=True, blank=True)
    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="records")

    history = history()

    class Meta:
        ordering = ["source", "domain", "source_key"]
        constraints = [
            models.UniqueConstraint(fields=["source", "domain", "source_key"],
                                    name="uniq_source_record"),
        ]
        indexes = [models.Index(fields=["status", "domain"], name="sourcerecord_status")]

    def __str__(self) -> str:
        return f"{self.source}:{self.domain}:{self.source_key}"


class RejectedRecord(models.Model):
    """Input that could not become a source record version, kept with why it was refused.

    Unparseable lines, rows without a key, versions older than the stored one, and writes
    a source is not allowed to make all land here: nothing received is lost.
    """

    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="rejected")
    source = models.ForeignKey(SourceSystem, null=True, blank=True, on_delete=models.PROTECT)
    domain = models.CharField(max_length=20, blank=True)
    source_key = models.CharField(max_length=200, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    raw = models.TextField(blank=True)
    reasons = models.JSONField(default=list)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"rejected {self.source}:{self.source_key or self.line}"


class FeedUpload(models.Model):
    """A feed file uploaded in the web interface: kept as received, then imported by a
    background task that reports its progress (rows done of the total) as it goes."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey(SourceSystem, on_delete=models.PROTECT, related_name="uploads")
    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=10)
    content = models.BinaryField(help_text="The file exactly as uploaded.")
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    problems = models.JSONField(default=list, blank=True)
    problems_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    batch = models.ForeignKey(IngestBatch, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.source}:{self.domain} {self.file_name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_done / self.rows_total))
