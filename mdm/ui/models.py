"""The audit trail of what stewards did in the web interface."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StewardAction(models.Model):
    """One action taken in the web interface (merge, resolve, approve, upload…), kept
    whether the hub carried it out or refused it, with who, when and on what."""

    class Outcome(models.TextChoices):
        DONE = "done"
        REFUSED = "refused"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=80)
    target = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    message = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.target} ({self.outcome})"
