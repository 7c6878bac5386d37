"""Search and the record page in a browser: find 张伟 by characters and by pinyin, open
the record, and split a wrongly merged source record out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mdm.core.roles import AUDITOR, DATA_STEWARD
from mdm.sources.models import SourceRecord


@pytest.fixture
def zhang(make_source, ingest, transactional_db):
    """张伟 in the CRM and Zhang Wei in the ERP with one mobile: one golden record."""
    crm, erp = make_source("crm"), make_source("erp")
    ingest(crm, ("C1", "customer", {"party_type": "person", "name": "张伟",
                                    "phones": "138-0013-8000", "city": "北京",
                                    "birth_date": "1985-03-02", "segment": "retail"}))
    ingest(erp, ("E1", "customer", {"party_type": "person", "name": "Zhang Wei",
                                    "phones": "+86 138 0013 8000", "city": "Beijing"}))
    golden_ids = set(SourceRecord.objects.values_list("golden_id", flat=True))
    assert len(golden_ids) == 1
    return golden_ids.pop()


def search(page, text):
    page.goto("/search/")
    page.get_by_role("searchbox").fill(text)
    page.get_by_role("searchbox").press("Enter")
    return page.get_by_test_id("search-results").get_by_role("link")


def test_a_steward_finds_zhang_wei_by_characters_and_by_pinyin(user_with_roles, open_as,
                                                                zhang):
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    for text in ("张伟", "zhang wei"):
        links = search(page, text)
        expect(links).to_have_count(1)
        links.first.click()
        expect(page).to_have_url(re.compile(f"/records/customer/{zhang}/"))
        expect(page.get_by_test_id("source-count")).to_have_text("2 source records")
        expect(page.get_by_test_id("source-records")).to_contain_text("张伟")
        expect(page.get_by_test_id("source-records")).to_contain_text("Zhang Wei")
        expect(page.get_by_test_id("history")).to_contain_text("Version 1")


def test_the_search_box_refreshes_the_results_as_the_steward_types(user_with_roles, open_as,
                                                                    zhang):
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    page.goto("/search/")
    page.get_by_role("searchbox").press_sequentially("138 0013 8000", delay=20)
    expect(page.get_by_test_id("search-results").get_by_role("link")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=138"))


def test_split_out_leaves_two_golden_records(user_with_roles, open_as, zhang):
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    page.goto(f"/records/customer/{zhang}/")
    page.on("dialog", lambda dialog: dialog.accept())
    erp_column = page.get_by_test_id("source-records").locator("button", has_text="Split out")
    expect(erp_column).to_have_count(2)
    erp_column.nth(1).click()  # columns are ordered by source: crm, erp
    expect(page.locator(".messages")).to_contain_text("erp E1 was split out")
    expect(page.get_by_test_id("source-count")).to_have_text("1 source record")
    expect(page.get_by_role("button", name="Split out")).to_have_count(0)
    expect(search(page, "zhang wei")).to_have_count(2)


def test_an_auditor_sees_the_record_without_action_buttons(user_with_roles, open_as, zhang):
    page = open_as(user_with_roles("otto", AUDITOR))
    page.goto(f"/records/customer/{zhang}/")
    expect(page.get_by_test_id("golden-values")).to_contain_text("+8613800138000")
    expect(page.get_by_role("button")).to_have_count(1)  # only "Log out"
