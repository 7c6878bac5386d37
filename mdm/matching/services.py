"""Record linkage writes: match incoming records, keep the blocking-key index, run the
review queue, train the rules.

Ingest calls :func:`match_plan` with a batch's active records before it stores them (the
plan says which golden record each belongs to, which stored golden records the batch
joins, and which pairs a steward should review) and :func:`match_plan_apply` after (the
index, the review queue). Candidate retrieval is a few index lookups per record: the
blocking keys it shares with stored records, capped per key; scoring and clustering are
:mod:`mdm.matching.rules` and :mod:`mdm.matching.clustering`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from mdm.core.bulk import bulk_insert_rows, bulk_save_with_history
from mdm.core.errors import Conflict, NotFound, ValidationFailed
from mdm.matching.blocking import blocking_keys
from mdm.matching.clustering import REVIEW, Clusters
from mdm.matching.models import (
    BlockingKey,
    Classifier,
    MatchCandidate,
    MatchLabel,
    MatchRule,
)
from mdm.matching.rules import MatchModel, default_rule_fields
from mdm.matching.training import fit_ecm, fit_logistic
from mdm.sources.selectors import (
    matchable_record_attributes,
    matchable_record_counts,
    matchable_records,
)

CLAIM_TTL = timedelta(minutes=15)
MERGE, NOT_A_MATCH = "merge", "not_a_match"
Node = tuple[str, Hashable]  # ("r", stored record id) or ("n", caller's ref of a new record)


# --------------------------------------------------------------------------- rules

def match_rule_for(domain: str) -> MatchRule:
    """The domain's match rule, created with the defaults the first time it is needed."""
    rule = MatchRule.objects.filter(domain=domain).first()
    if rule is None:
        rule, _ = MatchRule.objects.get_or_create(domain=domain,
                                                  defaults=default_rule_fields(domain))
    return rule


def match_model_for(domain: str) -> MatchModel:
    return MatchModel(match_rule_for(domain))


def blocking_keys_of(model: MatchModel, attributes: dict[str, Any]) -> list[str]:
    """A record's blocking keys of the kinds the rule uses, sorted."""
    return sorted(k for k in blocking_keys(model.domain, attributes)
                  if k.split(":", 1)[0] in model.blocking_kinds and len(k) <= 255)


# --------------------------------------------------------------------------- incremental

@dataclass(frozen=True)
class MatchInput:
    """A record to match: the caller's ref, its stored id (None if new), its attributes
    and the golden record it is linked to (None if new)."""

    ref: Hashable
    pk: int | None
    attributes: dict[str, Any]
    golden_id: uuid.UUID | None


@dataclass
class Proposal:
    """A pair for the review queue; sides are nodes until the new records are stored."""

    a: Node
    b: Node
    weight: float
    reason: str
    a_attributes: dict[str, Any]
    b_attributes: dict[str, Any]
    a_golden: uuid.UUID | None = None
    b_golden: uuid.UUID | None = None


@dataclass
class MatchPlan:
    domain: str
    model: MatchModel
    assigned: dict[Hashable, uuid.UUID] = field(default_factory=dict)
    keys: dict[Hashable, list[str]] = field(default_factory=dict)
    merges: list[tuple[uuid.UUID, list[uuid.UUID]]] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)


