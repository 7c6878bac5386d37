"""Validation rules: checks on mapped canonical attributes, per domain and attribute."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mdm.core.domains import DOMAINS
from mdm.sources.mapping import is_empty, reason
from mdm.sources.models import SourceRecord, SourceSystem, ValidationRule


def rule_config_errors(domain: str, attribute: str, rule: str, params: dict) -> dict[str, str]:
    """What is wrong with a rule's configuration (empty when it is fine)."""
    if domain not in DOMAINS or not DOMAINS[domain].attribute(attribute):
        return {"attribute": f"'{attribute}' is not a {domain} attribute"}
    params = params or {}
    if rule == ValidationRule.Rule.FORMAT:
        try:
            re.compile(params.get("pattern", ""))
        except (re.error, TypeError) as exc:
            return {"params": f"pattern is not a valid regular expression: {exc}"}
        if not params.get("pattern"):
            return {"params": 'format needs {"pattern": "..."}'}
    if rule == ValidationRule.Rule.ALLOWED_VALUES and not isinstance(params.get("values"), list):
        return {"params": 'allowed_values needs {"values": [...]}'}
    if rule == ValidationRule.Rule.REFERENCE_EXISTS and params.get("domain") not in DOMAINS:
        return {"params": f'reference_exists needs {{"domain": one of {sorted(DOMAINS)}}}'}
    return {}


ReferenceLookup = Callable[[str, str], bool]


@dataclass
class RuleSet:
    """The active rules for one source and domain, with a batch-wide reference lookup."""

    rules: list[ValidationRule]
    references: ReferenceLookup

    @classmethod
    def load(cls, source: SourceSystem, domain: str,
             records_attributes: Iterable[dict[str, Any]]) -> RuleSet:
        rules = [r for r in ValidationRule.objects.filter(domain=domain, is_active=True)
                 .select_related("source") if r.source_id in (None, source.pk)]
        return cls(rules=rules, references=_reference_lookup(source, rules, records_attributes))

    def check(self, attributes: dict[str, Any]) -> list[dict[str, Any]]:
        """Every rule this record breaks, as quarantine reasons."""
        problems = []
        for rule in self.rules:
            message = self._broken(rule, attributes.get(rule.attribute))
            if message:
                problems.append(reason(rule.attribute, rule.message or message,
                                       value=attributes.get(rule.attribute)))
        return problems

    def _broken(self, rule: ValidationRule, value: Any) -> str | None:
        if rule.rule == ValidationRule.Rule.REQUIRED:
            return f"{rule.attribute} is required" if is_empty(value) else None
        if is_empty(value):
            return None
        values = value if isinstance(value, list) else [value]
        params = rule.params or {}
        for item in values:
            if rule.rule == ValidationRule.Rule.FORMAT and \
                    not re.fullmatch(params["pattern"], str(item)):
                return f"'{item}' does not match the format {params['pattern']}"
            if rule.rule == ValidationRule.Rule.ALLOWED_VALUES and item not in params["values"]:
                return f"'{item}' is not one of {', '.join(map(str, params['values']))}"
            if rule.rule == ValidationRule.Rule.REFERENCE_EXISTS and \
                    not self.references(params["domain"], str(item)):
                return f"no {params['domain']} record with key '{item}' from this source"
        return None


def _reference_lookup(source: SourceSystem, rules: list[ValidationRule],
                      records_attributes: Iterable[dict[str, Any]]) -> ReferenceLookup:
    """Load, in one query per referenced domain, which referenced keys exist."""
    wanted: dict[str, set[str]] = {}
    reference_rules = [r for r in rules if r.rule == ValidationRule.Rule.REFERENCE_EXISTS]
    for attributes in records_attributes:
        for rule in reference_rules:
            value = attributes.get(rule.attribute)
            if not is_empty(value):
                wanted.setdefault(rule.params["domain"], set()).add(str(value))
    existing = {
        domain: set(SourceRecord.objects.filter(source=source, domain=domain, source_key__in=keys)
                    .exclude(status=SourceRecord.Status.DELETED)
                    .exclude(golden_id=None).values_list("source_key", flat=True))
        for domain, keys in wanted.items()
    }
    return lambda domain, key: key in existing.get(domain, ())
