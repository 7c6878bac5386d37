"""Survivorship rules: which strategy decides each golden attribute.

Pure data and validation, no database. The configured rules are stored by the lead's
``SurvivorshipRuleConfig`` model; a batch loads its active rows once and turns them into
rules with :func:`rules_from_rows`, merged over :func:`default_rules`.

Strategies (see ``mdm.golden.survivorship`` for how each is applied):

* ``source_priority``: the first source in ``source_priority`` holding a value; sources not
  in the list rank after every listed one, and ``fallback`` decides among them;
* ``most_recent`` / ``oldest``: by the source's own business time;
* ``most_frequent``: the value held by most records;
* ``longest``: the longest value (as text);
* ``largest`` / ``smallest``: amounts as numbers, dates in calendar order;
* ``aggregate``: every distinct value (many-valued attributes only).

Where a strategy ties between different values, ``fallback`` decides among the tied ones
(and ``most_recent`` where the fallback ties again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from mdm.core.domains import DOMAINS, Attribute, Domain

SOURCE_PRIORITY = "source_priority"
MOST_RECENT = "most_recent"
MOST_FREQUENT = "most_frequent"
LONGEST = "longest"
LARGEST = "largest"
SMALLEST = "smallest"
AGGREGATE = "aggregate"
OLDEST = "oldest"

STRATEGIES = (SOURCE_PRIORITY, MOST_RECENT, MOST_FREQUENT, LONGEST, LARGEST, SMALLEST,
              AGGREGATE, OLDEST)
# A fallback must pick one record, so neither aggregate nor source_priority (it has its own).
FALLBACKS = (MOST_RECENT, OLDEST, MOST_FREQUENT, LONGEST, LARGEST, SMALLEST)
# Strategies that can tie between different values, so that use their fallback.
TYING = (SOURCE_PRIORITY, MOST_FREQUENT, LONGEST, LARGEST, SMALLEST)
# Attribute kinds with an order for largest/smallest: numbers compare as decimals,
# dates and datetimes in time order.
NUMBER_KINDS = frozenset({"amount", "number", "decimal", "integer"})
TIME_KINDS = frozenset({"date", "datetime"})
ORDERED_KINDS = NUMBER_KINDS | TIME_KINDS

STRATEGY_CHOICES = [
    (SOURCE_PRIORITY, "source priority (first listed source with a value)"),
    (MOST_RECENT, "most recent (by the source's business time)"),
    (OLDEST, "oldest (by the source's business time)"),
    (MOST_FREQUENT, "most frequent (value held by most records)"),
    (LONGEST, "longest value"),
    (LARGEST, "largest (amounts, dates)"),
    (SMALLEST, "smallest (amounts, dates)"),
    (AGGREGATE, "aggregate (every distinct value; lists only)"),
]
FALLBACK_CHOICES = [(value, label) for value, label in STRATEGY_CHOICES if value in FALLBACKS]


@dataclass(frozen=True)
class SurvivorshipRule:
    """How one attribute's golden value is chosen."""

    attribute: str
    strategy: str
    source_priority: tuple[str, ...] = ()
    fallback: str = MOST_RECENT


def _domain(domain: str | Domain) -> Domain:
    if isinstance(domain, Domain):
        return domain
    try:
        return DOMAINS[domain]
    except KeyError:
        raise ValueError(f"unknown domain '{domain}'; expected one of {sorted(DOMAINS)}") \
            from None


def default_rule(attribute: Attribute) -> SurvivorshipRule:
    """Most recent for a single value, aggregate for a list."""
    return SurvivorshipRule(attribute.name, AGGREGATE if attribute.many else MOST_RECENT)


@cache
def _defaults(domain: str) -> dict[str, SurvivorshipRule]:
    return {a.name: default_rule(a) for a in _domain(domain).attributes}


def default_rules(domain: str | Domain) -> dict[str, SurvivorshipRule]:
    """Every attribute of ``domain`` with its default rule (a fresh dict)."""
    return dict(_defaults(_domain(domain).name))


