"""The COPY-based set-wise writes of ``mdm.core.bulk`` store exactly what the ORM stores."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from mdm.core.bulk import (
    bulk_insert_rows,
    bulk_save_with_history,
    bulk_update_rows,
    history_rows_insert,
)
from mdm.core.middleware import _request_id, set_request_id
from mdm.golden.models import Contract, Customer, Product
from mdm.publishing.models import ChangeEvent
from mdm.sources.models import SourceRecord, SourceSystem

SHANGHAI = timezone(timedelta(hours=8))
TRICKY = [
    "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "end\\",
    "张伟", "emoji 😀🎉", "quote \" and ' both", "mixed\t\\\n\r张😀", "", " ",
]
JSON_VALUE = {
    "name": 'He said "hi" \\o/', "nested": {"quote": '"', "list": ["a\tb", "c\nd", None]},
    "zh": "张伟", "emoji": "😀", "n": 1, "f": 1.5, "t": True, "nothing": None,
}


@pytest.fixture
def pg(db: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY paths run on PostgreSQL only")


@pytest.fixture
def source(pg: None) -> SourceSystem:
    return SourceSystem.objects.create(code="bulk", name="Bulk")


@pytest.fixture
def request_id() -> Any:
    token = set_request_id("req-bulk-1")
    yield "req-bulk-1"
    _request_id.reset(token)


def _record(source: SourceSystem, key: str, text: str, **fields: Any) -> SourceRecord:
    values = {
        "source": source, "domain": "customer", "source_key": key, "raw_payload": text,
        "attributes": {"name": text, **JSON_VALUE}, "golden_id": uuid.uuid4(),
        "source_updated_at": datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=SHANGHAI),
        "received_at": datetime(2024, 3, 1, 1, 2, 3, 4, tzinfo=UTC),
        "content_hash": "h" * 64, "quarantine_reasons": [{"field": text, "why": '"x"'}],
        "refused_values": {}, "base_version": 7,
    }
    values.update(fields)
    return SourceRecord(**values)


RECORD_FIELDS = ["source_id", "domain", "source_key", "golden_id", "raw_payload", "attributes",
                 "source_updated_at", "received_at", "content_hash", "status",
                 "quarantine_reasons", "refused_values", "base_version", "batch_id"]


def _stored(model: Any, pk: Any, fields: list[str]) -> tuple:
    return model.objects.filter(pk=pk).values_list(*fields).get()


def test_insert_sets_ids_and_round_trips_exactly(source: SourceSystem) -> None:
    records = [_record(source, f"k{i}", text) for i, text in enumerate(TRICKY)]
    records.append(_record(source, "nulls", "x", golden_id=None, source_updated_at=None,
                           base_version=None, attributes={}, quarantine_reasons=[]))
    bulk_insert_rows(SourceRecord, records)
    ids = [r.pk for r in records]
    assert all(isinstance(pk, int) for pk in ids) and ids == sorted(set(ids))
    assert all(not r._state.adding for r in records)
    for record in records:
        stored = SourceRecord.objects.get(pk=record.pk)
        for name in RECORD_FIELDS:
            assert getattr(stored, name) == getattr(record, name), name
    stored = SourceRecord.objects.get(pk=records[0].pk)
    assert stored.source_updated_at.utcoffset() == timedelta(0)  # read back in UTC
    assert stored.source_updated_at == datetime(2024, 2, 29, 15, 59, 58, 123456, tzinfo=UTC)


def test_insert_stores_what_the_orm_stores(source: SourceSystem) -> None:
    """Same values through ``save()`` and through COPY: identical database text."""
    for i, text in enumerate(TRICKY):
        by_orm = _record(source, f"orm{i}", text)
        by_orm.save()
        by_copy = _record(source, f"copy{i}", text)
        bulk_insert_rows(SourceRecord, [by_copy])
        with connection.cursor() as cursor:
            cursor.execute("SELECT raw_payload, attributes::text, quarantine_reasons::text, "
                           "source_updated_at, received_at, golden_id IS NOT NULL "
                           "FROM sources_sourcerecord WHERE id IN (%s, %s) ORDER BY id",
                           [by_orm.pk, by_copy.pk])
            orm_row, copy_row = cursor.fetchall()
        assert orm_row == copy_row


def test_insert_golden_records_keeps_uuid_decimal_date_and_auto_now(pg: None) -> None:
    customer = Customer(id=uuid.uuid4(), name="张伟 😀", name_zh="张伟", emails=["a\\b@x.cn"],
                        birth_date=date(1990, 2, 28), lineage={"name": {"rule": '"q"'}})
    bulk_insert_rows(Customer, [customer])
    assert customer.created_at is not None and customer.updated_at is not None
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.name, stored.name_zh, stored.emails, stored.birth_date, stored.lineage) == \
        ("张伟 😀", "张伟", ["a\\b@x.cn"], date(1990, 2, 28), {"name": {"rule": '"q"'}})
    assert stored.created_at == customer.created_at

    product = Product(id=uuid.uuid4(), sku="S\t1", list_price=Decimal("1250000.00"))
    cheap = Product(id=uuid.uuid4(), sku="S2", list_price=Decimal("0.10"))
    free = Product(id=uuid.uuid4(), sku="S3", list_price=None)
    bulk_insert_rows(Product, [product, cheap, free])
    prices = dict(Product.objects.values_list("sku", "list_price"))
    assert str(prices["S\t1"]) == "1250000.00" and str(prices["S2"]) == "0.10"
    assert prices["S3"] is None

    contract = Contract(id=uuid.uuid4(), contract_number="C-1", customer_id=customer.pk,
                        amount=Decimal("-12.34"), start_date=date(2024, 1, 1),
                        end_date=None, product_lines=[{"sku": "S\t1", "qty": 2}])
    bulk_insert_rows(Contract, [contract])
    stored = Contract.objects.get(pk=contract.pk)
    assert (stored.customer_id, stored.amount, stored.start_date, stored.end_date,
            stored.product_lines) == (customer.pk, Decimal("-12.34"), date(2024, 1, 1), None,
                                      [{"sku": "S\t1", "qty": 2}])


def test_change_events_get_increasing_seq_in_order(pg: None) -> None:
    events = [ChangeEvent(type="mdm.customer.created", domain="customer",
                          golden_id=uuid.uuid4(), version=i + 1, data={"i": i, "v": TRICKY[i]})
              for i in range(len(TRICKY))]
    bulk_insert_rows(ChangeEvent, events)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    stored = list(ChangeEvent.objects.order_by("seq").values_list("seq", "version", "data"))
    assert stored == [(e.seq, e.version, e.data) for e in events]
    assert all(e.created_at is not None and e.event_id for e in events)


def test_update_round_trips_and_leaves_other_fields(source: SourceSystem) -> None:
    records = [_record(source, f"k{i}", "before") for i in range(len(TRICKY))]
    untouched = _record(source, "other", "before")
    bulk_insert_rows(SourceRecord, [*records, untouched])
    for record, text in zip(records, reversed(TRICKY), strict=True):
        record.raw_payload = text
        record.attributes = {"name": text, "deep": {"q": '"' + text + '"'}}
        record.golden_id = None if text == "" else uuid.uuid4()
        record.source_updated_at = datetime(2023, 12, 31, 23, 0, tzinfo=SHANGHAI)
        record.base_version = None
        record.status = SourceRecord.Status.QUARANTINED
        record.domain = "product"  # not in the update: must stay as stored
    fields = ["raw_payload", "attributes", "golden_id", "source_updated_at", "base_version",
              "status"]
    with transaction.atomic():
        bulk_update_rows(SourceRecord, records, fields)
        bulk_update_rows(SourceRecord, records[:2], fields)  # twice in one transaction
    for record in records:
        stored = SourceRecord.objects.get(pk=record.pk)
        for name in fields:
            assert getattr(stored, name) == getattr(record, name), name
        assert stored.domain == "customer"
    assert _stored(SourceRecord, untouched.pk, RECORD_FIELDS) == \
        tuple(getattr(untouched, name) for name in RECORD_FIELDS)


def test_update_golden_decimal_and_dates(pg: None) -> None:
    products = [Product(id=uuid.uuid4(), sku=f"S{i}", list_price=Decimal("1.00"))
                for i in range(3)]
    bulk_insert_rows(Product, products)
    products[0].list_price, products[1].list_price = Decimal("99999.99"), None
    products[2].list_price = Decimal("0.5")
    bulk_update_rows(Product, products, ["list_price", "version"])
    assert [str(p) for p in Product.objects.order_by("sku").values_list(
        "list_price", flat=True)] == ["99999.99", "None", "0.50"]
    customer = Customer(id=uuid.uuid4(), name="a")
    bulk_insert_rows(Customer, [customer])
    customer.birth_date, customer.name = date(2000, 12, 31), "张\t伟"
    bulk_update_rows(Customer, [customer], ["birth_date", "name"])
    assert Customer.objects.values_list("birth_date", "name").get() == \
        (date(2000, 12, 31), "张\t伟")


def test_history_rows_carry_request_id_type_user_and_fields(source: SourceSystem,
                                                            request_id: str) -> None:
    user = User.objects.create_user("bulk-writer")
    records = [_record(source, f"k{i}", text) for i, text in enumerate(TRICKY)]
    bulk_save_with_history(SourceRecord, created=records, user=user, reason="batch 1")
    for record in records:
        record.raw_payload = record.raw_payload + "\n2"
    bulk_save_with_history(SourceRecord, updated=records, update_fields=["raw_payload"],
                           reason="")
    history = SourceRecord.history.model.objects.order_by("history_id")
    created, updated = list(history[:len(records)]), list(history[len(records):])
    assert len(updated) == len(records)
    for row, record in zip(created, records, strict=True):
        assert (row.history_type, row.history_user_id, row.request_id,
                row.history_change_reason) == ("+", user.pk, request_id, "batch 1")
        assert row.id == record.pk and row.raw_payload == record.raw_payload[:-2]
        assert row.attributes == record.attributes
        assert row.source_updated_at == record.source_updated_at
    for row, record in zip(updated, records, strict=True):
        assert (row.history_type, row.history_user_id, row.request_id,
                row.history_change_reason) == ("~", None, request_id, None)
        assert row.id == record.pk and row.raw_payload == record.raw_payload
        assert row.history_date is not None and row.history_date.tzinfo is not None


def test_history_for_golden_records(pg: None, request_id: str) -> None:
    customer = Customer(id=uuid.uuid4(), name="😀", birth_date=date(1999, 1, 2),
                        phones=["+86 138"])
    bulk_insert_rows(Customer, [customer])
    history_rows_insert(Customer, [customer], history_type="+")
    row = Customer.history.model.objects.get()
    assert (row.id, row.name, row.birth_date, row.phones, row.request_id, row.history_type) == \
        (customer.id, "😀", date(1999, 1, 2), ["+86 138"], request_id, "+")


def test_writes_stay_in_the_callers_transaction(source: SourceSystem) -> None:
    records = [_record(source, "k1", "a")]
    with pytest.raises(RuntimeError), transaction.atomic():
        bulk_save_with_history(SourceRecord, created=records)
        bulk_update_rows(SourceRecord, records, ["raw_payload"])
        assert SourceRecord.objects.count() == 1
        raise RuntimeError
    assert SourceRecord.objects.count() == 0
    assert SourceRecord.history.model.objects.count() == 0
