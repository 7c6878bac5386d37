"""Reads of the matching stage: the review queue, rules and re-match runs."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import F, Q, QuerySet

from mdm.matching.blocking import name_lookup
from mdm.matching.models import BlockingKey, MatchCandidate, RematchRun

NAME_SEARCH_LIMIT = 1000


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


def match_candidate_get(*, user: Any, candidate_id: int) -> MatchCandidate | None:
    """One pair a user may see, whatever its status; None when missing or out of scope."""
    return match_candidates_list(user=user, status="").filter(pk=candidate_id).first()


def match_candidate_neighbours(*, user: Any, candidate: MatchCandidate, domain: str = "",
                               ) -> tuple[int | None, int | None]:
    """The ids of the open pairs just before and just after ``candidate`` in the queue
    order (strongest first); ``candidate`` itself need not be open any more."""
    queue = match_candidates_list(user=user, domain=domain).exclude(pk=candidate.pk)
    weight, pk = candidate.weight, candidate.pk
    before = queue.filter(Q(weight__gt=weight) | Q(weight=weight, id__lt=pk)) \
        .order_by("weight", "-id").values_list("pk", flat=True).first()
    after = queue.filter(Q(weight__lt=weight) | Q(weight=weight, id__gt=pk)) \
        .values_list("pk", flat=True).first()
    return before, after


def rematch_runs_list(*, domain: str = "") -> QuerySet[RematchRun]:
    runs = RematchRun.objects.select_related("started_by")
    return runs.filter(domain=domain) if domain else runs


def golden_ids_by_name(*, domain: str, name: str,
                       limit: int = NAME_SEARCH_LIMIT) -> set[uuid.UUID]:
    """Golden ids whose source records carry ``name`` under the matching's name keys, so a
    search finds a person across scripts and word order (张伟 = Zhang Wei = wei zhang) and
    a company in either legal-name order. Customers only; at most ``limit`` ids."""
    if domain != "customer":
        return set()
    exact, prefixes = name_lookup(name)
    if not exact:
        return set()
    query = Q(key__in=exact)
    for prefix in prefixes:
        query |= Q(key__startswith=prefix)
    rows = BlockingKey.objects.filter(query, domain=domain).values_list("golden_id", flat=True)
    return set(rows.distinct()[:limit])
