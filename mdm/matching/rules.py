"""Scoring a pair of records under a match rule, and each domain's default rule.

A :class:`MatchModel` is built from a :class:`~mdm.matching.models.MatchRule` (or anything
with the same fields). It compares two records' canonical attributes with the rule's
comparisons (:mod:`mdm.matching.comparators`) and turns the agreement levels into a match
weight, log2 of the odds that the pair is a match:

* Fellegi–Sunter: ``log2(prior / (1 - prior)) + Σ log2(m[level] / u[level])``, with m and
  u estimated by recordlinkage's ECM (:mod:`mdm.matching.training`);
* logistic regression: ``(intercept + Σ coefficient[level]) / ln 2``, trained from
  stewards' decisions.

A missing value contributes nothing. :class:`PairScore` keeps each comparison's level,
values and contribution, the breakdown a steward reads in the review queue.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from mdm.core.domains import get_domain
from mdm.matching.blocking import BLOCKING_KEY_KINDS, is_organisation
from mdm.matching.comparators import Comparison, Outcome

FELLEGI_SUNTER, LOGISTIC_REGRESSION = "fellegi_sunter", "logistic_regression"
PARTIES = ("person", "organisation")
_LN2 = math.log(2)
_FLOOR = 1e-9  # probabilities are kept away from 0 so every weight is finite


# --------------------------------------------------------------------------- defaults

def _comparison(name: str, attribute: str, method: str, m_top: float, u_top: float,
                party: str = "") -> dict[str, Any]:
    """A comparison with the belief behind its default m/u (see default_parameters)."""
    spec = {"name": name, "attribute": attribute, "method": method,
            "default_m_top": m_top, "default_u_top": u_top}
    return {**spec, "party": party} if party else spec


_NAMES = "name|name_zh|name_latin"
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "customer": {
        "blocking_keys": ["phone", "email", "nid", "uscc", "other_id", "name_by", "part_dob",
                          "name_city", "dob_postcode", "address_dob", "name",
                          "company_city", "company"],
        "comparisons": [
            _comparison("person_name", _NAMES, "person_name", 0.8, 0.002, "person"),
            _comparison("company_name", _NAMES, "company_name", 0.8, 0.0005,
                        "organisation"),
            _comparison("national_id", "national_id", "identifier", 0.99, 1e-6),
            _comparison("other_id", "other_ids", "identifier", 0.9, 1e-6),
            _comparison("credit_code", "credit_code", "identifier", 0.99, 1e-6),
            _comparison("phone", "phones", "phone", 0.6, 1e-6),
            _comparison("email", "emails", "email", 0.6, 1e-6),
            _comparison("birth_date", "birth_date", "date", 0.9, 0.001),
            _comparison("city", "city", "jaro_winkler", 0.9, 0.05),
            _comparison("address", "addresses", "jaro_winkler", 0.7, 0.001),
        ],
    },
    "product": {
        "blocking_keys": ["sku", "gtin", "brand_name"],
        "comparisons": [
            _comparison("sku", "sku", "identifier", 0.9, 1e-6),
            _comparison("gtin", "gtin", "identifier", 0.99, 1e-6),
            _comparison("name", "name", "jaro_winkler", 0.7, 0.001),
            _comparison("brand", "brand", "jaro_winkler", 0.9, 0.05),
        ],
    },
    "contract": {
        "blocking_keys": ["contract", "customer_signed"],
        "comparisons": [
            _comparison("contract_number", "contract_number", "identifier", 0.99, 1e-6),
            _comparison("signed_date", "signed_date", "date", 0.9, 0.01),
            _comparison("start_date", "start_date", "date", 0.9, 0.01),
        ],
    },
}
DEFAULT_PRIOR = 0.01  # share of matches among candidate pairs, before any training


def default_parameters(comparisons: list[dict[str, Any]],
                       prior: float = DEFAULT_PRIOR) -> dict[str, Any]:
    """Untrained Fellegi–Sunter parameters: for each comparison, ``default_m_top`` of the
    matches and ``default_u_top`` of the non-matches agree exactly; lower levels take
    geometrically less of the matches and more of the non-matches."""
    m_by_name, u_by_name = {}, {}
    for spec in comparisons:
        levels = Comparison(spec["name"], spec["attribute"], spec["method"],
                            tuple(spec.get("thresholds") or ())).levels
        m_top, u_top = spec.get("default_m_top", 0.8), spec.get("default_u_top", 0.01)
        m = [(1 - m_top) * 0.5 ** (levels - 1 - k) for k in range(levels - 1)] + [m_top]
        u = [min(u_top * 8 ** (levels - 1 - k), 0.2) for k in range(levels - 1)] + [u_top]
        m[0], u[0] = 0.0, 0.0
        m[0], u[0] = 1 - sum(m), 1 - sum(u)
        m_by_name[spec["name"]], u_by_name[spec["name"]] = m, u
    return {"prior": prior, "m": m_by_name, "u": u_by_name}


def default_rule_fields(domain: str) -> dict[str, Any]:
    """The fields of a domain's first match rule."""
    spec = DEFAULT_RULES[domain]
    return {"blocking_keys": list(spec["blocking_keys"]),
            "comparisons": [dict(c) for c in spec["comparisons"]],
            "classifier": FELLEGI_SUNTER,
            "parameters": default_parameters(spec["comparisons"])}


