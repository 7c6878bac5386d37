"""Bulk re-match: score every candidate pair of a domain again under the current rule,
cluster them from scratch, and report (or apply) how golden records would merge or split.

:func:`rematch_start` cuts the domain's blocking keys into key ranges, one Celery task per
range (:func:`rematch_partition` scores the pairs of its blocks and keeps the links at or
above the review threshold); the last partition to finish runs :func:`rematch_finish`,
which clusters all links with the same guards as incremental matching and compares the
clusters with today's golden records. A dry run stops at the report.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mdm.core.errors import Conflict
from mdm.core.locks import domain_write_lock
from mdm.matching.clustering import REVIEW, Clusters
from mdm.matching.models import BlockingKey, MatchCandidate, MatchLabel, RematchEdge, RematchRun
from mdm.matching.rules import MatchModel
from mdm.matching.services import (
    block_pairs,
    match_candidates_propose,
    match_rule_for,
)
from mdm.sources.selectors import matchable_record_attributes, matchable_records

PAIR_CHUNK = 20_000
REPORT_ITEMS = 200  # listed merges and splits per report; the counts are always complete


@transaction.atomic
def rematch_start(*, domain: str, dry_run: bool = True, partitions: int = 4,
                  actor: Any = None) -> RematchRun:
    """Start a re-match of ``domain``; its tasks are queued when this transaction commits."""
    from mdm.matching.tasks import rematch_partition_task

    if RematchRun.objects.filter(domain=domain, status=RematchRun.Status.RUNNING).exists():
        raise Conflict(f"a re-match of {domain} is already running")
    rule = match_rule_for(domain)
    bounds = _key_bounds(domain, max(1, partitions))
    run = RematchRun.objects.create(
        domain=domain, rule_version=rule.version, dry_run=dry_run, partitions=len(bounds),
        started_by=actor if getattr(actor, "pk", None) else None,
        report={"key_ranges": [[lo, hi] for lo, hi in bounds]})
    for index in range(len(bounds)):
        transaction.on_commit(lambda i=index: rematch_partition_task.delay(run.pk, i))
    return run


def _key_bounds(domain: str, partitions: int) -> list[tuple[str, str | None]]:
    """``partitions`` key ranges [low, high) with about as many distinct keys each."""
    keys = BlockingKey.objects.filter(domain=domain).values_list("key", flat=True) \
        .distinct().order_by("key")
    total = keys.count()
    starts = [""]
    for i in range(1, partitions):
        found = list(keys[total * i // partitions: total * i // partitions + 1])
        if found and found[0] > starts[-1]:
            starts.append(found[0])
    return [(low, starts[i + 1] if i + 1 < len(starts) else None) for i, low in enumerate(starts)]


def rematch_partition(*, run_id: int, index: int) -> int:
    """Score the candidate pairs of one key range; returns the links kept. The last
    partition to finish queues the run's finish."""
    from mdm.matching.tasks import rematch_finish_task

    run = RematchRun.objects.get(pk=run_id)
    low, high = run.report["key_ranges"][index]
    model = MatchModel(match_rule_for(run.domain))
    rows = BlockingKey.objects.filter(domain=run.domain, key__gte=low)
    if high is not None:
        rows = rows.filter(key__lt=high)
    rows = rows.order_by("key", "source_record_id").values_list("key", "source_record_id")
    kept = 0
    for pairs in _chunks(_distinct(block_pairs(rows.iterator(chunk_size=20_000),
                                               model.max_block_size)), PAIR_CHUNK):
        attributes = matchable_record_attributes(record_ids={pk for pair in pairs for pk in pair})
        edges = []
        for a, b in pairs:
            if a in attributes and b in attributes:
                weight = model.weight(attributes[a][1], attributes[b][1])
                if weight >= model.review_weight:
                    edges.append(RematchEdge(run=run, record_a_id=a, record_b_id=b,
                                             weight=weight))
        RematchEdge.objects.bulk_create(edges, batch_size=5_000)
        kept += len(edges)
    with transaction.atomic():
        RematchRun.objects.filter(pk=run_id).update(partitions_done=F("partitions_done") + 1)
        run.refresh_from_db(fields=["partitions_done"])
        if run.partitions_done == run.partitions:
            transaction.on_commit(lambda: rematch_finish_task.delay(run_id))
    return kept


