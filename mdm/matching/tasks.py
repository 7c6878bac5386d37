"""Celery tasks of the matching stage: thin, ids only."""

from __future__ import annotations

from celery import shared_task

from mdm.core.middleware import set_request_id
from mdm.matching.rematch import rematch_finish, rematch_partition


@shared_task(name="mdm.matching.tasks.rematch_partition", acks_late=True)
def rematch_partition_task(run_id: int, index: int) -> int:
    """Score one key range of a re-match run."""
    set_request_id()
    return rematch_partition(run_id=run_id, index=index)


@shared_task(name="mdm.matching.tasks.rematch_finish", acks_late=True)
def rematch_finish_task(run_id: int) -> str:
    """Cluster a re-match run's links; report, and apply unless a dry run."""
    set_request_id()
    return rematch_finish(run_id=run_id).status
