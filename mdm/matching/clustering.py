"""Clustering scored links into golden records, with the guards against over-merging.

Incremental matching and bulk re-matching share :class:`Clusters`: both offer it links
strongest first, and it decides for each link whether the two clusters join, whether a
steward should review the pair, or nothing. Because the rule only looks at the link's
weight and the two clusters' sizes, the same records end in the same clusters whatever
order they arrive in (up to ties and guard-limited links).

A link joins its clusters when its weight reaches the auto-merge threshold, unless:

* the joined cluster would hold more than ``max_cluster_size`` records;
* both clusters already hold two or more records and the link is weaker than
  ``bridge_weight`` (one weak link must not chain two established clusters);
* a steward said two of their records are not a match.

Such links, and links in the review band, become review proposals. Pure Python.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field

JOINED, SAME, REVIEW, NONE = "joined", "same", "review", "none"


@dataclass
class _Cluster:
    id: uuid.UUID
    size: int
    existing: bool  # a golden record already stored (joining two of them is a merge)
    members: set[Hashable] = field(default_factory=set)


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: str = ""


class Clusters:
    """Records in clusters (union-find), joined link by link under the rule's thresholds."""

    def __init__(self, *, auto_merge_weight: float, review_weight: float,
                 bridge_weight: float, max_cluster_size: int,
                 cannot_link: set[frozenset[Hashable]] | None = None) -> None:
        self.auto_merge_weight, self.review_weight = auto_merge_weight, review_weight
        self.bridge_weight, self.max_cluster_size = bridge_weight, max_cluster_size
        self.cannot_link = cannot_link or set()
        self._cluster_of: dict[Hashable, uuid.UUID] = {}
        self._clusters: dict[uuid.UUID, _Cluster] = {}
        self._parent: dict[uuid.UUID, uuid.UUID] = {}
        self.merges: list[tuple[uuid.UUID, uuid.UUID]] = []  # (survivor, merged) golden ids

    @classmethod
    def for_model(cls, model, cannot_link: set[frozenset[Hashable]] | None = None) -> Clusters:
        return cls(auto_merge_weight=model.auto_merge_weight,
                   review_weight=model.review_weight, bridge_weight=model.bridge_weight,
                   max_cluster_size=model.max_cluster_size, cannot_link=cannot_link)

    def add(self, record: Hashable, cluster_id: uuid.UUID | None = None, *,
            size: int = 1, existing: bool = False) -> uuid.UUID:
        """Place a record: in a stored golden record's cluster (``size`` records in all),
        or, without ``cluster_id``, alone in a new one."""
        if record in self._cluster_of:
            return self.cluster_of(record)
        cluster_id = self._find(cluster_id) if cluster_id in self._parent else cluster_id
        if cluster_id is None:
            cluster_id = uuid.uuid4()
        if cluster_id not in self._clusters:
            self._clusters[cluster_id] = _Cluster(cluster_id, size, existing)
            self._parent[cluster_id] = cluster_id
        self._clusters[cluster_id].members.add(record)
        self._cluster_of[record] = cluster_id
        return cluster_id

    def cluster_of(self, record: Hashable) -> uuid.UUID:
        return self._find(self._cluster_of[record])

    def link(self, a: Hashable, b: Hashable, weight: float) -> Decision:
        """Offer the link a–b (both placed); strongest links should come first."""
        first, second = self._clusters[self.cluster_of(a)], self._clusters[self.cluster_of(b)]
        if first is second:
            return Decision(SAME)
        if weight < self.review_weight:
            return Decision(NONE)
        if weight < self.auto_merge_weight:
            return Decision(REVIEW, "score in the review band")
        if first.size + second.size > self.max_cluster_size:
            return Decision(REVIEW, f"would make a golden record of {first.size + second.size} "
                            f"source records (limit {self.max_cluster_size})")
        if min(first.size, second.size) >= 2 and weight < self.bridge_weight:
            return Decision(REVIEW, f"one link below the bridge threshold {self.bridge_weight:g} "
                            f"would join two records of {first.size} and {second.size} sources")
        if any(frozenset((x, y)) in self.cannot_link
               for x in first.members for y in second.members):
            return Decision(REVIEW, "a steward marked records of these two as not a match")
        self._join(first, second)
        return Decision(JOINED)

    def _join(self, first: _Cluster, second: _Cluster) -> None:
        """The stored, then larger, then lower-id cluster survives."""
        survivor, merged = sorted((first, second),
                                  key=lambda c: (not c.existing, -c.size, str(c.id)))
        if survivor.existing and merged.existing:
            self.merges.append((survivor.id, merged.id))
        survivor.size += merged.size
        survivor.members |= merged.members
        self._parent[merged.id] = survivor.id
        del self._clusters[merged.id]

    def _find(self, cluster_id: uuid.UUID) -> uuid.UUID:
        while self._parent[cluster_id] != cluster_id:
            self._parent[cluster_id] = self._parent[self._parent[cluster_id]]
            cluster_id = self._parent[cluster_id]
        return cluster_id

    def merge_groups(self) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
        """Stored golden records to merge: (final survivor, [merged ids])."""
        groups: dict[uuid.UUID, list[uuid.UUID]] = {}
        for _, merged in self.merges:
            groups.setdefault(self._find(merged), []).append(merged)
        return list(groups.items())