def match_plan(*, domain: str, records: Sequence[MatchInput]) -> MatchPlan:
    """Decide which golden record each record belongs to (reads only).

    Each record in turn is scored against the stored records and the batch's earlier
    records that share a blocking key with it; its links, strongest first, go through the
    clustering guards. A linked record keeps its golden record; two stored golden records
    joined by the batch are to be merged (``plan.merges``).
    """
    model = match_model_for(domain)
    plan = MatchPlan(domain, model)
    plan.keys = {r.ref: blocking_keys_of(model, r.attributes) for r in records}
    batch_pks = {r.pk for r in records if r.pk}
    indexed = _indexed_records(domain, {k for keys in plan.keys.values() for k in keys},
                               model.max_block_size, batch_pks)
    stored = matchable_record_attributes(record_ids={pk for pks in indexed.values() for pk in pks})
    sizes = matchable_record_counts(domain=domain, golden_ids={g for g, _ in stored.values()}
                           | {r.golden_id for r in records if r.golden_id})
    attributes_of = {("r", pk): a for pk, (_, a) in stored.items()}
    attributes_of |= {_node(r): r.attributes for r in records}
    clusters = Clusters.for_model(model, _cannot_links(model, attributes_of))
    for pk, (golden_id, _) in stored.items():
        clusters.add(("r", pk), golden_id, size=sizes.get(golden_id, 1), existing=True)
    earlier: dict[str, list[MatchInput]] = {}
    for record in records:
        node = _node(record)
        clusters.add(node, record.golden_id, size=sizes.get(record.golden_id, 1),
                     existing=record.golden_id is not None)
        candidates: dict[Node, dict[str, Any]] = {}
        for key in plan.keys[record.ref]:
            pks = indexed.get(key, [])
            if len(pks) + len(earlier.get(key, [])) >= model.max_block_size:
                continue
            candidates.update({("r", pk): stored[pk][1] for pk in pks if pk in stored})
            candidates.update({_node(o): o.attributes for o in earlier.get(key, [])})
            earlier.setdefault(key, []).append(record)
        links = sorted(((model.weight(record.attributes, attributes), str(other), other)
                        for other, attributes in candidates.items()), reverse=True)
        for weight, _, other in links:
            decision = clusters.link(node, other, weight)
            if decision.outcome == REVIEW:
                plan.proposals.append(Proposal(node, other, weight, decision.reason,
                                               record.attributes, candidates[other]))
    plan.assigned = {r.ref: clusters.cluster_of(_node(r)) for r in records}
    plan.merges = clusters.merge_groups()
    for proposal in plan.proposals:
        proposal.a_golden = clusters.cluster_of(proposal.a)
        proposal.b_golden = clusters.cluster_of(proposal.b)
    plan.proposals = [p for p in plan.proposals if p.a_golden != p.b_golden]
    return plan


def _node(record: MatchInput) -> Node:
    return ("r", record.pk) if record.pk else ("n", record.ref)


def _indexed_records(domain: str, keys: set[str], max_block_size: int,
                     exclude: set[int]) -> dict[str, list[int]]:
    """Stored record ids per blocking key, at most ``max_block_size`` per key (a larger
    block is skipped by the caller, so more are never needed)."""
    found: dict[str, list[int]] = {}
    if not keys:
        return found
    rows = (BlockingKey.objects.filter(domain=domain, key__in=keys)
            .annotate(rank=Window(RowNumber(), partition_by=[F("key")], order_by=F("id").asc()))
            .filter(rank__lte=max_block_size).values_list("key", "source_record_id"))
    for key, pk in rows:
        if pk not in exclude:
            found.setdefault(key, []).append(pk)
    return found


def _cannot_links(model: MatchModel,
                  attributes_of: dict[Node, dict[str, Any]]) -> set[frozenset[Node]]:
    """Pairs stewards said are not a match, while neither record changed materially.
    Fingerprints are computed only for records that have such a decision."""
    pks = [pk for kind, pk in attributes_of if kind == "r"]
    if not pks:
        return set()
    rows = MatchCandidate.objects.filter(
        Q(record_a_id__in=pks) | Q(record_b_id__in=pks), domain=model.domain,
        status=MatchCandidate.Status.NOT_A_MATCH,
    ).values_list("record_a_id", "record_b_id", "fingerprint_a", "fingerprint_b")

    def unchanged(pk: int, fingerprint: str) -> bool:
        attributes = attributes_of.get(("r", pk))
        return attributes is None or model.fingerprint(attributes) == fingerprint

    return {frozenset((("r", a), ("r", b))) for a, b, fa, fb in rows
            if unchanged(a, fa) and unchanged(b, fb)}


def match_plan_apply(*, plan: MatchPlan, record_ids: dict[Hashable, int],
                     unindexed: Iterable[int] = (), actor: Any = None) -> None:
    """After the batch's records are stored: index their keys (``unindexed`` records,
    deleted ones, lose theirs) and queue the review proposals."""
    entries = [(record_ids[ref], plan.assigned[ref], keys) for ref, keys in plan.keys.items()]
    entries += [(pk, None, []) for pk in unindexed]
    blocking_keys_index(domain=plan.domain, entries=entries)

    def stored(node: Node) -> int:
        return node[1] if node[0] == "r" else record_ids[node[1]]

    match_candidates_propose(domain=plan.domain, model=plan.model, actor=actor, proposals=[
        (stored(p.a), p.a_golden, p.a_attributes, stored(p.b), p.b_golden, p.b_attributes,
         p.reason) for p in plan.proposals])


