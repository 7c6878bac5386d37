"""The match-key index: which golden record each source record's identifiers point to."""

from __future__ import annotations

from django.db import models

from mdm.core.domains import DOMAIN_CHOICES


class MatchKey(models.Model):
    """One identifier value of one source record, indexed for candidate lookup.

    A derived index (rebuilt from source records), so it keeps no history.
    """

    domain = models.CharField(max_length=20, choices=DOMAIN_CHOICES)
    kind = models.CharField(max_length=40)
    value = models.CharField(max_length=300)
    golden_id = models.UUIDField(db_index=True)
    source_record_id = models.BigIntegerField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["domain", "kind", "value"], name="matchkey_lookup")]

    def __str__(self) -> str:
        return f"{self.domain}.{self.kind}={self.value} → {self.golden_id}"
