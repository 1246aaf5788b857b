"""Typed answers in headless Chromium: a form generated from a pause's response_schema, filled with
a value the bot refuses, the field error seen under its input, fixed, and the graph finished."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.playground.browser import browser, finished_state, page, pending_message
from tests.playground.conftest import Playground

pytestmark = pytest.mark.e2e  # starts Sluice processes

__all__ = ["browser", "page"]  # fixtures


def test_a_typed_question_answered_in_a_form_after_a_field_error(
    page: Page, playground: Playground, tmp_path: Path
) -> None:
    page.click("button.example[data-example=release_decision]")
    message = pending_message(page, "Answer")
    expect(message).to_contain_text("Ship 2.4.0?")
    ts = message.get_attribute("data-ts")
    message.locator("button.bk-button", has_text="Answer").click()
    modal = page.locator(".modal")
    expect(modal).to_contain_text("Ship the release now, or hold it back.")

    modal.locator('.bk-input-block[data-block-id="field.0"]').get_by_text("ship", exact=True).click()
    modal.get_by_label("Risk (1-5)", exact=True).fill("2")
    modal.get_by_label("Reason (optional)", exact=True).fill("All checks green.")
    ticket = modal.get_by_label("Change ticket (optional)", exact=True)
    ticket.fill("42")  # the page has no pattern check: the bot answers with a field error
    modal.locator(".modal-submit").click()
    error = modal.locator('.bk-input-block[data-block-id="field.3"] .bk-error')
    expect(error).to_contain_text("REL-")
    expect(modal.get_by_label("Risk (1-5)", exact=True)).to_have_value("2")  # what was typed is kept
    page.screenshot(path=str(tmp_path / "form_field_error.png"), full_page=True)

    ticket.fill("REL-42")
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0)
    answered = page.locator(f'.message[data-ts="{ts}"]')
    expect(answered).to_contain_text("Answered")
    expect(answered).to_contain_text("REL-42")
    expect(answered.locator("button.bk-button")).to_have_count(0)

    state = finished_state(playground, "release_decision")
    assert state["values"]["outcome"] == "Shipping 2.4.0 (risk 2/5)."
    assert (state["values"]["risk"], state["values"]["ticket"]) == (2, "REL-42")
    page.screenshot(path=str(tmp_path / "form_answered.png"), full_page=True)


def by_ts(page: Page, message: Locator) -> Locator:
    """The message `message` matches now, pinned by its Slack ts (updates keep it)."""
    return page.locator(f'.message[data-ts="{message.get_attribute("data-ts")}"]')


def test_per_call_tool_approvals_are_one_message_each_and_edit_is_a_form(
    page: Page, playground: Playground, tmp_path: Path
) -> None:
    page.click("button.example[data-example=per_call_approval]")
    delete = page.locator(".message", has_text="delete_file").last
    email = page.locator(".message", has_text="send_email").last
    expect(delete.locator("button.bk-button")).to_have_text(["Approve", "Reject"])
    expect(email.locator("button.bk-button")).to_have_text(["Approve", "Edit", "Reject", "Respond"])
    # From here on each is its own message: the run's "finished" reply names the tools too.
    delete, email = by_ts(page, delete), by_ts(page, email)

    delete.locator("button.bk-button", has_text="Approve").click()  # resumed alone: send_email stays open
    expect(delete.locator("button.bk-button")).to_have_count(0)
    expect(email.locator("button.bk-button")).to_have_count(4)

    email.locator("button.bk-button", has_text="Edit").click()
    modal = page.locator(".modal")
    to = modal.get_by_label("To", exact=True)
    expect(to).to_have_value("ana@example.com")  # pre-filled with the agent's arguments
    to.fill("cfo@example.com")
    modal.locator('.bk-input-block[data-block-id="field.3"]').get_by_text("high", exact=True).click()
    page.screenshot(path=str(tmp_path / "per_call_edit.png"), full_page=True)
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0)
    expect(email).to_contain_text("Edited")
    expect(email).to_contain_text("cfo@example.com")

    state = finished_state(playground, "per_call_approval")
    assert state["values"]["results"] == [
        "Email sent to cfo@example.com: 'Q3 report' (high)",
        "Deleted reports/q3-draft.txt",
    ]
    expect(delete).to_contain_text("the run finished")  # the call resumed first learns how it ended
    page.screenshot(path=str(tmp_path / "per_call_done.png"), full_page=True)
