"""Record linkage: match rules, the blocking-key index, the review queue and re-match runs."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from mdm.core.domains import DOMAIN_CHOICES
from mdm.core.history import history


class BlockingKey(models.Model):
    """One blocking key of one active source record (``phone:+8613800138000``).

    Candidate retrieval looks records up by key, so matching a new record costs a few index
    lookups however many records exist. A derived index, rebuilt from source records, so it
    keeps no history.
    """

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    key = models.CharField(max_length=255)
    source_record_id = models.BigIntegerField(db_index=True)
    golden_id = models.UUIDField()

    class Meta:
        indexes = [models.Index(fields=["domain", "key"], name="blockingkey_lookup")]

    def __str__(self) -> str:
        return f"{self.domain} {self.key} → record {self.source_record_id}"


class Classifier(models.TextChoices):
    FELLEGI_SUNTER = "fellegi_sunter", "Fellegi–Sunter (m/u from ECM)"
    LOGISTIC_REGRESSION = "logistic_regression", "logistic regression (steward labels)"


class MatchRule(models.Model):
    """How one domain's records are linked: blocking keys, comparisons, classifier, thresholds.

    Every change to what decides a match raises ``version`` (history keeps each version);
    review candidates and re-match runs name the version they were scored with. Scores
    are match weights: log2 of the odds that a pair is a match, so ``probability =
    2**w / (1 + 2**w)``; a weight of 10 is about 0.999.
    """

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES, unique=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    blocking_keys = models.JSONField(
        default=list, help_text="Blocking key kinds; a pair is scored only if the two "
        "records share a key of one of these kinds.")
    comparisons = models.JSONField(
        default=list, help_text='[{"name", "attribute", "method", "thresholds", "party"}]; '
        'attribute "a|b" compares the best of several attributes.')
    classifier = models.CharField(max_length=30, choices=Classifier.choices,
                                  default=Classifier.FELLEGI_SUNTER)
    parameters = models.JSONField(
        default=dict, help_text='Fellegi–Sunter: {"prior", "m": {name: [per level]}, "u": …}; '
        'logistic regression: {"intercept", "coefficients": {name: [per level]}}.')
    auto_merge_weight = models.FloatField(default=10.0, help_text="At or above: merged.")
    review_weight = models.FloatField(default=0.0, help_text="At or above (and below auto "
                                      "merge): a steward reviews the pair. Below: not linked.")
    bridge_weight = models.FloatField(
        default=24.0, help_text="Two clusters of two or more records each are joined only "
        "through a link at least this strong; a weaker link goes to review.")
    max_cluster_size = models.PositiveIntegerField(
        default=20, help_text="A link that would make a golden record hold more source "
        "records goes to review instead.")
    max_block_size = models.PositiveIntegerField(
        default=500, help_text="Blocking keys shared by more records are too common to "
        "retrieve candidates with (stop words) and are skipped.")
    trained_on = models.CharField(max_length=200, blank=True, default="")
    trained_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    SCORING_FIELDS = ("blocking_keys", "comparisons", "classifier", "parameters",
                      "auto_merge_weight", "review_weight", "bridge_weight",
                      "max_cluster_size", "max_block_size")

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return f"{self.domain} match rule v{self.version}"

    def clean(self) -> None:
        from mdm.matching.rules import rule_errors

        errors = rule_errors(self)
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs) -> None:
        """A saved change to anything that decides a match is a new version."""
        if self.pk:
            before = MatchRule.objects.filter(pk=self.pk).values(*self.SCORING_FIELDS).first()
            if before and any(before[f] != getattr(self, f) for f in self.SCORING_FIELDS):
                self.version += 1
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)


class MatchCandidate(models.Model):
    """A pair of source records a steward should look at: scored in the review band, or
    above it but held back by the over-merge guard. One row per pair; a decision stays
    with the pair until either record changes what its comparisons see (fingerprint)."""

    class Status(models.TextChoices):
        OPEN = "open", "open"
        MERGED = "merged", "merged"
        NOT_A_MATCH = "not_a_match", "not a match"

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    record_a = models.ForeignKey("sources.SourceRecord", on_delete=models.CASCADE,
                                 related_name="+")
    record_b = models.ForeignKey("sources.SourceRecord", on_delete=models.CASCADE,
                                 related_name="+")
    golden_a = models.UUIDField()
    golden_b = models.UUIDField()
    weight = models.FloatField()
    probability = models.FloatField()
    breakdown = models.JSONField(default=list)
    reason = models.CharField(max_length=200)
    rule_version = models.PositiveIntegerField()
    fingerprint_a = models.CharField(max_length=64)
    fingerprint_b = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = history()

    class Meta:
        ordering = ["-weight", "id"]
        constraints = [models.UniqueConstraint(fields=["record_a", "record_b"],
                                               name="matchcandidate_one_row_per_pair")]
        indexes = [models.Index(fields=["domain", "status", "-weight"],
                                name="matchcandidate_queue")]

    def __str__(self) -> str:
        return f"{self.domain} {self.record_a_id}~{self.record_b_id} ({self.weight:.1f})"


class MatchLabel(models.Model):
    """A steward's decision on a pair, kept as a training example: the comparison levels
    the pair had when it was decided, and whether it is a match."""

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    record_a_id = models.BigIntegerField()
    record_b_id = models.BigIntegerField()
    levels = models.JSONField(help_text="{comparison name: level or null}")
    is_match = models.BooleanField()
    rule_version = models.PositiveIntegerField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["domain", "record_a_id", "record_b_id"],
                                name="matchlabel_pair")]


class RematchRun(models.Model):
    """A bulk re-match of a domain under one rule version, partitioned into tasks by
    blocking key; its report says which golden records would merge or split."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    rule_version = models.PositiveIntegerField()
    dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    partitions = models.PositiveIntegerField()
    partitions_done = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"re-match {self.domain} v{self.rule_version} ({self.status})"


class RematchEdge(models.Model):
    """A scored pair found by one partition of a re-match run (auto or review band)."""

    run = models.ForeignKey(RematchRun, on_delete=models.CASCADE, related_name="edges")
    record_a_id = models.BigIntegerField()
    record_b_id = models.BigIntegerField()
    weight = models.FloatField()