# --------------------------------------------------------------------------- the index

@transaction.atomic
def blocking_keys_index(*, domain: str,
                        entries: Iterable[tuple[int, uuid.UUID | None, list[str]]]) -> int:
    """Replace the indexed keys of source records: ``(record id, golden id, keys)``; no
    golden id or no keys only removes them. Returns the number of keys written."""
    entries = list(entries)
    BlockingKey.objects.filter(source_record_id__in=[e[0] for e in entries]).delete()
    rows = [BlockingKey(domain=domain, key=key, golden_id=golden_id, source_record_id=pk)
            for pk, golden_id, keys in entries if golden_id for key in keys]
    bulk_insert_rows(BlockingKey, rows)
    return len(rows)


def blocking_keys_repoint(*, record_ids: Sequence[int], golden_id: uuid.UUID) -> int:
    """The records moved to another golden record (merge, unmerge): so do their keys."""
    return BlockingKey.objects.filter(source_record_id__in=list(record_ids)) \
        .update(golden_id=golden_id)


# --------------------------------------------------------------------------- review queue

def match_candidates_propose(*, domain: str, model: MatchModel, actor: Any = None,
                             proposals: Iterable[tuple[int, uuid.UUID, dict, int, uuid.UUID,
                                                       dict, str]]) -> int:
    """Queue pairs for review with their score breakdown. A pair already queued is
    re-scored; one a steward called not a match stays closed unless either record changed
    what the comparisons see. Returns how many pairs are open for review."""
    by_pair = {}
    for pk_a, golden_a, attrs_a, pk_b, golden_b, attrs_b, reason in proposals:
        if pk_a > pk_b:
            pk_a, golden_a, attrs_a, pk_b, golden_b, attrs_b = \
                pk_b, golden_b, attrs_b, pk_a, golden_a, attrs_a
        by_pair[(pk_a, pk_b)] = (golden_a, attrs_a, golden_b, attrs_b, reason)
    if not by_pair:
        return 0
    existing = {(c.record_a_id, c.record_b_id): c for c in MatchCandidate.objects.filter(
        record_a_id__in={a for a, _ in by_pair}, record_b_id__in={b for _, b in by_pair})}
    created, updated = [], []
    for (pk_a, pk_b), (golden_a, attrs_a, golden_b, attrs_b, reason) in by_pair.items():
        score = model.score(attrs_a, attrs_b)
        values = {"golden_a": golden_a, "golden_b": golden_b, "weight": score.weight,
                  "probability": score.probability, "breakdown": score.breakdown,
                  "reason": reason[:200], "rule_version": model.version,
                  "fingerprint_a": model.fingerprint(attrs_a),
                  "fingerprint_b": model.fingerprint(attrs_b)}
        row = existing.get((pk_a, pk_b))
        if row is None:
            created.append(MatchCandidate(domain=domain, record_a_id=pk_a, record_b_id=pk_b,
                                          **values))
            continue
        if row.status == MatchCandidate.Status.NOT_A_MATCH and \
                (row.fingerprint_a, row.fingerprint_b) == (values["fingerprint_a"],
                                                           values["fingerprint_b"]):
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.status, row.decided_by, row.decided_at = MatchCandidate.Status.OPEN, None, None
        updated.append(row)
    user = actor if getattr(actor, "pk", None) else None
    bulk_save_with_history(MatchCandidate, created=created, updated=updated,
                           update_fields=["golden_a", "golden_b", "weight", "probability",
                                          "breakdown", "reason", "rule_version",
                                          "fingerprint_a", "fingerprint_b", "status",
                                          "decided_by", "decided_at", "updated_at"],
                           user=user, reason="proposed for review")
    return len(created) + len(updated)


@transaction.atomic
def match_candidates_close_merged(*, domain: str, golden_id: uuid.UUID, actor: Any = None,
                                  reason: str = "") -> int:
    """Open review pairs whose two records now share ``golden_id`` (merged by any path:
    matching, the API, a steward) are settled: marked merged. Returns how many."""
    rows = list(MatchCandidate.objects.filter(
        domain=domain, status=MatchCandidate.Status.OPEN, record_a__golden_id=golden_id,
        record_b__golden_id=golden_id))
    user = actor if getattr(actor, "pk", None) else None
    now = timezone.now()
    for row in rows:
        row.status, row.decided_by, row.decided_at = MatchCandidate.Status.MERGED, user, now
        row.claimed_by, row.claimed_at, row.updated_at = None, None, now
    bulk_save_with_history(MatchCandidate, updated=rows, user=user, reason=reason or "merged",
                           update_fields=["status", "decided_by", "decided_at", "claimed_by",
                                          "claimed_at", "updated_at"])
    return len(rows)


