"""The ingestion service end to end: mapping, codes, quarantine, idempotency, history."""

from __future__ import annotations

import pytest

from mdm.golden.models import Contract, Customer
from mdm.publishing.models import ChangeEvent
from mdm.sources.models import RejectedRecord, SourceRecord, ValidationRule
from mdm.sources.services import source_records_reprocess

pytestmark = pytest.mark.django_db

CRM_CUSTOMER = [("客户编号", "name"), ("客户名称", "name"), ("手机", "phones"),
                ("邮箱", "emails", "split"), ("证件号码", "national_id"), ("状态", "status"),
                ("更新时间", "segment")]


@pytest.fixture
def crm(make_source):
    return make_source(
        "crm",
        mappings={"customer": [("客户名称", "name"), ("手机", "phones"),
                               ("邮箱", "emails", "split"), ("证件号码", "national_id"),
                               ("状态", "status")]},
        value_maps={"customer": {"status": {"1": "active", "2": "inactive", "3": "suspended"}}},
        record_key_fields={"customer": "客户编号"}, updated_at_fields={"customer": "更新时间"},
    )


@pytest.fixture
def erp(make_source):
    return make_source(
        "erp",
        mappings={"customer": [("name_en", "name"), ("mobile", "phones"), ("email", "emails"),
                               ("id_no", "national_id"), ("status", "status")]},
        value_maps={"customer": {"status": {"A": "active", "I": "inactive", "S": "suspended"}}},
    )


ID_A = "11010519491231002X"
ID_B = "110105198503021233"


def test_code_mapping_brings_both_sources_to_canonical_values(crm, erp, ingest):
    crm_result = ingest(crm, ("C1", "customer", {"客户名称": "张伟", "状态": "3"}))
    erp_result = ingest(erp, ("E1", "customer", {"name_en": "Li Na", "status": "s"}))
    assert crm_result.outcomes[0].outcome == "created"
    assert erp_result.outcomes[0].outcome == "created"
    statuses = set(Customer.objects.values_list("customer_status", flat=True))
    assert statuses == {"suspended"}


def test_unknown_code_is_quarantined_with_the_reason_and_reprocessed_after_the_fix(
        crm, ingest):
    result = ingest(crm, ("C9", "customer", {"客户名称": "王芳", "状态": "9",
                                             "手机": "138-0013-800"}))
    outcome = result.outcomes[0]
    assert outcome.outcome == "quarantined"
    messages = " | ".join(r["message"] for r in outcome.reasons)
    assert "no value map for code '9'" in messages
    assert "not a valid phone number" in messages
    record = SourceRecord.objects.get(source_key="C9")
    assert record.status == "quarantined" and record.golden_id is None
    assert "138-0013-800" in record.raw_payload
    assert Customer.objects.count() == 0

    crm.value_maps.create(domain="customer", attribute="status", source_value="9",
                          canonical_value="inactive")
    crm.mappings.filter(source_field="手机").delete()
    [again] = source_records_reprocess(record_ids=[record.pk])
    assert again.outcomes[0].outcome == "updated"
    record.refresh_from_db()
    assert record.status == "active" and record.quarantine_reasons == []
    golden = Customer.objects.get(pk=record.golden_id)
    assert golden.name == "王芳" and golden.customer_status == "inactive"


def test_resending_the_same_batch_changes_nothing(crm, ingest):
    batch = [("C1", "customer", {"客户名称": "张伟", "手机": "13800138000", "状态": "1"},
              "2026-11-01 10:00:00"),
             ("C2", "customer", {"客户名称": "李娜", "状态": "2"}, "2026-11-01 11:00:00")]
    first = ingest(crm, *batch)
    assert first.counts == {"created": 2}
    counts = (SourceRecord.history.count(), Customer.history.count(), ChangeEvent.objects.count())
    second = ingest(crm, *batch)
    assert second.counts == {"unchanged": 2}
    assert [o.golden_id for o in second.outcomes] == [o.golden_id for o in first.outcomes]
    assert (SourceRecord.history.count(), Customer.history.count(),
            ChangeEvent.objects.count()) == counts


def test_an_older_version_is_kept_as_stale_and_not_applied(crm, ingest):
    ingest(crm, ("C1", "customer", {"客户名称": "张伟新"}, "2026-11-02 10:00:00"))
    result = ingest(crm, ("C1", "customer", {"客户名称": "张伟旧"}, "2026-11-01 10:00:00"))
    assert result.outcomes[0].outcome == "stale"
    assert Customer.objects.get().name == "张伟新"
    rejected = RejectedRecord.objects.get()
    assert "张伟旧" in rejected.raw and "older than the stored version" in \
        rejected.reasons[0]["message"]


def test_a_source_cannot_write_an_attribute_it_is_not_allowed_to(make_source, ingest):
    shop = make_source("shop", allowed_attributes={"customer": ["name", "emails"]})
    result = ingest(shop, ("U1", "customer", {"name": "赵敏", "emails": "zm@example.com",
                                              "national_id": ID_A}))
    outcome = result.outcomes[0]
    assert outcome.outcome == "created"
    assert outcome.refused["national_id"]["value"] == ID_A
    assert "may not write customer.national_id" in outcome.refused["national_id"]["reason"]
    record = SourceRecord.objects.get()
    assert record.refused_values["national_id"]["value"] == ID_A
    assert "national_id" not in record.attributes
    assert Customer.objects.get().national_id == ""


