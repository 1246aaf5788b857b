"""Headless Chromium for the page tests: Debian's `chromium` driven by Playwright's Python package
(no browser download); a page on a fresh playground, and what the tests wait for."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.playground.conftest import Playground

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not Path(CHROMIUM).exists():
    # CI installs it (.ci/run); a missing browser there is a failure, not a skip.
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def open_page(browser: Browser, playground: Playground) -> Iterator[Page]:
    """The page in a fresh browser context (a new tab id, no history); fails on script errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(playground.url + "/")
    expect(page.locator("#status")).to_have_text("live")
    yield page
    context.close()
    assert errors == [], f"script errors on the page: {errors}"


@pytest.fixture
def page(browser: Browser, playground: Playground) -> Iterator[Page]:
    with open_page(browser, playground) as opened:
        yield opened


@pytest.fixture
def shared_page(browser: Browser, shared_playground: Playground) -> Iterator[Page]:
    """The page on the module's playground, for tests that start no runs of their own."""
    with open_page(browser, shared_playground) as opened:
        yield opened


def send(page: Page, text: str) -> None:
    """Types `text` in the composer (a message, or a slash command) and sends it."""
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def revision_paused(page: Page, draft: str, button: str) -> Locator:
    """Starts text_revision on `draft` with the slash command; its pause's message, offering `button`."""
    send(page, f"/sluice text_revision {draft}")
    return page.locator(".message", has_text=draft, has=page.locator("button.bk-button", has_text=button))


def pending_message(page: Page, button: str) -> Locator:
    """The newest bot message that offers `button`."""
    return page.locator(".message", has=page.locator("button.bk-button", has_text=button)).last


def finished_state(playground: Playground, example: str, timeout: float = 15.0) -> dict[str, Any]:
    """The example's thread state once its run is over (the resume runs in the bot's background)."""
    client = get_sync_client(url=playground.url)
    [thread] = client.threads.search(metadata={"playground_example": example})
    deadline = time.monotonic() + timeout
    while True:
        thread = client.threads.get(thread["thread_id"])
        if thread["status"] == "idle" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert thread["status"] == "idle", thread
    return dict(client.threads.get_state(thread["thread_id"]))