def _open_candidate(candidate_id: int, actor: Any) -> MatchCandidate:
    candidate = MatchCandidate.objects.select_for_update().select_related(
        "record_a", "record_b").filter(pk=candidate_id).first()
    if candidate is None:
        raise NotFound(f"match candidate {candidate_id} does not exist")
    if candidate.status != MatchCandidate.Status.OPEN:
        raise Conflict(f"match candidate {candidate_id} is already {candidate.status}")
    _check_claim(candidate, actor)
    return candidate


def _check_claim(candidate: MatchCandidate, actor: Any) -> None:
    claimed = candidate.claimed_by_id and candidate.claimed_at and \
        candidate.claimed_at > timezone.now() - CLAIM_TTL
    if claimed and candidate.claimed_by_id != getattr(actor, "pk", None):
        raise Conflict(f"match candidate {candidate.pk} is claimed by "
                       f"{candidate.claimed_by} until "
                       f"{(candidate.claimed_at + CLAIM_TTL).isoformat(timespec='seconds')}")


@transaction.atomic
def match_candidate_claim(*, candidate_id: int, actor: Any,
                          release: bool = False) -> MatchCandidate:
    """Take a pair (for ``CLAIM_TTL``) so no other steward works on it; or give it back."""
    candidate = _open_candidate(candidate_id, actor)
    candidate.claimed_by, candidate.claimed_at = (None, None) if release else \
        (actor, timezone.now())
    candidate._history_user = actor
    candidate.save(update_fields=["claimed_by", "claimed_at", "updated_at"])
    return candidate


@transaction.atomic
def match_candidate_decide(*, candidate_id: int, decision: str, actor: Any = None,
                           comment: str = "") -> MatchCandidate:
    """A steward's decision on a pair: ``merge`` their golden records, or ``not_a_match``
    (remembered for the pair). Either way the decision is kept as a training label."""
    from mdm.golden.services import golden_records_merge

    if decision not in (MERGE, NOT_A_MATCH):
        raise ValidationFailed(f"unknown decision {decision!r}",
                               fields={"decision": [f"must be '{MERGE}' or '{NOT_A_MATCH}'"]})
    candidate = _open_candidate(candidate_id, actor)
    model = match_model_for(candidate.domain)
    a, b = candidate.record_a, candidate.record_b
    if decision == MERGE:
        if a.golden_id and b.golden_id and a.golden_id != b.golden_id:
            golden_records_merge(domain=candidate.domain, survivor_id=a.golden_id,
                                 merged_ids=[b.golden_id], actor=actor,
                                 reason=comment or f"review queue pair {candidate.pk}")
        candidate.status = MatchCandidate.Status.MERGED
    else:
        candidate.status = MatchCandidate.Status.NOT_A_MATCH
        candidate.fingerprint_a = model.fingerprint(a.attributes)
        candidate.fingerprint_b = model.fingerprint(b.attributes)
    candidate.decided_by = actor if getattr(actor, "pk", None) else None
    candidate.decided_at, candidate.comment = timezone.now(), comment
    candidate.claimed_by, candidate.claimed_at = None, None
    candidate._history_user = candidate.decided_by
    candidate.save()
    MatchLabel.objects.create(
        domain=candidate.domain, record_a_id=a.pk, record_b_id=b.pk,
        levels=model.score(a.attributes, b.attributes).levels, is_match=decision == MERGE,
        rule_version=model.version, decided_by=candidate.decided_by)
    return candidate


# --------------------------------------------------------------------------- training

ECM, LABELS = "ecm", "labels"