def test_records_sharing_a_strong_identifier_join_one_golden_record(crm, erp, ingest):
    ingest(crm, ("C1", "customer", {"客户名称": "张伟", "证件号码": ID_A.lower(),
                                    "手机": "138-0013-8000"}, "2026-11-01 10:00:00"))
    ingest(erp, ("E1", "customer", {"name_en": "Zhang Wei", "id_no": ID_A,
                                    "mobile": "+86 138 0013 8000"}, "2026-11-02 10:00:00"))
    ingest(erp, ("E2", "customer", {"name_en": "Zhang Wei", "id_no": ID_B}))
    assert Customer.objects.count() == 2
    golden = Customer.objects.get(national_id=ID_A)
    assert set(SourceRecord.objects.filter(golden_id=golden.id)
               .values_list("source_key", flat=True)) == {"C1", "E1"}
    assert golden.name == "Zhang Wei"  # the most recent source by business time
    assert golden.name_zh == "张伟" and golden.phones == ["+8613800138000"]
    assert golden.version == 2
    assert golden.lineage["name"]["source"] == "erp"
    assert golden.lineage["name_zh"]["source"] == "crm"


def test_every_change_writes_history_and_an_outbox_event(crm, ingest):
    ingest(crm, ("C1", "customer", {"客户名称": "张伟", "状态": "1"}, "2026-11-01 10:00:00"))
    ingest(crm, ("C1", "customer", {"客户名称": "张伟", "状态": "2"}, "2026-11-02 10:00:00"))
    record = SourceRecord.objects.get()
    golden = Customer.objects.get()
    assert record.history.count() == 2
    assert [h.customer_status for h in golden.history.order_by("history_date")] == \
        ["active", "inactive"]
    events = list(ChangeEvent.objects.filter(golden_id=golden.id).order_by("seq"))
    assert [(e.type, e.version) for e in events] == [("mdm.customer.created", 1),
                                                      ("mdm.customer.updated", 2)]
    assert events[1].data["changed"] == {"status": {"before": "active", "after": "inactive"}}
    assert events[1].origin_source == "crm"


def test_deleting_the_last_source_record_retires_the_golden_record(crm):
    from mdm.sources.services import IncomingRecord, source_records_ingest

    source_records_ingest(source=crm, records=[
        IncomingRecord("C1", "customer", {"客户名称": "张伟"})])
    result = source_records_ingest(source=crm, records=[
        IncomingRecord("C1", "customer", {}, deleted=True)])
    assert result.outcomes[0].outcome == "deleted"
    golden = Customer.objects.get()
    assert golden.status == "retired" and golden.version == 2
    assert ChangeEvent.objects.filter(type="mdm.customer.retired").count() == 1


def test_contract_references_resolve_to_the_golden_customer(crm, ingest):
    ingest(crm, ("C1", "customer", {"客户名称": "北京星辰科技有限公司"}))
    result = ingest(crm, ("HT-1", "contract", {"contract_number": "HT-1", "customer_ref": "C1",
                                               "amount": "1,000,000.00", "currency": "人民币"}),
                    ("HT-2", "contract", {"contract_number": "HT-2", "customer_ref": "C404",
                                          "amount": "5"}))
    assert [o.outcome for o in result.outcomes] == ["created", "quarantined"]
    assert "no customer record with key 'C404'" in result.outcomes[1].reasons[0]["message"]
    contract = Contract.objects.get()
    assert contract.customer.name == "北京星辰科技有限公司"
    assert str(contract.amount) == "1000000.00" and contract.currency == "CNY"


def test_a_validation_rule_configured_in_admin_quarantines_and_a_fix_releases(crm, ingest):
    rule = ValidationRule.objects.create(domain="customer", attribute="emails", rule="format",
                                         params={"pattern": r".*@corp\.cn"})
    result = ingest(crm, ("C1", "customer", {"客户名称": "张伟", "邮箱": "zw@gmail.com"}))
    assert result.outcomes[0].outcome == "quarantined"
    assert "does not match the format" in result.outcomes[0].reasons[0]["message"]
    rule.is_active = False
    rule.save()
    [again] = source_records_reprocess(record_ids=SourceRecord.objects.values_list("pk", flat=True))
    assert again.counts == {"updated": 1}
    assert Customer.objects.get().emails == ["zw@gmail.com"]


def test_a_bad_update_is_quarantined_and_the_golden_keeps_the_good_values(crm, ingest):
    ingest(crm, ("C1", "customer", {"客户名称": "张伟", "手机": "13800138000"},
                 "2026-11-01 10:00:00"))
    result = ingest(crm, ("C1", "customer", {"客户名称": "张伟", "手机": "12345"},
                          "2026-11-02 10:00:00"))
    assert result.outcomes[0].outcome == "quarantined"
    golden = Customer.objects.get()
    assert golden.phones == ["+8613800138000"] and golden.version == 1
    record = SourceRecord.objects.get()
    assert "12345" in record.raw_payload and record.attributes["phones"] == ["+8613800138000"]


def test_the_same_key_twice_in_one_batch_keeps_the_later_one(crm, ingest):
    result = ingest(crm, ("C1", "customer", {"客户名称": "旧名"}),
                    ("C1", "customer", {"客户名称": "新名"}))
    assert [o.outcome for o in result.outcomes] == ["stale", "created"]
    assert Customer.objects.get().name == "新名"
    assert RejectedRecord.objects.filter(raw__contains="旧名").exists()
