"""Survivorship: compute golden values from the linked source records.

Pure functions, no database. Each attribute's value is chosen by its
:class:`~mdm.golden.rules.SurvivorshipRule` (the defaults: most recent by the source's
business time for a single value, every distinct value for a list), unless a steward has
pinned it. The result depends only on the *set* of records, never on their order: records
are ranked once per call by business time, then receive time, then id (a total order), and
every tie between different values is settled by the rule's fallback on that ranking.

Empty values (None, "", [], {}) never win. Quarantined records keep their last good
attributes and take part like any other.

Lineage, per attribute:

* ``{"rule": "most_recent", "source": "crm", "record": 17}``: the strategy that decided
  (``"... (fallback)"`` when the rule's fallback settled a tie or, for source priority, no
  listed source had a value) and the record the value came from;
* ``{"rule": "aggregate", "values": [{"source", "record"}, ...]}``: one origin per value;
* ``{"rule": "pinned", "by", "at", "reason"}``: a steward's override.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from mdm.core.domains import Domain, get_domain
from mdm.golden.rules import (
    AGGREGATE,
    LARGEST,
    LONGEST,
    MOST_FREQUENT,
    MOST_RECENT,
    NUMBER_KINDS,
    OLDEST,
    SMALLEST,
    SOURCE_PRIORITY,
    SurvivorshipRule,
    default_rule,
)

if TYPE_CHECKING:  # the module stays importable without Django set up
    from mdm.sources.selectors import LinkedRecord

PINNED = "pinned"
FALLBACK_MARK = " (fallback)"

Candidate = tuple["LinkedRecord", Any]  # a record and its non-empty value of one attribute


def by_recency(records: list[LinkedRecord]) -> list[LinkedRecord]:
    """Most recent first: business time, then receive time, then id (a stable total order)."""
    return sorted(records, key=lambda r: (r.business_time, r.received_at, r.id), reverse=True)


def is_empty(value: Any) -> bool:
    """None, "", [] and {} are no value: they never win."""
    return value is None or value == "" or value == [] or value == {}


def value_key(value: Any) -> Any:
    """A hashable key telling values apart (strings as themselves, others as JSON)."""
    if isinstance(value, str):
        return value
    return ("json", json.dumps(value, sort_keys=True, default=str))


def survive(domain: str | Domain, records: list[LinkedRecord],
            rules: Mapping[str, SurvivorshipRule] | None = None,
            pins: Mapping[str, Mapping[str, Any]] | None = None,
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Golden values and their lineage (attribute → which source record, which rule).

    ``rules``: attribute → rule (an attribute without one gets its default). ``pins``:
    attribute → ``{"value", "by", "at", "reason"}``, a steward's value that wins over every
    rule. With no records at all nothing survives, pins included (the golden record is
    retired). Pins for attributes the domain does not have are ignored.
    """
    spec = domain if isinstance(domain, Domain) else get_domain(domain)
    if not records:
        return {}, {}
    ordered = by_recency(records)
    values: dict[str, Any] = {}
    lineage: dict[str, Any] = {}
    for attribute in spec.attributes:
        name = attribute.name
        pin = pins.get(name) if pins else None
        if pin is not None:
            values[name] = pin.get("value")
            lineage[name] = {"rule": PINNED, "by": pin.get("by", ""), "at": pin.get("at", ""),
                             "reason": pin.get("reason", "")}
            continue
        rule = (rules.get(name) if rules else None) or default_rule(attribute)
        strategy = rule.strategy
        if strategy == AGGREGATE:
            if not attribute.many:
                raise ValueError(f"aggregate needs a many-valued attribute, not "
                                 f"{spec.name}.{name}")
            _aggregate(name, ordered, values, lineage)
            continue
        if strategy == MOST_RECENT:  # the common case: stop at the first value
            chosen = next(((r, v) for r in ordered
                           if not is_empty(v := r.attributes.get(name))), None)
            label = MOST_RECENT
        else:
            candidates = [(r, v) for r in ordered if not is_empty(v := r.attributes.get(name))]
            if not candidates:
                continue
            chosen, label = _choose(rule, candidates, attribute.kind)
        if chosen is not None:
            record, value = chosen
            values[name] = value
            lineage[name] = {"rule": label, **_origin(record)}
    return values, lineage


