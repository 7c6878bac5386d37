"""Reads of the matching stage: the review queue, rules and re-match runs."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from mdm.matching.models import MatchCandidate, RematchRun


def match_candidates_list(*, user: Any, domain: str = "", status: str = "open",
                          ) -> QuerySet[MatchCandidate]:
    """The review queue a user may see, strongest pairs first. Open pairs whose records
    have since come together (merged some other way) are left out."""
    from mdm.stewardship.selectors import steward_domains

    candidates = MatchCandidate.objects.select_related(
        "record_a__source", "record_b__source", "claimed_by", "decided_by")
    domains = steward_domains(user)
    if domains is not None:
        candidates = candidates.filter(domain__in=domains)
    if domain:
        candidates = candidates.filter(domain=domain)
    if status:
        candidates = candidates.filter(status=status)
    if status == MatchCandidate.Status.OPEN:
        candidates = candidates.exclude(record_a__golden_id=F("record_b__golden_id"))
    return candidates.order_by("-weight", "id")


def rematch_runs_list(*, domain: str = "") -> QuerySet[RematchRun]:
    runs = RematchRun.objects.select_related("started_by")
    return runs.filter(domain=domain) if domain else runs
