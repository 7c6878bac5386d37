"""Browser tests: Playwright drives Debian's Chromium, headless, against a live server
backed by the test database. Every test saves a screenshot of each page it used, under
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = os.environ.get("MDM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "pw-browser-1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module. Playwright's sync API keeps an event loop on the
    test thread while it runs; the tests' own ORM calls are still synchronous, so Django's
    guard against ORM use inside a loop is lifted for exactly that time (and must not
    leak into other tests or the processes they start)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(make test does) or set MDM_CHROMIUM")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def user_with_roles(transactional_db: Any) -> Callable[..., User]:
    """A user with a password and the given role groups (superuser with ``superuser=True``)."""
    def make(username: str, *roles: str, superuser: bool = False) -> User:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(username, password=PASSWORD)
        for role in roles:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user
    return make


@pytest.fixture
def open_as(browser: Browser, live_server: Any,
            request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """``open_as(user)``: a logged-in page in a browser context of its own, 1280 px wide."""
    pages: list[tuple[str, Page]] = []

    def open_page(user: User, *, language: str = "en") -> Page:
        context = browser.new_context(base_url=live_server.url, locale=language,
                                      viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/login/")
        page.get_by_label("User name").fill(user.username) if language == "en" else \
            page.locator("input[name=username]").fill(user.username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button.primary").click()
        expect(page.locator("header .who")).to_have_text(user.username)
        pages.append((user.username, page))
        return page

    yield open_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for username, page in pages:
        page.screenshot(path=SCREENSHOTS / f"{request.node.name}-{username}.png",
                        full_page=True)
        page.context.close()
