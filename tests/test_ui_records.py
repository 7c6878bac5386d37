"""The web interface's search and record page: finding golden records however a steward
types them, lineage and sources side by side, history, and the audited steward actions
(revert, split out, pin, unpin) with their roles and stale-page checks."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from sample_records import person

from mdm.core.roles import AUDITOR, DATA_STEWARD
from mdm.golden.models import Customer
from mdm.golden.selectors import golden_records_search
from mdm.golden.services import golden_records_merge
from mdm.matching.selectors import golden_ids_by_name
from mdm.sources.models import SourceRecord
from mdm.stewardship.models import StewardScope
from mdm.ui.models import StewardAction

pytestmark = pytest.mark.django_db

CREDIT_CODE = "91110000600037341L"
NATIONAL_ID = "110105198503021233"


def golden_of(source, key):
    return Customer.objects.get(pk=SourceRecord.objects.get(
        source__code=source, source_key=key).golden_id)


@pytest.fixture
def zhang(crm, erp, ingest):
    """张伟 in the CRM and Zhang Wei in the ERP with one mobile in two formats: one golden
    record from two sources; and 李娜, someone else."""
    ingest(crm, person("C1", name="张伟", phones="138-0013-8000", city="北京",
                       birth_date="1985-03-02", national_id=NATIONAL_ID,
                       emails="zw@example.com"),
           person("C2", name="李娜", phones="139-0000-1111", city="上海"))
    ingest(erp, person("E1", name="Zhang Wei", phones="+86 138 0013 8000", city="Beijing"))
    golden = golden_of("crm", "C1")
    assert golden == golden_of("erp", "E1")
    return golden


def user(name, *roles, domains=None):
    account = User.objects.create_user(name, password="pw")
    for role in roles:
        account.groups.add(Group.objects.get(name=role))
    if domains:
        StewardScope.objects.create(user=account, domains=domains)
    client = Client()
    client.force_login(account)
    return client


@pytest.fixture
def steward_ui(db):
    return user("ana", DATA_STEWARD)


@pytest.fixture
def auditor_ui(db):
    return user("otto", AUDITOR)


def found(client, q, **params):
    response = client.get("/search/", {"q": q, **params})
    assert response.status_code == 200
    return response.content.decode()


def record_url(golden, action=""):
    return f"/records/customer/{golden.id}/" + (f"{action}/" if action else "")


# --------------------------------------------------------------------------- search

@pytest.mark.parametrize("q", ["张伟", "zhang wei", "Zhang Wei", "wei zhang", "ZHANG WEI",
                               "zhangwei"])
def test_a_name_in_characters_or_pinyin_in_any_order_finds_the_customer(steward_ui, zhang, q):
    page = found(steward_ui, q)
    assert record_url(zhang) in page
    assert "李娜" not in page


@pytest.mark.parametrize("q", ["138-0013-8000", "+86 138 0013 8000", "13800138000",
                               "+8613800138000", "(138) 0013 8000", "0013 8000"])
def test_a_phone_number_in_any_format_finds_the_customer(steward_ui, zhang, q):
    page = found(steward_ui, q)
    assert record_url(zhang) in page
    assert "李娜" not in page


def test_pinyin_finds_a_record_known_only_in_characters(crm, ingest, steward_ui):
    ingest(crm, person("C9", name="王芳", city="杭州"))
    golden = golden_of("crm", "C9")
    for q in ("wang fang", "Fang WANG", "王芳"):
        assert record_url(golden) in found(steward_ui, q), q


def test_identifiers_and_email_find_the_record(crm, ingest, steward_ui, zhang):
    ingest(crm, ("K1", "customer", {"party_type": "organisation", "name": "北京星辰科技有限公司",
                                    "credit_code": CREDIT_CODE}))
    company = golden_of("crm", "K1")
    assert record_url(zhang) in found(steward_ui, NATIONAL_ID)
    assert record_url(zhang) in found(steward_ui, "110105 19850302 1233")
    assert record_url(zhang) in found(steward_ui, "ZW@Example.COM")
    assert record_url(company) in found(steward_ui, CREDIT_CODE.lower())
    assert record_url(company) in found(steward_ui, "星辰科技（北京）有限责任公司")
    assert record_url(zhang) not in found(steward_ui, CREDIT_CODE)


def test_search_selector_and_name_keys_directly(zhang):
    assert golden_ids_by_name(domain="customer", name="Wei Zhang") == {zhang.id}
    assert golden_ids_by_name(domain="product", name="Wei Zhang") == set()
    assert golden_ids_by_name(domain="customer", name="   ") == set()
    assert list(golden_records_search(domain="customer", query="zw@EXAMPLE.com")) == [zhang]
    assert golden_records_search(domain="customer", query="").count() == 2
    assert not golden_records_search(domain="customer", query="nobody at all").exists()


def test_filters_by_status_and_domain(crm, ingest, steward_ui, zhang):
    ingest(crm, person("C5", name="赵敏", city="成都"))
    other = golden_of("crm", "C5")
    golden_records_merge(domain="customer", survivor_id=zhang.id, merged_ids=[other.id])
    active = found(steward_ui, "赵敏")
    assert record_url(other) not in active
    assert record_url(other) in found(steward_ui, "赵敏", status="merged")
    assert record_url(other) in found(steward_ui, "赵敏", status="any")
    assert record_url(zhang) in found(steward_ui, "张伟", domain="customer")
    assert "No golden record matches" in found(steward_ui, "张伟", domain="product")


def test_a_scoped_steward_searches_only_their_domains(zhang):
    products_only = user("pia", DATA_STEWARD, domains=["product"])
    page = found(products_only, "张伟", domain="customer")
    assert record_url(zhang) not in page
    assert 'value="customer"' not in page


def test_results_paginate_by_fifty_and_htmx_gets_only_the_results(crm, ingest, steward_ui):
    ingest(crm, *[(f"P{n:02d}", "customer", {"party_type": "organisation",
                                             "name": f"Acme {n:02d} Trading Ltd",
                                             "city": f"Town{n}"}) for n in range(60)])
    first = found(steward_ui, "acme")
    assert "60 golden records" in first and "Page 1 of 2" in first
    assert len(re.findall(r'href="/records/customer/', first)) == 50
    second = found(steward_ui, "acme", page=2)
    assert len(re.findall(r'href="/records/customer/', second)) == 10
    partial = steward_ui.get("/search/", {"q": "acme"}, HTTP_HX_REQUEST="true",
                             HTTP_HX_TARGET="results").content.decode()
    assert "<html" not in partial and "60 golden records" in partial


def test_search_needs_a_login(client):
    response = client.get("/search/?q=x")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --------------------------------------------------------------------------- record page

def test_the_record_page_shows_lineage_sources_and_history(steward_ui, zhang):
    page = steward_ui.get(record_url(zhang)).content.decode()
    assert "Golden values" in page and "2 source records" in page
    assert "crm · C1" in page  # lineage names source and key
    assert 'data-testid="source-crm-C1"' in page and 'data-testid="source-erp-E1"' in page
    assert re.search(r'class="differs"[^>]*>(Zhang Wei|张伟)<', page)  # the name differs
    assert "Version 1" in page and "Split out" in page and "Pin value" in page


def test_a_merged_away_id_redirects_to_the_survivor(crm, ingest, steward_ui, zhang):
    ingest(crm, person("C5", name="赵敏", city="成都"))
    other = golden_of("crm", "C5")
    golden_records_merge(domain="customer", survivor_id=zhang.id, merged_ids=[other.id])
    response = steward_ui.get(record_url(other), follow=True)
    assert response.redirect_chain[-1][0] == record_url(zhang)
    assert f"Record {other.id} was merged into this one." in response.content.decode()


def test_unknown_records_and_domains_are_404(steward_ui, zhang):
    assert steward_ui.get(f"/records/customer/{uuid.uuid4()}/").status_code == 404
    assert steward_ui.get(f"/records/planet/{zhang.id}/").status_code == 404
    assert steward_ui.get("/records/customer/not-a-uuid/").status_code == 404
    assert steward_ui.post(f"/records/planet/{zhang.id}/pin/").status_code == 404


def test_a_steward_scoped_to_products_gets_404_on_a_customer_record(zhang):
    products_only = user("pia", DATA_STEWARD, domains=["product"])
    assert products_only.get(record_url(zhang)).status_code == 404
    response = products_only.post(record_url(zhang, "pin"),
                                  {"attribute": "segment", "value": "vip", "reason": "x"})
    assert response.status_code == 404
    zhang.refresh_from_db()
    assert not zhang.pins


def test_an_auditor_reads_the_page_without_buttons_and_every_action_is_refused(
        auditor_ui, zhang):
    page = auditor_ui.get(record_url(zhang)).content.decode()
    assert "Golden values" in page
    for button in ("Split out", "Revert to version", "Pin value", "Unpin"):
        assert button not in page
    posts = {"revert": {"to_version": 1, "version": zhang.version},
             "unmerge": {"source": "erp", "source_key": "E1"},
             "pin": {"attribute": "segment", "value": "vip", "reason": "test"},
             "unpin": {"attribute": "segment"}}
    for name, data in posts.items():
        assert auditor_ui.post(record_url(zhang, name), data).status_code == 403, name
    refused = StewardAction.objects.filter(outcome="refused", user__username="otto")
    assert sorted(refused.values_list("action", flat=True)) == [
        "record.pin", "record.revert", "record.unmerge", "record.unpin"]
    assert Customer.objects.get(pk=zhang.pk).version == zhang.version


def test_actions_are_posts_only(steward_ui, zhang):
    assert steward_ui.get(record_url(zhang, "pin")).status_code == 405


# --------------------------------------------------------------------------- actions

def done(action):
    return StewardAction.objects.filter(action=action, outcome="done").count()


def test_pin_and_unpin_are_audited_and_change_the_golden_value(steward_ui, zhang):
    response = steward_ui.post(record_url(zhang, "pin"), {
        "attribute": "segment", "value": "vip", "reason": "key account",
        "version": zhang.version}, follow=True)
    assert "Segment is pinned." in response.content.decode()
    zhang.refresh_from_db()
    assert zhang.segment == "vip" and zhang.pins["segment"]["reason"] == "key account"
    page = response.content.decode()
    assert "📌" in page and "key account" in page and "Unpin" in page
    assert done("record.pin") == 1

    response = steward_ui.post(record_url(zhang, "unpin"), {
        "attribute": "segment", "version": zhang.version}, follow=True)
    assert "unpinned" in response.content.decode()
    zhang.refresh_from_db()
    assert zhang.segment == "" and not zhang.pins
    assert done("record.unpin") == 1


def test_pinning_a_list_takes_one_value_per_line(steward_ui, zhang):
    steward_ui.post(record_url(zhang, "pin"), {
        "attribute": "phones", "value": "138-0013-8000\n139 1111 2222\n", "reason": "called"})
    zhang.refresh_from_db()
    assert zhang.phones == ["+8613800138000", "+8613911112222"]


def test_bad_pins_give_a_clear_message_and_change_nothing(steward_ui, zhang):
    version = zhang.version
    response = steward_ui.post(record_url(zhang, "pin"), {
        "attribute": "segment", "value": "vip", "reason": "  "}, follow=True)
    assert "Give a reason for pinning Segment." in response.content.decode()
    response = steward_ui.post(record_url(zhang, "pin"), {
        "attribute": "phones", "value": "call me", "reason": "x"}, follow=True)
    assert "phones" in response.content.decode() and "not a valid phone number" in \
        response.content.decode()
    response = steward_ui.post(record_url(zhang, "pin"), {
        "attribute": "nope", "value": "1", "reason": "x"}, follow=True)
    assert "Choose an attribute to pin." in response.content.decode()
    assert Customer.objects.get(pk=zhang.pk).version == version
    assert StewardAction.objects.filter(action="record.pin", outcome="refused").count() == 3


def test_revert_brings_back_an_old_value_and_a_stale_page_gets_a_message(steward_ui, zhang):
    steward_ui.post(record_url(zhang, "pin"), {"attribute": "segment", "value": "vip",
                                               "reason": "key account"})
    zhang.refresh_from_db()
    seen = zhang.version
    steward_ui.post(record_url(zhang, "pin"), {"attribute": "segment", "value": "gold",
                                               "reason": "upgrade", "version": seen})
    zhang.refresh_from_db()
    assert zhang.segment == "gold"

    stale = steward_ui.post(record_url(zhang, "revert"), {"to_version": seen, "version": seen},
                            HTTP_REFERER="http://testserver" + record_url(zhang), follow=True)
    assert f"The record is at version {zhang.version}, not {seen}" in stale.content.decode()
    assert Customer.objects.get(pk=zhang.pk).segment == "gold"
    assert StewardAction.objects.filter(action="record.revert", outcome="refused").count() == 1

    fresh = steward_ui.post(record_url(zhang, "revert"), {
        "to_version": seen, "version": zhang.version}, follow=True)
    assert f"Reverted to version {seen}" in fresh.content.decode()
    assert Customer.objects.get(pk=zhang.pk).segment == "vip"
    assert done("record.revert") == 1


def test_revert_to_a_version_that_does_not_exist_says_so(steward_ui, zhang):
    response = steward_ui.post(record_url(zhang, "revert"), {"to_version": 999}, follow=True)
    assert "has no version 999" in response.content.decode()
    response = steward_ui.post(record_url(zhang, "revert"), {"to_version": "x"}, follow=True)
    assert "Choose a version to revert to." in response.content.decode()


def test_split_out_makes_two_golden_records(steward_ui, zhang):
    response = steward_ui.post(record_url(zhang, "unmerge"), {
        "source": "erp", "source_key": "E1", "version": zhang.version}, follow=True)
    page = response.content.decode()
    assert "erp E1 was split out into golden record" in page
    assert "1 source record" in page and "Split out" not in page
    split = golden_of("erp", "E1")
    assert split.id != zhang.id and golden_of("crm", "C1").id == zhang.id
    assert Customer.objects.filter(status="active").count() == 3  # + 李娜
    assert done("record.unmerge") == 1


def test_split_out_from_a_stale_page_or_of_a_stranger_is_refused(steward_ui, zhang):
    stale = steward_ui.post(record_url(zhang, "unmerge"), {
        "source": "erp", "source_key": "E1", "version": zhang.version - 1}, follow=True)
    assert "someone changed it since you read it" in stale.content.decode()
    stranger = steward_ui.post(record_url(zhang, "unmerge"), {
        "source": "crm", "source_key": "C2"}, follow=True)
    assert "is not linked to customer" in stranger.content.decode()
    assert golden_of("erp", "E1").id == zhang.id
    assert StewardAction.objects.filter(action="record.unmerge", outcome="refused").count() == 2


def test_product_and_contract_pages_render_and_a_contract_links_its_customer(
        crm, ingest, steward_ui, zhang):
    ingest(crm, ("SKU1", "product", {"sku": "ab-100", "name": "Widget", "list_price": "12.5",
                                     "currency": "CNY"}),
           ("K1", "contract", {"contract_number": "HT-2026-001", "customer_ref": "C1",
                               "amount": "1000", "currency": "CNY"}))
    product = SourceRecord.objects.get(source_key="SKU1").golden_id
    contract = SourceRecord.objects.get(source_key="K1").golden_id
    page = steward_ui.get(f"/records/product/{product}/").content.decode()
    assert "AB-100" in page and "Widget" in page
    assert "AB-100" in found(steward_ui, "ab- 100", domain="product")
    assert "AB-100" not in found(steward_ui, "ab 100", domain="customer")
    page = steward_ui.get(f"/records/contract/{contract}/").content.decode()
    assert "HT-2026-001" in page and f'href="/records/customer/{zhang.id}/"' in page
    assert "HT-2026-001" in found(steward_ui, "ht-2026")
