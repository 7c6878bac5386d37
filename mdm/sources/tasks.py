"""Celery tasks of the sources stage: thin wrappers that take ids only."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from mdm.core.middleware import set_request_id
from mdm.sources.models import SourceSystem
from mdm.sources.services import feed_upload_process, source_pull


@shared_task(name="mdm.sources.tasks.sync_due_sources")
def sync_due_sources() -> list[str]:
    """Beat, every minute: queue a pull for each source whose interval has elapsed."""
    now = timezone.now()
    due = []
    for source in SourceSystem.objects.filter(is_active=True, is_source=True,
                                              pull_interval_minutes__gt=0).exclude(connector=""):
        interval = timedelta(minutes=source.pull_interval_minutes)
        if source.last_pulled_at is None or source.last_pulled_at + interval <= now:
            due.append(source.code)
            transaction.on_commit(lambda pk=source.pk: pull_source.delay(pk))
    return due


@shared_task(name="mdm.sources.tasks.pull_source")
def pull_source(source_id: int) -> dict[str, int]:
    set_request_id()
    source = SourceSystem.objects.get(pk=source_id)
    return source_pull(source=source).counts


@shared_task(name="mdm.sources.tasks.process_feed_upload", acks_late=True)
def process_feed_upload(upload_id: int) -> dict[str, int]:
    """Import a feed file uploaded in the web interface (queued after its commit)."""
    set_request_id()
    return feed_upload_process(upload_id=upload_id).counts
