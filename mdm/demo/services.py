"""Load the demo: three configured source systems, their records, and demo logins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from mdm.core.errors import Forbidden
from mdm.core.roles import APPROVER, DATA_STEWARD
from mdm.demo.dataset import DemoDataset, SourceSpec, build_demo_dataset
from mdm.publishing.models import Subscription
from mdm.publishing.services import subscription_upsert
from mdm.sources.models import FieldMapping, SourceSystem, ValueMap
from mdm.sources.services import (
    DOMAIN_ORDER,
    IncomingRecord,
    count_outcomes,
    source_records_ingest,
    source_system_rotate_key,
)
from mdm.stewardship.models import ConflictPolicy

DEMO_USERS = [("admin", "admin", True), ("steward", "steward", False),
              ("approver", "approver", False)]
FINANCE_APPROVERS = "finance_approver"


@dataclass
class DemoSummary:
    """What the demo loaded, and the credentials to try it with."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    api_keys: dict[str, str] = field(default_factory=dict)
    users: list[tuple[str, str]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)


def demo_load(*, seed: int = 7, customers: int = 2000, products: int = 200,
              contracts: int = 600, with_users: bool = True, batch_size: int = 500,
              on_progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Configure the demo sources and ingest the generated records (idempotent)."""
    if with_users and not settings.MDM_ALLOW_DEMO_USERS:
        raise Forbidden("Demo logins (admin/admin, steward/steward) are refused with "
                        "production settings; use --no-users.")
    dataset = build_demo_dataset(seed=seed, customers=customers, products=products,
                                 contracts=contracts)
    summary = DemoSummary()
    for spec in dataset.sources:
        source = demo_source_configure(spec=spec)
        summary.api_keys[spec.code] = source_system_rotate_key(source=source)
    summary.subscriptions = [demo_subscription(spec=dataset.source("shop"))]
    demo_policies()
    if with_users:  # before the records arrive, so the alerts find their stewards
        summary.users = demo_users_create()
    for spec in dataset.sources:
        summary.counts[spec.code] = _ingest_source(dataset, spec, batch_size, on_progress)
    return summary


@transaction.atomic
def demo_source_configure(*, spec: SourceSpec) -> SourceSystem:
    """Create or update one source system with its field mappings and value maps."""
    source, _ = SourceSystem.objects.update_or_create(code=spec.code, defaults={
        "name": spec.name, "is_source": spec.is_source, "is_subscriber": spec.is_subscriber,
        "record_key_fields": spec.key_field, "updated_at_fields": spec.updated_field})
    for domain, mappings in spec.mappings.items():
        for m in mappings:
            FieldMapping.objects.update_or_create(
                source=source, domain=domain, source_field=m.source_field, attribute=m.attribute,
                defaults={"transform": m.transform, "options": m.options})
    for domain, value_maps in spec.value_maps.items():
        for vm in value_maps:
            ValueMap.objects.update_or_create(
                source=source, domain=domain, attribute=vm.attribute,
                source_value=vm.source_value, defaults={"canonical_value": vm.canonical_value})
    return source


def demo_subscription(*, spec: SourceSpec) -> Subscription:
    """The shop pulls customer and product changes in its own field names and codes."""
    subscriber = SourceSystem.objects.get(code=spec.code)
    field_map = {}
    for mappings in spec.mappings.values():
        for m in mappings:
            field_map.setdefault(m.attribute, m.source_field)
    return subscription_upsert(subscriber=subscriber, name="golden-changes",
                               domains=["customer", "product"], transport="pull",
                               field_map=field_map)


def demo_policies() -> None:
    """The policy the demo shows: a contract amount change above 10% waits for a finance
    approver, and the golden amount stays as it was until then."""
    ConflictPolicy.objects.update_or_create(
        name="Contract amount change above 10% needs finance approval",
        defaults={"domain": "contract", "attribute": "amount", "condition": "relative_change",
                  "params": {"percent": 10}, "severity": "high", "handling": "approve",
                  "approval_levels": 1, "approver_group": FINANCE_APPROVERS})


def demo_users_create() -> list[tuple[str, str]]:
    """admin (superuser), steward (data steward), approver (finance approver)."""
    roles = {"steward": [DATA_STEWARD],
             "approver": [APPROVER, FINANCE_APPROVERS]}
    for username, password, superuser in DEMO_USERS:
        user = User.objects.filter(username=username).first() or User(username=username)
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(password)
        user.save()
        for group in roles.get(username, []):
            user.groups.add(Group.objects.get_or_create(name=group)[0])
    return [(u, p) for u, p, _ in DEMO_USERS]


def _ingest_source(dataset: DemoDataset, spec: SourceSpec, batch_size: int,
                   on_progress: Callable[[int], None] | None) -> dict[str, int]:
    source = SourceSystem.objects.get(code=spec.code)
    outcomes = []
    for domain in DOMAIN_ORDER:
        records = [IncomingRecord(source_key=r.source_key, domain=domain, fields=r.fields,
                                  source_updated_at=r.source_updated_at)
                   for r in dataset.records_for(spec.code, domain)]
        for start in range(0, len(records), batch_size):
            chunk = records[start:start + batch_size]
            outcomes += source_records_ingest(source=source, records=chunk, channel="api",
                                              origin="mdm_demo").outcomes
            if on_progress:
                on_progress(len(chunk))
    return count_outcomes(outcomes)