def effective_rules(domain: str | Domain,
                    rules: Mapping[str, SurvivorshipRule] | None = None,
                    ) -> dict[str, SurvivorshipRule]:
    """``rules`` merged over the defaults: a rule for every attribute of ``domain``."""
    merged = default_rules(domain)
    if rules:
        merged.update(rules)
    return merged


def rule_config_errors(domain: str, attribute: str, strategy: str,
                       source_priority: Any = (), fallback: str = MOST_RECENT,
                       ) -> dict[str, str]:
    """What is wrong with one rule's configuration, by field (empty when it is fine).

    The keys are the config model's field names, so an admin ``clean()`` can raise
    ``ValidationError(errors)`` directly.
    """
    if domain not in DOMAINS:
        return {"domain": f"unknown domain '{domain}'; expected one of {sorted(DOMAINS)}"}
    spec = DOMAINS[domain].attribute(attribute)
    if spec is None:
        return {"attribute": f"'{attribute}' is not a {domain} attribute; expected one of "
                             f"{DOMAINS[domain].attribute_names()}"}
    errors: dict[str, str] = {}
    if strategy not in STRATEGIES:
        errors["strategy"] = f"unknown strategy '{strategy}'; expected one of {list(STRATEGIES)}"
    elif strategy == AGGREGATE and not spec.many:
        errors["strategy"] = (f"aggregate keeps a list of values, but {domain}.{attribute} "
                              "holds a single value")
    elif strategy in (LARGEST, SMALLEST) and (spec.many or spec.kind not in ORDERED_KINDS):
        errors["strategy"] = (f"{strategy} compares amounts and dates, but {domain}.{attribute} "
                              f"is a {'list of ' if spec.many else ''}{spec.kind}")
    if fallback not in FALLBACKS:
        errors["fallback"] = f"unknown fallback '{fallback}'; expected one of {list(FALLBACKS)}"
    elif fallback in (LARGEST, SMALLEST) and (spec.many or spec.kind not in ORDERED_KINDS):
        errors["fallback"] = (f"{fallback} compares amounts and dates, but {domain}.{attribute} "
                              f"is a {'list of ' if spec.many else ''}{spec.kind}")
    elif fallback == strategy and strategy in TYING:
        errors["fallback"] = f"the fallback decides ties of {strategy}, so it must be different"
    problem = _priority_problem(strategy, source_priority)
    if problem:
        errors["source_priority"] = problem
    return errors


def _priority_problem(strategy: str, source_priority: Any) -> str | None:
    if source_priority is None:
        source_priority = []
    if isinstance(source_priority, str) or not isinstance(source_priority, list | tuple):
        return 'a list of source codes, e.g. ["crm", "erp"]'
    if not all(isinstance(code, str) and code.strip() for code in source_priority):
        return "every entry must be a source code (a non-empty string)"
    if len(set(source_priority)) != len(source_priority):
        return "a source is listed twice"
    if strategy == SOURCE_PRIORITY and not source_priority:
        return "source_priority needs the source codes in order of trust"
    if strategy != SOURCE_PRIORITY and source_priority:
        return f"only the source_priority strategy uses a source list, not {strategy}"
    return None


def rules_from_rows(domain: str | Domain,
                    rows: Iterable[Mapping[str, Any]]) -> dict[str, SurvivorshipRule]:
    """Rules from configuration rows (keys ``attribute``, ``strategy`` and optionally
    ``source_priority`` (a list) and ``fallback``); ``ValueError`` naming every problem of
    the first bad row, or an attribute configured twice."""
    name = _domain(domain).name
    rules: dict[str, SurvivorshipRule] = {}
    for row in rows:
        attribute = row.get("attribute")
        strategy = row.get("strategy")
        priority = row.get("source_priority") or []
        fallback = row.get("fallback") or MOST_RECENT
        errors = rule_config_errors(name, attribute, strategy, priority, fallback)
        if errors:
            detail = "; ".join(f"{field}: {message}" for field, message in errors.items())
            raise ValueError(f"survivorship rule for {name}.{attribute}: {detail}")
        if attribute in rules:
            raise ValueError(f"survivorship rule for {name}.{attribute}: configured twice")
        rules[attribute] = SurvivorshipRule(attribute, strategy, tuple(priority), fallback)
    return rules
