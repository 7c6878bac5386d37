"""The steward's queues in the browser: merge a review pair with the keyboard, resolve a
conflict by keeping one value, and approve the contract amount change as a second user."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sample_records import person

from mdm.core.roles import APPROVER, DATA_STEWARD
from mdm.demo.services import FINANCE_APPROVERS
from mdm.golden.models import Contract
from mdm.matching.models import MatchCandidate
from mdm.sources.models import SourceRecord
from mdm.stewardship.models import ChangeRequest, Conflict, ConflictPolicy


def contract(key, amount, at, currency="CNY"):
    return (key, "contract", {"contract_number": "HT-2026-900001", "amount": amount,
                              "currency": currency}, at)


def golden_of(source, key):
    return SourceRecord.objects.get(source__code=source, source_key=key).golden_id


def test_a_steward_merges_a_review_pair_with_the_keyboard_then_splits_it(user_with_roles, open_as,
                                                          make_source, ingest):
    # same name and city, birth dates ten days apart: the review band (tests/test_matching.py)
    ingest(make_source("crm"), person("C1", name="李娜", city="上海", birth_date="1990-01-01"))
    ingest(make_source("erp"), person("E1", name="李娜", city="上海", birth_date="1990-01-11"))
    pair = MatchCandidate.objects.get()
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    expect(page.get_by_test_id("review-open")).to_contain_text("1")
    page.get_by_test_id("review-open").click()  # from the dashboard
    page.get_by_test_id("pair-link").first.click()
    expect(page).to_have_url(re.compile(rf"/review/{pair.pk}/"))
    expect(page.get_by_test_id("records")).to_contain_text("李娜")
    breakdown = page.get_by_test_id("breakdown")
    expect(breakdown.locator("tr", has_text="birth_date").locator(".weight-neg")).to_be_visible()
    expect(breakdown.locator("tr", has_text="city").locator(".weight-pos")).to_be_visible()
    golden_a = page.get_by_test_id("golden-a").inner_text()
    expect(page.get_by_test_id("golden-b")).not_to_have_text(golden_a)

    page.keyboard.press("m")  # Merge
    expect(page.locator(".messages")).to_contain_text("the two records now share one golden")
    expect(page).to_have_url(re.compile(r"/review/$"))  # no pair left: back to the queue
    expect(page.locator("main")).to_contain_text("Nothing to review")
    page.goto(f"/review/{pair.pk}/")
    expect(page.get_by_test_id("pair-status")).to_have_text("merged")
    expect(page.get_by_test_id("golden-b")).to_have_text(
        page.get_by_test_id("golden-a").inner_text())
    assert golden_of("crm", "C1") == golden_of("erp", "E1")

    # the merge was wrong after all: split the ERP record out again from the record page
    page.get_by_test_id("golden-a").click()
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("source-records").locator("button", has_text="Split out").last.click()
    expect(page.locator(".messages")).to_contain_text("erp E1 was split out")
    expect(page.get_by_test_id("source-count")).to_have_text("1 source record")
    assert golden_of("crm", "C1") != golden_of("erp", "E1")


def test_a_steward_resolves_a_conflict_by_keeping_one_value(user_with_roles, open_as,
                                                            make_source, ingest):
    ConflictPolicy.objects.create(name="no currency changes", domain="contract",
                                  attribute="currency", severity="medium", handling="block")
    ingest(make_source("crm"), contract("HT-1", "1,000,000.00", "2026-03-18 16:05:00"))
    ingest(make_source("erp"), contract("E-HT-1", 1000000.00, "2026-09-30T10:12:45+08:00",
                                        currency="USD"))
    conflict = Conflict.objects.get(attribute="currency")
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    page.goto("/conflicts/?status=open&severity=medium")
    page.get_by_test_id("conflict-link").filter(has_text=f"#{conflict.pk}").click()
    expect(page.get_by_test_id("candidates")).to_contain_text("USD")
    expect(page.get_by_test_id("value-now")).to_have_text("CNY")  # held until resolved
    page.get_by_label(re.compile(r"Keep USD \(from erp\)")).check()
    page.get_by_test_id("comment").fill("The customer pays in USD since October.")
    page.get_by_test_id("resolve").click()
    expect(page.locator(".messages")).to_contain_text(f"Conflict #{conflict.pk} resolved")
    expect(page.get_by_test_id("conflict-status")).to_have_text("resolved")
    expect(page.get_by_test_id("value-now")).to_have_text("USD")
    expect(page.get_by_test_id("resolution")).to_contain_text("pays in USD since October")
    assert Contract.objects.get().currency == "USD"


def test_the_contract_amount_change_is_approved_by_a_second_user(user_with_roles, open_as,
                                                                 make_source, ingest):
    # the demo's policy (mdm/demo/services.py): above 10% waits for a finance approver
    ConflictPolicy.objects.create(
        name="Contract amount change above 10% needs finance approval", domain="contract",
        attribute="amount", condition="relative_change", params={"percent": 10},
        severity="high", handling="approve", approval_levels=1,
        approver_group=FINANCE_APPROVERS)
    ingest(make_source("crm"), contract("HT-1", "1,000,000.00", "2026-03-18 16:05:00"))
    ingest(make_source("erp"), contract("E-HT-1", 1250000.00, "2026-09-30T10:12:45+08:00"))
    request = ChangeRequest.objects.get()
    steward = user_with_roles("ste", DATA_STEWARD, APPROVER, FINANCE_APPROVERS)
    ChangeRequest.objects.filter(pk=request.pk).update(requested_by=steward)  # they asked

    own = open_as(steward)
    own.goto("/conflicts/?status=awaiting_approval&severity=high")
    own.get_by_test_id("conflict-link").first.click()
    expect(own.locator("main")).to_contain_text("1000000.00")
    own.get_by_test_id("approval-link").click()
    expect(own.get_by_test_id("new-value")).to_have_text("1250000.00")
    own.get_by_test_id("comment").fill("looks right to me")
    own.get_by_test_id("approve").click()
    expect(own.locator(".messages .error")).to_contain_text(
        "You cannot decide on your own change request")
    expect(own.get_by_test_id("value-now")).to_have_text("1000000.00")

    finance = open_as(user_with_roles("fin", APPROVER, FINANCE_APPROVERS))
    finance.get_by_role("link", name="Approvals").click()
    finance.get_by_test_id("approval-link").first.click()
    expect(finance.get_by_test_id("request-status")).to_have_text("pending")
    finance.get_by_test_id("comment").fill("Amendment No. 2 signed on 30 September.")
    finance.get_by_test_id("approve").click()
    expect(finance.locator(".messages")).to_contain_text("the new value is on the golden")
    expect(finance.get_by_test_id("request-status")).to_have_text("approved")
    expect(finance.get_by_test_id("value-now")).to_have_text("1250000.00")
    expect(finance.get_by_test_id("decisions")).to_contain_text("Amendment No. 2 signed")
    assert str(Contract.objects.get().amount) == "1250000.00"