# --------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class PairScore:
    """A scored pair: the match weight and what each comparison contributed."""

    weight: float
    levels: dict[str, int | None]
    breakdown: list[dict[str, Any]]

    @property
    def probability(self) -> float:
        return probability_of(self.weight)


def probability_of(weight: float) -> float:
    """Match probability of a match weight (log2 odds)."""
    if weight > 60:
        return 1.0
    odds = 2.0 ** weight
    return odds / (1 + odds)


class MatchModel:
    """A rule's comparisons and classifier, ready to score pairs (no database access)."""

    def __init__(self, rule: Any) -> None:
        self.domain = rule.domain
        self.version = getattr(rule, "version", 0)
        self.specs = list(rule.comparisons)
        self.comparisons = [Comparison(s["name"], s["attribute"], s["method"],
                                       tuple(s.get("thresholds") or ())) for s in self.specs]
        self.parties = [s.get("party", "") for s in self.specs]
        self.classifier = rule.classifier
        self.auto_merge_weight = rule.auto_merge_weight
        self.review_weight = rule.review_weight
        self.bridge_weight = rule.bridge_weight
        self.max_cluster_size = rule.max_cluster_size
        self.max_block_size = rule.max_block_size
        self.blocking_kinds = frozenset(rule.blocking_keys)
        self._weights, self._base = self._level_weights(rule.parameters or {})

    def _level_weights(self, parameters: dict[str, Any]) -> tuple[list[list[float]], float]:
        """Per comparison, the weight each level adds; and the weight every pair starts at."""
        if self.classifier == LOGISTIC_REGRESSION:
            coefficients = parameters.get("coefficients", {})
            weights = [[c / _LN2 for c in coefficients.get(comp.name, [0.0] * comp.levels)]
                       for comp in self.comparisons]
            return weights, parameters.get("intercept", 0.0) / _LN2
        prior = min(max(parameters.get("prior", DEFAULT_PRIOR), _FLOOR), 1 - _FLOOR)
        weights = []
        for comp in self.comparisons:
            m = parameters.get("m", {}).get(comp.name) or [1.0] * comp.levels
            u = parameters.get("u", {}).get(comp.name) or [1.0] * comp.levels
            weights.append([math.log2(max(mk, _FLOOR) / max(uk, _FLOOR))
                            for mk, uk in zip(m, u, strict=True)])
        return weights, math.log2(prior / (1 - prior))

    def compare(self, a: dict[str, Any], b: dict[str, Any]) -> list[Outcome]:
        """The agreement of each comparison (level None when it does not apply)."""
        party_a, party_b = _party(self.domain, a), _party(self.domain, b)
        outcomes = []
        for comp, party in zip(self.comparisons, self.parties, strict=False):
            if party and not (party_a == party_b == party):
                outcomes.append(Outcome(None, None, comp.levels))
            else:
                outcomes.append(comp.comparator(_value(a, comp.attribute),
                                                _value(b, comp.attribute), comp.thresholds))
        return outcomes

    def weight(self, a: dict[str, Any], b: dict[str, Any]) -> float:
        """The match weight of a pair (the hot path: no breakdown)."""
        total = self._base
        for weights, outcome in zip(self._weights, self.compare(a, b), strict=False):
            if outcome.level is not None:
                total += weights[outcome.level]
        return total

    def score(self, a: dict[str, Any], b: dict[str, Any]) -> PairScore:
        """The match weight of a pair with each comparison's contribution."""
        total, levels, breakdown = self._base, {}, []
        outcomes = self.compare(a, b)
        for comp, weights, outcome in zip(self.comparisons, self._weights, outcomes, strict=True):
            levels[comp.name] = outcome.level
            contribution = 0.0 if outcome.level is None else weights[outcome.level]
            total += contribution
            breakdown.append({
                "comparison": comp.name, "attribute": comp.attribute, "method": comp.method,
                "level": outcome.level, "levels": comp.levels,
                "similarity": None if outcome.similarity is None
                else round(outcome.similarity, 4),
                "a": _value(a, comp.attribute), "b": _value(b, comp.attribute),
                "weight": round(contribution, 3)})
        breakdown.append({"comparison": "prior", "weight": round(self._base, 3)})
        return PairScore(total, levels, breakdown)

    def fingerprint(self, attributes: dict[str, Any]) -> str:
        """What this rule's comparisons see of a record; a change here is a material one."""
        seen = {c.attribute: _value(attributes, c.attribute) for c in self.comparisons}
        seen["_party"] = _party(self.domain, attributes)
        text = json.dumps(seen, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _value(attributes: dict[str, Any], attribute: str) -> Any:
    """An attribute's value; ``a|b`` gives the non-empty values of several attributes."""
    if "|" not in attribute:
        return attributes.get(attribute)
    values = []
    for name in attribute.split("|"):
        value = attributes.get(name)
        for item in value if isinstance(value, list) else [value]:
            if item not in (None, "") and item not in values:
                values.append(item)
    return values or None


def _party(domain: str, attributes: dict[str, Any]) -> str:
    if domain != "customer":
        return ""
    return "organisation" if is_organisation(attributes) else "person"


# --------------------------------------------------------------------------- validation

def rule_errors(rule: Any) -> dict[str, list[str]]:
    """Field errors of a match rule, empty when it can be used."""
    errors: dict[str, list[str]] = {}
    domain = get_domain(rule.domain)
    unknown = [k for k in rule.blocking_keys or [] if k not in BLOCKING_KEY_KINDS]
    if unknown or not rule.blocking_keys:
        errors["blocking_keys"] = [f"unknown blocking key kinds {unknown}; known: "
                                   f"{sorted(BLOCKING_KEY_KINDS)}" if unknown
                                   else "name at least one blocking key kind"]
    errors.update(_comparison_errors(domain, rule.comparisons or []))
    if not (rule.review_weight <= rule.auto_merge_weight <= rule.bridge_weight):
        errors["auto_merge_weight"] = ["thresholds must satisfy review ≤ auto-merge ≤ bridge"]
    if "comparisons" not in errors:
        errors.update(_parameter_errors(rule))
    return errors


def _comparison_errors(domain: Any, comparisons: list[Any]) -> dict[str, list[str]]:
    problems, names = [], set()
    for index, spec in enumerate(comparisons):
        if not isinstance(spec, dict) or not {"name", "attribute", "method"} <= set(spec):
            problems.append(f"#{index + 1}: needs name, attribute and method")
            continue
        if spec["name"] in names:
            problems.append(f"#{index + 1}: duplicate name '{spec['name']}'")
        names.add(spec["name"])
        missing = [a for a in spec["attribute"].split("|") if not domain.attribute(a)]
        if missing:
            problems.append(f"{spec['name']}: unknown attribute(s) {missing}")
        if spec.get("party") and spec["party"] not in PARTIES:
            problems.append(f"{spec['name']}: party must be one of {PARTIES}")
        try:
            Comparison(spec["name"], spec["attribute"], spec["method"],
                       tuple(spec.get("thresholds") or ()))
        except ValueError as exc:
            problems.append(f"{spec['name']}: {exc}")
    if not comparisons:
        problems.append("name at least one comparison")
    return {"comparisons": problems} if problems else {}


def _parameter_errors(rule: Any) -> dict[str, list[str]]:
    model_levels = {s["name"]: Comparison(s["name"], s["attribute"], s["method"],
                                          tuple(s.get("thresholds") or ())).levels
                    for s in rule.comparisons}
    parameters = rule.parameters or {}
    tables = ("coefficients",) if rule.classifier == LOGISTIC_REGRESSION else ("m", "u")
    problems = []
    for table in tables:
        for name, levels in model_levels.items():
            values = parameters.get(table, {}).get(name)
            if values is None or len(values) != levels:
                problems.append(f"{table}[{name}] needs {levels} values, one per level")
            elif table != "coefficients" and not all(0 <= v <= 1 for v in values):
                problems.append(f"{table}[{name}] must be probabilities")
    return {"parameters": problems} if problems else {}
