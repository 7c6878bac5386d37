"""The fan-out's reads of subscriptions, the outbox and value maps, for one pass.

On PostgreSQL a pass takes two hand-written statements per subscription. The first locks
the active subscriptions (with their subscribers). The second, run once the row is
locked (so it sees everything earlier lock holders committed), reads the events past
the cursor, each with the subscriber's own keys of its golden record, and with them
whether deliveries are still pending at or behind the cursor (``backlog``: then new ones
are not the oldest due) and a digest of the subscriber's value map rows
(``maps_digest``). The codes themselves come from a per-process cache keyed by that
digest, filled from a read that returns rows and digest together: a cached entry is used
only while the maps are exactly what they were when it was read, whatever wrote them
(admin, API, bulk updates or plain SQL), so there is no invalidation to miss.
Other databases (SQLite, the embedded default) take the ORM path with the same results.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.db import connection, models

from mdm.publishing.models import ChangeEvent, Delivery, Subscription
from mdm.sources.models import SourceRecord, SourceSystem, ValueMap
from mdm.sources.selectors import outbound_codes, subscriber_view

Codes = dict[tuple[str, str], dict[str, str]]

_CODES_CACHE: dict[tuple[int, str], Codes] = {}
_CODES_CACHE_MAX = 256
_MAPS_DIGEST = "coalesce(md5(string_agg(vm::text, ',' ORDER BY vm.id)), '')"


def subscriptions_lock(*, first: str = "") -> list[Subscription]:
    """The active subscriptions no other fan-out holds, in id order, locked until the
    transaction ends, with ``subscriber`` loaded. On PostgreSQL ``first`` (statements
    without parameters, ending in ``;``) runs before, in the same round trip."""
    if connection.vendor == "postgresql":
        return _subscriptions_lock_sql(first)
    return list(Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(is_active=True).select_related("subscriber").order_by("pk"))


def subscriber_codes(subscription: Subscription) -> Codes:
    """The reverse of the subscriber's value maps (as ``outbound_codes``), from the cache
    when ``maps_digest`` (read under the subscription's lock) matches."""
    digest: str | None = getattr(subscription, "maps_digest", None)
    if digest is None:
        return outbound_codes(source=subscription.subscriber)
    if digest == "":
        return {}
    codes = _CODES_CACHE.get((subscription.subscriber_id, digest))
    if codes is None:  # cached under the digest read with them (they may be newer still)
        digest, codes = _value_maps_fetch(subscription.subscriber_id)
        if len(_CODES_CACHE) >= _CODES_CACHE_MAX:
            _CODES_CACHE.clear()
        _CODES_CACHE[(subscription.subscriber_id, digest)] = codes
    return codes


def events_after(subscription: Subscription, *, limit: int) -> list[ChangeEvent]:
    """Up to ``limit`` outbox events past the locked subscription's cursor, in sequence
    order; sets the subscription's ``backlog`` and ``maps_digest`` (None: not read). On
    PostgreSQL each event of a subscribed domain carries ``own_keys`` (see ``own_keys``)."""
    if connection.vendor != "postgresql":
        subscription.backlog, subscription.maps_digest = _backlog(subscription), None
        return list(ChangeEvent.objects.filter(seq__gt=subscription.fanned_out_seq)
                    .order_by("seq")[:limit])
    with connection.cursor() as cursor:
        cursor.execute(_events_sql(), [
            list(subscription.domains or []), subscription.subscriber_id,
            SourceRecord.Status.DELETED, subscription.pk, Delivery.Status.PENDING,
            subscription.fanned_out_seq, subscription.subscriber_id,
            subscription.fanned_out_seq, limit])
        rows = cursor.fetchall()
    subscription.backlog, subscription.maps_digest = rows[0][-2:] if rows else (False, None)
    events = []
    for row in rows:
        event = _instance(ChangeEvent, row[:-3])
        event.own_keys = row[-3]
        events.append(event)
    return events


def _backlog(subscription: Subscription) -> bool:
    """Whether deliveries are pending at or behind the cursor (older than any new one)."""
    return Delivery.objects.filter(subscription=subscription, status=Delivery.Status.PENDING,
                                   seq__lte=subscription.fanned_out_seq).exists()


def own_keys(subscription: Subscription,
             events: list[ChangeEvent]) -> dict[tuple[str, Any], list[str]]:
    """``(domain, golden id) → the subscriber's own source keys`` of the events' records
    (as ``subscriber_view``): from the events when they carry them, else read."""
    keys: dict[tuple[str, Any], list[str]] = {}
    for domain in {e.domain for e in events}:
        of_domain = [e for e in events if e.domain == domain]
        if all(hasattr(e, "own_keys") for e in of_domain):
            keys.update(((domain, e.golden_id), e.own_keys or []) for e in of_domain)
            continue
        view = subscriber_view(source=subscription.subscriber, domain=domain,
                               golden_ids=[e.golden_id for e in of_domain])
        keys.update(((domain, g), [key for key, _ in own]) for g, own in view.items())
    return keys


@cache
def _events_sql() -> str:
    """The events past a cursor with the subscriber's own keys, its backlog flag and the
    digest of its value map rows ('' when it has none): the last two are uncorrelated
    sub-selects, evaluated once per statement."""
    record, delivery = SourceRecord._meta.db_table, Delivery._meta.db_table
    return (
        f"SELECT {_columns('e', ChangeEvent)}, CASE WHEN e.domain = ANY(%s) THEN ARRAY("
        f"SELECT r.source_key FROM {record} r WHERE r.source_id = %s AND r.domain = e.domain "
        f"AND r.golden_id = e.golden_id AND r.status <> %s ORDER BY r.source_key) END, "
        f"EXISTS (SELECT 1 FROM {delivery} d WHERE d.subscription_id = %s "
        f"AND d.status = %s AND d.seq <= %s), "
        f"(SELECT {_MAPS_DIGEST} FROM {ValueMap._meta.db_table} vm WHERE vm.source_id = %s) "
        f"FROM {ChangeEvent._meta.db_table} e WHERE e.seq > %s ORDER BY e.seq LIMIT %s")


def _fields(model: type[models.Model]) -> list[models.Field]:
    return list(model._meta.concrete_fields)


def _columns(alias: str, model: type[models.Model]) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in _fields(model))