def _origin(record: LinkedRecord) -> dict[str, Any]:
    """Where a value came from: the source and the source record (its key and time are
    read from the record when lineage is shown; see ``golden_lineage_explained``)."""
    return {"source": record.source, "record": record.id}


def _choose(rule: SurvivorshipRule, candidates: list[Candidate],
            kind: str) -> tuple[Candidate, str]:
    """The winning candidate (``candidates`` are most recent first) and the rule applied."""
    if rule.strategy != SOURCE_PRIORITY:
        return _resolve(rule.strategy, candidates, kind, rule.fallback)
    for code in rule.source_priority:
        own = [c for c in candidates if c[0].source == code]
        if own:  # the most trusted source with a value; its own records settle by fallback
            return _resolve(rule.fallback, own, kind, MOST_RECENT)[0], SOURCE_PRIORITY
    # No listed source has a value, so every candidate is from an unlisted source.
    return _as_fallback(_resolve(rule.fallback, candidates, kind, MOST_RECENT))


def _as_fallback(result: tuple[Candidate, str]) -> tuple[Candidate, str]:
    chosen, label = result
    return chosen, label if label.endswith(FALLBACK_MARK) else label + FALLBACK_MARK


def _resolve(strategy: str, candidates: list[Candidate], kind: str,
             fallback: str) -> tuple[Candidate, str]:
    """Apply one strategy; ties between different values go to ``fallback`` (whose own
    ties go to most recent). Among records holding the same winning value the most recent
    is the origin."""
    if strategy == MOST_RECENT:
        return candidates[0], MOST_RECENT
    if strategy == OLDEST:
        return candidates[-1], OLDEST
    best = _best(strategy, candidates, kind)
    first = value_key(best[0][1])
    if all(value_key(value) == first for _, value in best[1:]):
        return best[0], strategy
    return _as_fallback(_resolve(fallback, best, kind, MOST_RECENT))


def _best(strategy: str, candidates: list[Candidate], kind: str) -> list[Candidate]:
    """The candidates the strategy ranks first (several when it ties), order kept."""
    if strategy == MOST_FREQUENT:
        keys = [value_key(value) for _, value in candidates]
        counts = Counter(keys)
        top = max(counts.values())
        return [c for c, key in zip(candidates, keys, strict=True) if counts[key] == top]
    if strategy == LONGEST:
        lengths = [len(str(value)) for _, value in candidates]
        top = max(lengths)
        return [c for c, length in zip(candidates, lengths, strict=True) if length == top]
    if strategy in (LARGEST, SMALLEST):
        keys = [order_key(value, kind) for _, value in candidates]
        comparable = [key for key in keys if key is not None]
        if not comparable:
            return candidates
        top = max(comparable) if strategy == LARGEST else min(comparable)
        return [c for c, key in zip(candidates, keys, strict=True)
                if key is not None and key == top]
    raise ValueError(f"unknown survivorship strategy '{strategy}'")


def order_key(value: Any, kind: str) -> Any:
    """What largest/smallest compare: a Decimal for amounts and numbers, a naive UTC
    datetime for datetimes, the ISO text for dates (and anything else). None when the
    value cannot be compared (it then never wins)."""
    if kind in NUMBER_KINDS:
        if isinstance(value, bool):
            return None
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
        return number if number.is_finite() else None
    if kind == "datetime":
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment
    return str(value)


def _aggregate(name: str, ordered: list[LinkedRecord], values: dict, lineage: dict) -> None:
    """Every distinct non-empty value: most recent record first, each in its own order."""
    seen: set[Any] = set()
    kept: list[Any] = []
    origins = []
    for record in ordered:
        raw = record.attributes.get(name)
        if is_empty(raw):
            continue
        for value in raw if isinstance(raw, list | tuple) else [raw]:
            if is_empty(value):
                continue
            key = value_key(value)
            if key not in seen:
                seen.add(key)
                kept.append(value)
                origins.append(_origin(record))
    if kept:
        values[name] = kept
        lineage[name] = {"rule": AGGREGATE, "values": origins}  # one origin per value
