"""Reconciliation: does each subscriber hold what the hub says it should?

Two ways to learn what a subscriber holds: read it through the subscriber's own connector
(its records mapped with its field mappings), or take the checksums it posts back (every
delivered event carries ``data.checksum``). Drifted records can be re-published to that
subscriber alone as ``mdm.<domain>.reconciled`` events with the full current values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors import ConnectorError, get_connector
from mdm.core.errors import ValidationFailed
from mdm.golden.schema import golden_values
from mdm.golden.selectors import golden_records_list
from mdm.publishing.models import ReconciliationRun, Subscription
from mdm.publishing.payloads import OutboundMapping, passes_filters, values_checksum
from mdm.publishing.services import EventSpec, change_events_emit
from mdm.sources.selectors import (
    feed_rows_canonical,
    golden_ids_for_keys,
    mapped_attributes,
    outbound_codes,
)

DRIFT_SAMPLE = 100


def subscription_reconcile(*, subscription: Subscription,
                           checksums: Iterable[dict[str, Any]] | None = None,
                           republish: bool = False) -> ReconciliationRun:
    """Compare, record the run with its drift, and optionally re-publish drifted records.

    ``checksums``: ``[{"golden_id": ..., "checksum": ...}]`` posted by the subscriber;
    without them the subscriber's connector is read.
    """
    mapping = OutboundMapping(subscription, outbound_codes(source=subscription.subscriber))
    run = ReconciliationRun(subscription=subscription, method=(
        ReconciliationRun.Method.CHECKSUMS if checksums is not None
        else ReconciliationRun.Method.CONNECTOR))
    drift: list[dict[str, Any]] = []
    for domain in subscription.domains or []:
        if checksums is not None:
            held, only = _posted(checksums), None
        else:
            held, only = _read_through_connector(subscription, domain, mapping)
        expected = _expected(subscription, domain, mapping, only)
        drift += _compare(run, domain, expected, held)
    run.drift = drift[:DRIFT_SAMPLE]
    with transaction.atomic():
        if republish:
            run.republished = _republish(subscription, [d for d in drift
                                                        if d["why"] in ("different", "missing")])
        run.finished_at = timezone.now()
        run.save()
        Subscription.objects.filter(pk=subscription.pk).update(last_reconciled_at=run.finished_at)
    return run


def _expected(subscription: Subscription, domain: str, mapping: OutboundMapping,
              only: set[str] | None) -> dict[str, tuple[str, dict[str, Any]]]:
    """golden id → (checksum, values) of every active record the subscriber should hold."""
    expected = {}
    for record in golden_records_list(domain=domain, status="active").iterator(chunk_size=1000):
        values = golden_values(record)
        if not passes_filters(subscription, values):
            continue
        if only is not None:
            values = {k: v for k, v in values.items() if k in only}
        outbound = mapping.values(domain, values)
        expected[str(record.id)] = (values_checksum(outbound), outbound)
    return expected


def _posted(checksums: Iterable[dict[str, Any]]) -> dict[str, str]:
    held = {}
    for position, item in enumerate(checksums):
        try:
            held[str(uuid.UUID(str(item["golden_id"])))] = str(item["checksum"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationFailed(
                f"records[{position}] needs a golden_id (UUID) and a checksum",
                fields={f"records[{position}]": ["golden_id and checksum required"]}) from exc
    return held


def _read_through_connector(subscription: Subscription, domain: str, mapping: OutboundMapping
                            ) -> tuple[dict[str, str], set[str] | None]:
    """What the subscriber holds, as golden id → checksum, and the attributes it stores."""
    subscriber = subscription.subscriber
    if not subscriber.connector:
        raise ValidationFailed(f"{subscriber.code} has no connector to read its records; "
                               "post checksums instead", fields={"connector": ["required"]})
    try:
        fetched = get_connector(subscriber.connector, subscriber.connector_config) \
            .fetch_changes(None)
        rows = feed_rows_canonical(source=subscriber, domain=domain, rows=fetched.rows)
    except ConnectorError as exc:
        raise ValidationFailed(f"reading {subscriber.code} failed: {exc}") from exc
    goldens = golden_ids_for_keys(domain=domain, keys=[(subscriber.code, key) for key, _ in rows])
    stored = mapped_attributes(source=subscriber, domain=domain) or None
    if subscription.attributes:
        stored = set(subscription.attributes) & stored if stored else set(subscription.attributes)
    held = {}
    for key, attributes in rows:
        golden_id = goldens.get((subscriber.code, key))
        if golden_id:
            values = {k: v for k, v in attributes.items() if stored is None or k in stored}
            held[str(golden_id)] = values_checksum(mapping.values(domain, values))
    return held, stored


def _compare(run: ReconciliationRun, domain: str,
             expected: dict[str, tuple[str, dict]], held: dict[str, str]) -> list[dict]:
    drift = []
    for golden_id, (checksum, _) in expected.items():
        run.checked += 1
        if golden_id not in held:
            run.missing += 1
            drift.append({"domain": domain, "golden_id": golden_id, "why": "missing"})
        elif held[golden_id] != checksum:
            run.different += 1
            drift.append({"domain": domain, "golden_id": golden_id, "why": "different"})
        else:
            run.in_sync += 1
    for golden_id in held.keys() - expected.keys():
        run.unexpected += 1
        drift.append({"domain": domain, "golden_id": golden_id, "why": "unexpected"})
    return drift


def _republish(subscription: Subscription, drifted: list[dict[str, Any]]) -> int:
    """Send the full current values of the drifted records to this subscriber only."""
    events = []
    for item in drifted:
        record = golden_records_list(domain=item["domain"]).filter(pk=item["golden_id"]).first()
        if record is None:
            continue
        events.append(EventSpec(type=f"mdm.{item['domain']}.reconciled", domain=item["domain"],
                                golden_id=record.id, version=record.version,
                                data={"values": golden_values(record), "changed": {}},
                                audience=subscription))
    change_events_emit(events=events)
    return len(events)
