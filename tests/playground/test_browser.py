"""The playground in headless Chromium: examples started, decided and finished from the page.

Debian's `chromium` driven by Playwright's Python package (no browser download). Every click
goes page -> local Slack -> signed request -> bot -> runs layer -> engine, as in production.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.playground.browser import browser, finished_state, page, pending_message
from tests.playground.conftest import Playground

pytestmark = pytest.mark.e2e  # starts Sluice processes

__all__ = ["browser", "page"]  # fixtures


def test_text_revision_edited_in_the_modal(page: Page, playground: Playground, tmp_path: Path) -> None:
    page.click("button.example[data-example=text_revision]")
    message = pending_message(page, "Edit")
    expect(message).to_contain_text("Sluice turns every pause")
    ts = message.get_attribute("data-ts")

    message.locator("button.bk-button", has_text="Edit").click()
    modal = page.locator(".modal")
    expect(modal).to_be_visible()
    box = modal.locator("textarea").first
    expect(box).to_have_value("Sluice turns every pause of a graph into a Slack message you can approve or edit.")
    box.fill("Revised in the browser.")
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0)

    updated = page.locator(f'.message[data-ts="{ts}"]')
    expect(updated).to_have_attribute("data-updated", "1")
    expect(updated.locator("button.bk-button")).to_have_count(0)
    expect(updated).to_contain_text("Revised in the browser.")

    state = finished_state(playground, "text_revision")
    assert state["values"] == {"some_text": "Revised in the browser."}
    assert state["next"] == []

    shot = tmp_path / "text_revision.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


def test_tool_calls_approved_one_by_one(page: Page, playground: Playground, tmp_path: Path) -> None:
    page.click("button.example[data-example=tool_approval]")
    message = pending_message(page, "Approve")
    expect(message).to_contain_text("send_email")
    expect(message).to_contain_text("delete_file")
    ts = message.get_attribute("data-ts")

    # Each action is decided on its own (the message loses that action's buttons); the graph
    # resumes once both are.
    approve = page.locator(f'.message[data-ts="{ts}"] button.bk-button', has_text="Approve")
    expect(approve).to_have_count(2)
    approve.first.click()
    expect(approve).to_have_count(1)
    expect(page.locator(f'.message[data-ts="{ts}"]')).to_contain_text("Approved")
    approve.first.click()
    updated = page.locator(f'.message[data-ts="{ts}"]')
    expect(updated.locator("button.bk-button")).to_have_count(0)
    expect(updated).to_have_attribute("data-updated", "1")

    state = finished_state(playground, "tool_approval")
    assert state["values"]["results"] == [
        "Email sent to ana@example.com: 'Q3 report'",
        "Deleted reports/q3-draft.txt",
    ]
    shot = tmp_path / "tool_approval.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0


def test_tool_call_edited_with_a_field_error_then_rejected_with_a_reason(
    page: Page, playground: Playground, tmp_path: Path
) -> None:
    page.click("button.example[data-example=tool_approval]")
    message = pending_message(page, "Reject")
    expect(message).to_contain_text("delete_file")
    ts = message.get_attribute("data-ts")
    in_message = page.locator(f'.message[data-ts="{ts}"] button.bk-button', has_text="Edit")

    # Edit send_email's arguments: invalid JSON is refused inside the modal, as Slack shows it.
    in_message.first.click()
    modal = page.locator(".modal")
    box = modal.locator("textarea").first
    expect(box).to_have_value(re.compile(r'"to": "ana@example.com"'))
    box.fill("{not json")
    modal.locator(".modal-submit").click()
    expect(modal.locator(".bk-error")).to_contain_text("Not valid JSON")
    box.fill('{"to": "cfo@example.com", "subject": "Numbers", "body": "Attached."}')
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0)
    expect(page.locator(f'.message[data-ts="{ts}"]')).to_contain_text("Edited")

    # Reject delete_file with a reason typed into the modal.
    page.locator(f'.message[data-ts="{ts}"] button.bk-button', has_text="Reject").first.click()
    expect(modal).to_be_visible()
    modal.locator("textarea, input.bk-input").first.fill("keep the draft")
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0)
    expect(page.locator(f'.message[data-ts="{ts}"] button.bk-button')).to_have_count(0)

    state = finished_state(playground, "tool_approval")
    assert state["values"]["results"] == [
        "Email sent to cfo@example.com: 'Numbers'",
        "Rejected delete_file: keep the draft",
    ]
    page.screenshot(path=str(tmp_path / "tool_edit_reject.png"), full_page=True)
