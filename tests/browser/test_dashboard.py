"""The dashboard and the frame around every page: login, roles, language."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from mdm.core.roles import DATA_STEWARD
from mdm.stewardship.models import Conflict


def test_a_steward_logs_in_and_sees_the_open_work(user_with_roles, open_as):
    Conflict.objects.create(kind="value_disagreement", domain="customer", attribute="email",
                            severity="high", status="open")
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    high = page.get_by_test_id("conflicts-high")
    expect(high).to_contain_text("1")
    high.click()
    expect(page).to_have_url(re.compile(r"severity=high"))


def test_wrong_password_is_refused(user_with_roles, browser, live_server):
    user_with_roles("ana", DATA_STEWARD)
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.locator("input[name=username]").fill("ana")
    page.locator("input[name=password]").fill("wrong")
    page.locator("form button.primary").click()
    expect(page.locator(".error")).to_contain_text("Wrong user name or password")
    context.close()


def test_the_interface_switches_to_simplified_chinese(user_with_roles, open_as):
    page = open_as(user_with_roles("ana", DATA_STEWARD))
    page.get_by_label("Language").select_option("zh-hans")
    expect(page.get_by_role("heading", name="概览")).to_be_visible()
    expect(page.locator("nav.main")).to_contain_text("待审核")
