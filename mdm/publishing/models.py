"""The outbox: every golden change as an event, written in the change's own transaction."""

from __future__ import annotations

import uuid

from django.db import models

from mdm.core.domains import DOMAIN_CHOICES


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type} {self.golden_id} v{self.version}"