@transaction.atomic
def match_rule_train(*, domain: str, method: str = ECM, max_pairs: int = 200_000,
                     seed: int = 0, actor: Any = None) -> MatchRule:
    """Estimate the rule's parameters and save them as a new version.

    ``ecm``: Fellegi–Sunter m/u from up to ``max_pairs`` candidate pairs (records sharing
    a blocking key), unsupervised. ``labels``: logistic regression on stewards' decisions.
    """
    rule = MatchRule.objects.select_for_update().get(pk=match_rule_for(domain).pk)
    model = MatchModel(rule)
    levels = {c.name: c.levels for c in model.comparisons}
    if method == ECM:
        pairs = sample_block_pairs(domain, model, max_pairs, seed)
        if len(pairs) < 10:
            raise ValidationFailed(f"only {len(pairs)} candidate pairs in {domain}: too few "
                                   "to estimate m and u", fields={"domain": ["load records first"]})
        randoms = _random_pairs(domain, min(max_pairs, 20_000), seed)
        attributes = matchable_record_attributes(
            record_ids={pk for pair in pairs + randoms for pk in pair})
        vectors, random_vectors = ([_levels(model, attributes[a][1], attributes[b][1])
                                    for a, b in sample if a in attributes and b in attributes]
                                   for sample in (pairs, randoms))
        fitted = fit_ecm(vectors, levels, random_vectors)
        rule.parameters = {"prior": fitted["prior"] or rule.parameters.get("prior"),
                           "m": {**rule.parameters.get("m", {}), **fitted["m"]},
                           "u": {**rule.parameters.get("u", {}), **fitted["u"]}}
        rule.classifier = Classifier.FELLEGI_SUNTER
        rule.trained_on = f"ECM on {len(vectors):,} candidate pairs"
    elif method == LABELS:
        labels = list(MatchLabel.objects.filter(domain=domain).values_list("levels", "is_match"))
        try:
            rule.parameters = fit_logistic([v for v, _ in labels], [m for _, m in labels], levels)
        except ValueError as exc:
            raise ValidationFailed(str(exc), fields={"method": [str(exc)]}) from exc
        rule.classifier = Classifier.LOGISTIC_REGRESSION
        rule.trained_on = f"logistic regression on {len(labels):,} steward decisions"
    else:
        raise ValidationFailed(f"unknown method {method!r}",
                               fields={"method": [f"must be '{ECM}' or '{LABELS}'"]})
    rule.trained_at = timezone.now()
    rule._history_user = actor if getattr(actor, "pk", None) else None
    rule.save()
    return rule


def _levels(model: MatchModel, a: dict[str, Any], b: dict[str, Any]) -> dict[str, int | None]:
    return {c.name: o.level for c, o in zip(model.comparisons, model.compare(a, b), strict=False)}


def _random_pairs(domain: str, count: int, seed: int) -> list[tuple[int, int]]:
    """Random pairs of distinct records: nearly all non-matches, for estimating u."""
    ids = [pk for pk, *_ in matchable_records(domain=domain)]
    if len(ids) < 2:
        return []
    chooser = random.Random(seed)
    pairs = {tuple(sorted(chooser.sample(ids, 2))) for _ in range(count)}
    return sorted(pairs)


def block_pairs(rows: Iterable[tuple[str, int]], max_block_size: int) -> Iterator[tuple[int, int]]:
    """Record pairs sharing a key, from (key, record id) rows ordered by key; blocks larger
    than ``max_block_size`` are skipped. A pair sharing several keys comes once per key."""
    block: list[int] = []
    current = None
    for key, pk in [*rows, (None, None)]:
        if key != current:
            if 1 < len(block) < max_block_size:
                members = sorted(block)
                for i, a in enumerate(members):
                    for b in members[i + 1:]:
                        yield a, b
            block, current = [], key
        if pk is not None:
            block.append(pk)


def sample_block_pairs(domain: str, model: MatchModel, max_pairs: int,
                       seed: int = 0) -> list[tuple[int, int]]:
    """Up to ``max_pairs`` distinct candidate pairs, a uniform sample (reservoir)."""
    rows = BlockingKey.objects.filter(domain=domain).order_by("key", "source_record_id") \
        .values_list("key", "source_record_id").iterator(chunk_size=20_000)
    rows = ((k, pk) for k, pk in rows if k.split(":", 1)[0] in model.blocking_kinds)
    chooser, seen, sample = random.Random(seed), set(), []
    for pair in block_pairs(rows, model.max_block_size):
        if pair in seen:
            continue
        seen.add(pair)
        if len(sample) < max_pairs:
            sample.append(pair)
        elif (slot := chooser.randrange(len(seen))) < max_pairs:
            sample[slot] = pair
    return sample