@cache
def _lock_sql() -> str:
    return (
        f"SELECT {_columns('s', Subscription)}, {_columns('ss', SourceSystem)} "
        f"FROM {Subscription._meta.db_table} s "
        f"JOIN {SourceSystem._meta.db_table} ss ON ss.id = s.subscriber_id "
        f"WHERE s.is_active ORDER BY s.id FOR UPDATE OF s SKIP LOCKED")


def _subscriptions_lock_sql(first: str) -> list[Subscription]:
    with connection.cursor() as cursor:
        cursor.execute(f"{first}{_lock_sql()}")
        rows = cursor.fetchall()
    split = len(_fields(Subscription))
    subscriptions = []
    for row in rows:
        subscription = _instance(Subscription, row[:split])
        subscription.subscriber = _instance(SourceSystem, row[split:])
        subscriptions.append(subscription)
    return subscriptions


def _instance(model: type[models.Model], values: tuple[Any, ...]) -> Any:
    """A model instance from a row of its concrete columns, as the ORM would load it."""
    fields = _fields(model)
    loaded = [field.from_db_value(value, None, connection)
              if value is not None and hasattr(field, "from_db_value") else value
              for field, value in zip(fields, values, strict=True)]
    return model.from_db(connection.alias, [field.attname for field in fields], loaded)


def _value_maps_fetch(source_id: int) -> tuple[str, Codes]:
    """The digest of a system's value maps and their reverse, read in one statement."""
    sql = (f"SELECT {_MAPS_DIGEST}, "
           f"coalesce(json_agg(json_build_array(vm.domain, vm.attribute, vm.canonical_value, "
           f"vm.source_value) ORDER BY vm.id), '[]')::text "
           f"FROM {ValueMap._meta.db_table} vm WHERE vm.source_id = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [source_id])
        digest, rows = cursor.fetchone()
    codes: Codes = {}
    for domain, attribute, canonical, code in json.loads(rows):
        codes.setdefault((domain, attribute), {}).setdefault(canonical, code)
    return digest, codes
