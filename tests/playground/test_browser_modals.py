"""Modals in headless Chromium: typed text kept on a field error, a modal per tab, every input of a
typed form drawn and read back as Slack sends it, and the page's smaller manners."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.playground.view_state import state_values
from tests.playground.browser import browser, finished_state, page, pending_message, revision_paused, send, shared_page
from tests.playground.conftest import Playground
from tests.playground.forms import form_blocks

pytestmark = pytest.mark.e2e  # starts Sluice processes

__all__ = ["browser", "page", "shared_page"]  # fixtures


def open_edit_of_send_email(page: Page) -> tuple[str, Any]:
    page.click("button.example[data-example=tool_approval]")
    message = pending_message(page, "Edit")
    expect(message).to_contain_text("send_email")
    ts = str(message.get_attribute("data-ts"))
    message.locator("button.bk-button", has_text="Edit").first.click()
    modal = page.locator(".modal")
    expect(modal).to_be_visible()
    return ts, modal


def test_a_modal_keeps_what_was_typed_when_the_bot_answers_a_field_error(
    page: Page, playground: Playground, tmp_path: Path
) -> None:
    ts, modal = open_edit_of_send_email(page)
    # The JSON field says what it holds, in a monospace font.
    expect(modal.locator("label.bk-label")).to_have_text("Arguments of send_email (JSON)")
    box = modal.get_by_label("Arguments of send_email (JSON)")
    assert "monospace" in box.evaluate("node => getComputedStyle(node).fontFamily").lower()

    typed = '{"to": "cfo@example.com", "subject": "Numbers", "body": "Attached."'  # the closing brace forgotten
    box.fill(typed)
    modal.locator(".modal-submit").click()
    error = modal.locator('.bk-input-block[data-block-id="part.0"] .bk-error')
    expect(error).to_contain_text("Not valid JSON")
    # What the person typed is still there (the error's column points into it), and focused.
    expect(box).to_have_value(typed)
    expect(box).to_be_focused()
    page.screenshot(path=str(tmp_path / "field_error.png"))

    box.press("End")
    box.type("}")
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0)
    expect(page.locator(f'.message[data-ts="{ts}"]')).to_contain_text("Edited")
    page.locator(f'.message[data-ts="{ts}"] button.bk-button', has_text="Approve").first.click()
    state = finished_state(playground, "tool_approval")
    assert state["values"]["results"][0] == "Email sent to cfo@example.com: 'Numbers'"


def test_a_modal_belongs_to_the_tab_that_opened_it(page: Page, browser: Browser, playground: Playground) -> None:
    _, modal = open_edit_of_send_email(page)
    other = page.context.new_page()  # a second tab of the same person
    other.goto(playground.url + "/")
    expect(other.locator("#status")).to_have_text("live")
    expect(other.locator(".message", has_text="send_email")).to_have_count(1)
    expect(other.locator(".modal")).to_have_count(0)
    other.locator(".message", has_text="send_email").locator("button.bk-button", has_text="Reject").first.click()
    expect(other.locator(".modal")).to_contain_text("Reject")
    expect(modal).to_contain_text("Edit send_email")  # the first tab's modal is its own
    page.reload()
    expect(page.locator("#status")).to_have_text("live")
    expect(page.locator(".modal")).to_have_count(0)  # gone with the page that opened it
    expect(other.locator(".modal")).to_contain_text("Reject")
    other.close()


def test_an_unknown_slash_command_gets_a_friendly_note(shared_page: Page) -> None:
    page = shared_page
    send(page, "/deploy now")
    note = page.locator(".message.ephemeral", has_text="is not a valid command")
    expect(note).to_contain_text("/deploy")
    expect(note).to_contain_text("/sluice help")
    expect(note.locator(".author")).to_have_text("Slackbot")
    expect(page.locator("#toast")).to_be_hidden()


def test_the_sidebar_names_the_assistants(shared_page: Page) -> None:
    names = shared_page.locator("button.example b").all_inner_texts()
    assert names == ["text_revision", "tool_approval", "release_decision", "per_call_approval", "notify"]


RENDER = """(blocks) => {
  const inputs = [];
  const form = document.createElement("form");
  form.id = "form-under-test";
  form.className = "modal-body";
  form.appendChild(BlockKit.renderBlocks(blocks, { users: {}, errors: {}, inputs }));
  document.getElementById("message-list").appendChild(form);
  window.formInputs = inputs;
}"""


LABELS = {b["label"]["text"]: b["block_id"] for b in form_blocks()}


def field(page: Page, label: str) -> Any:
    """The input labelled `label` (optional ones read "Label (optional)" on the page)."""
    name = label + (
        " (optional)" if any(b.get("optional") and b["block_id"] == LABELS[label] for b in form_blocks()) else ""
    )
    return page.locator("#form-under-test").get_by_label(name, exact=True)


def test_every_input_of_a_typed_form_is_drawn_operated_and_read_as_slack_sends_it(
    shared_page: Page, tmp_path: Path
) -> None:
    page = shared_page
    page.evaluate(RENDER, form_blocks())
    form = page.locator("#form-under-test")
    expect(form.locator(".bk-input-block")).to_have_count(len(form_blocks()))
    expect(form.locator(".bk-unsupported")).to_have_count(0)
    expect(form).to_contain_text("Ship now, or hold the release")  # hint
    expect(form.locator('.bk-input-block[data-block-id="ratio"] .bk-optional')).to_have_text(" (optional)")

    # Untouched, the form reads as its initial values; required and bad fields are stopped.
    untouched = page.evaluate("BlockKit.stateValues(window.formInputs)")
    assert untouched == state_values(form_blocks(), {})
    checks = page.evaluate("Object.fromEntries(window.formInputs.map((c) => [c.blockId, c.check()]))")
    assert checks["risk"] == checks["reason"] == checks["severity"] == "Please complete this required field."
    assert checks["ratio"] is None and checks["teams"] is None

    field(page, "Decision").select_option("hold")
    field(page, "Risk (1-5)").fill("9")
    field(page, "Owner").fill("not-an-email")
    checks = page.evaluate("Object.fromEntries(window.formInputs.map((c) => [c.blockId, c.check()]))")
    assert checks["risk"] == "Enter a number between 1 and 5."
    assert checks["owner"] == "Enter a valid email address."
    field(page, "Risk (1-5)").fill("4")
    field(page, "Rollout share").fill("0.25")
    field(page, "Reason").fill("Green across the board.\nShip on Monday.")
    form.locator('.bk-input-block[data-block-id="severity"]').get_by_text("High").click()
    checks_block = form.locator('.bk-input-block[data-block-id="checks"]')
    checks_block.get_by_text("Tests pass").click()  # off
    checks_block.get_by_text("Docs").click()  # on
    field(page, "Teams").select_option(["web", "ops"])
    field(page, "Day").fill("2026-12-24")
    field(page, "At").fill("17:05")
    field(page, "Window opens").fill("2026-12-24T08:30")
    field(page, "Owner").fill("ana@example.com")
    field(page, "Link").fill("https://example.com/release")
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)

    assert page.evaluate("window.formInputs.map((c) => c.check()).filter(Boolean)") == []
    read = page.evaluate("BlockKit.stateValues(window.formInputs)")
    window_opens = page.evaluate("Math.floor(new Date('2026-12-24T08:30').getTime() / 1000)")
    short = {
        "decision": "hold",
        "risk": "4",
        "ratio": "0.25",
        "reason": "Green across the board.\nShip on Monday.",
        "title": "v1.2",
        "severity": "high",
        "checks": ["docs"],
        "teams": ["web", "ops"],
        "day": "2026-12-24",
        "at": "17:05",
        "window": window_opens,
        "owner": "ana@example.com",
        "link": "https://example.com/release",
    }
    # Exactly the entries Slack sends for those choices (option objects as the view holds them).
    assert read == state_values(form_blocks(), short), json.dumps(read, indent=1)


def test_consecutive_quoted_lines_are_one_quote_without_empty_lines(shared_page: Page) -> None:
    # A typed question's text is quoted line by line ('> Ship 2.4.0?\n> • Faster search'); each line
    # was its own quote with an empty line after it.
    html = shared_page.evaluate("BlockKit.mrkdwn('Asks:\\n> Ship 2.4.0?\\n> • Faster search\\nEnd\\n> again')")
    assert html == (
        'Asks:<span class="quote">Ship 2.4.0?<br>• Faster search</span>End<span class="quote">again</span>'
    )


def test_a_permalink_leads_to_its_message_in_the_page(shared_page: Page) -> None:
    # `/sluice pending` links each pause ('open the message'); the local Slack's permalinks led to
    # https://local.slack/..., a new tab with nothing in it.
    page = shared_page
    paused = revision_paused(page, "Linked draft", "Approve")
    expect(paused).to_have_count(1)
    ts = str(paused.get_attribute("data-ts"))
    send(page, "/sluice pending")
    link = page.locator(f'.message.ephemeral a[href$="p{ts.replace(".", "")}"]').last
    expect(link).to_have_attribute("href", re.compile(r"^http://127\.0\.0\.1:\d+/#/archives/C\w+/p\d+$"))
    link.click()
    expect(paused).to_have_class(re.compile(r"\blinked\b"))
    expect(paused).to_be_in_viewport()
    assert len(page.context.pages) == 1  # followed in this tab, not a new one


def test_escape_closes_a_modal_as_its_cancel_does(shared_page: Page) -> None:
    page = shared_page
    paused = revision_paused(page, "Escaped draft", "Edit")
    paused.locator("button.bk-button", has_text="Edit").click()
    modal = page.locator(".modal")
    expect(modal).to_be_visible()
    page.keyboard.press("Escape")  # the modal stayed open: only Cancel and x closed it
    expect(modal).to_have_count(0)
    expect(paused.locator("button.bk-button", has_text="Edit")).to_be_visible()  # nothing decided
    paused.locator("button.bk-button", has_text="Edit").click()  # and it opens again
    expect(modal).to_be_visible()
    modal.locator(".modal-cancel").click()
    expect(modal).to_have_count(0)


def test_a_click_the_server_does_not_answer_says_so(shared_page: Page) -> None:
    # The connection fails at the click (as when the playground was stopped): the toast said only
    # the browser's 'Failed to fetch'.
    page = shared_page
    paused = revision_paused(page, "Unanswered click", "Approve")
    expect(paused).to_have_count(1)
    message = page.locator(f'.message[data-ts="{paused.get_attribute("data-ts")}"]')
    page.route("**/playground/api/click", lambda route: route.abort("connectionrefused"))
    paused.locator("button.bk-button", has_text="Approve").click()
    expect(page.locator("#toast")).to_contain_text("The playground is not answering")
    expect(page.locator("#toast")).to_have_class(re.compile(r"\berror\b"))
    page.unroute("**/playground/api/click")
    message.locator("button.bk-button", has_text="Approve").click()  # once it answers, the click works
    expect(message).to_contain_text("Approved by")