def _distinct(pairs: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    for pair in pairs:
        if pair not in seen:
            seen.add(pair)
            yield pair


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def rematch_finish(*, run_id: int) -> RematchRun:
    """Cluster the run's links, report what would change and, unless a dry run, apply it."""
    run = RematchRun.objects.get(pk=run_id)
    rule = match_rule_for(run.domain)
    if rule.version != run.rule_version:
        return _fail(run, f"the match rule changed (v{run.rule_version} → v{rule.version}) "
                          "while the run was scoring; start it again")
    try:
        with transaction.atomic():
            domain_write_lock(run.domain)
            report = _regroup(run, MatchModel(rule))
            run.report = {**run.report, **report}
            run.status, run.finished_at = RematchRun.Status.DONE, timezone.now()
            run.save(update_fields=["report", "status", "finished_at"])
    except Exception as exc:  # the run must say it failed, whatever the reason
        _fail(run, f"{type(exc).__name__}: {exc}")
        raise
    RematchEdge.objects.filter(run=run).delete()
    return run


def _fail(run: RematchRun, message: str) -> RematchRun:
    run.status, run.error, run.finished_at = RematchRun.Status.FAILED, message, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run


def _regroup(run: RematchRun, model: MatchModel) -> dict[str, Any]:
    golden_of, where = {}, {}
    for pk, golden_id, source, key in matchable_records(domain=run.domain):
        golden_of[pk], where[pk] = golden_id, (source, key)
    edges = sorted(RematchEdge.objects.filter(run=run)
                   .values_list("weight", "record_a_id", "record_b_id"), reverse=True)
    edges = [(w, a, b) for w, a, b in dict.fromkeys(edges) if a in golden_of and b in golden_of]
    clusters = Clusters.for_model(model, _not_a_match_pairs(run.domain, set(golden_of)))
    for pk in golden_of:
        clusters.add(pk)
    for a, b in _labelled_matches(run.domain, set(golden_of)):
        clusters.link(a, b, float("inf"))
    review = []
    for weight, a, b in edges:
        decision = clusters.link(a, b, weight)
        if decision.outcome == REVIEW:
            review.append((a, b, decision.reason))
    groups: dict[uuid.UUID, list[int]] = defaultdict(list)
    for pk in golden_of:
        groups[clusters.cluster_of(pk)].append(pk)
    merges = [sorted({golden_of[pk] for pk in members}, key=str) for members in groups.values()
              if len({golden_of[pk] for pk in members}) > 1]
    parts: dict[uuid.UUID, dict[uuid.UUID, list[int]]] = defaultdict(dict)
    for cluster_id, members in groups.items():
        for pk in members:
            parts[golden_of[pk]].setdefault(cluster_id, []).append(pk)
    splits = {g: list(p.values()) for g, p in parts.items() if len(p) > 1}
    report = {
        "rule_version": model.version, "records": len(golden_of),
        "golden_records_before": len(parts), "golden_records_after": len(groups),
        "links_scored": len(edges),
        "links_review": len(review),
        "would_merge": len(merges), "would_split": len(splits),
        "merges": [{"golden_ids": [str(g) for g in gs]} for gs in merges[:REPORT_ITEMS]],
        "splits": [{"golden_id": str(g), "into": [[f"{where[pk][0]}:{where[pk][1]}"
                                                   for pk in p] for p in ps]}
                   for g, ps in list(splits.items())[:REPORT_ITEMS]],
    }
    if not run.dry_run:
        _apply(run, model, golden_of, where, groups, splits, review)
    return report


def _not_a_match_pairs(domain: str, records: set[int]) -> set[frozenset[int]]:
    rows = MatchCandidate.objects.filter(domain=domain, status=MatchCandidate.Status.NOT_A_MATCH) \
        .values_list("record_a_id", "record_b_id")
    return {frozenset(pair) for pair in rows if set(pair) <= records}


def _labelled_matches(domain: str, records: set[int]) -> list[tuple[int, int]]:
    """Pairs a steward merged from the review queue stay together."""
    latest: dict[tuple[int, int], bool] = {}
    for a, b, is_match in MatchLabel.objects.filter(domain=domain).order_by("decided_at", "id") \
            .values_list("record_a_id", "record_b_id", "is_match"):
        latest[(a, b)] = is_match
    return [pair for pair, is_match in latest.items() if is_match and set(pair) <= records]


def _apply(run: RematchRun, model: MatchModel, golden_of: dict[int, uuid.UUID],
           where: dict[int, tuple[str, str]], groups: dict[uuid.UUID, list[int]],
           splits: dict[uuid.UUID, list[list[int]]], review: list[tuple[int, int, str]]) -> None:
    """Split, then merge, through the golden-record services (events, history, pointers)."""
    from mdm.golden.services import golden_record_unmerge, golden_records_merge

    actor, reason = run.started_by, f"re-match run {run.pk} (rule v{model.version})"
    for golden_id, parts in splits.items():
        for part in sorted(parts, key=len, reverse=True)[1:]:
            split_ids = []
            for pk in part:
                _, split = golden_record_unmerge(domain=run.domain, golden_id=golden_id,
                                                 source=where[pk][0], source_key=where[pk][1],
                                                 actor=actor)
                split_ids.append(split.id)
            if len(set(split_ids)) > 1:
                golden_records_merge(domain=run.domain, survivor_id=split_ids[0],
                                     merged_ids=split_ids[1:], actor=actor, reason=reason)
    now = matchable_record_attributes(record_ids=golden_of)
    for members in groups.values():
        goldens = sorted({now[pk][0] for pk in members if pk in now},
                         key=lambda g: (-sum(now[p][0] == g for p in members if p in now), str(g)))
        if len(goldens) > 1:
            golden_records_merge(domain=run.domain, survivor_id=goldens[0],
                                 merged_ids=goldens[1:], actor=actor, reason=reason)
    now = matchable_record_attributes(record_ids={pk for a, b, _ in review for pk in (a, b)})
    match_candidates_propose(domain=run.domain, model=model, actor=actor, proposals=[
        (a, now[a][0], now[a][1], b, now[b][0], now[b][1], reason)
        for a, b, reason in review if a in now and b in now and now[a][0] != now[b][0]])
