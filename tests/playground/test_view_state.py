"""`view.state.values` as Slack sends it, and the local Slack's modal rules: per client, Slackbot's
note for unknown commands, `response_action: errors` only for inputs of the view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.playground.slack_user import LocalSlack, UnknownCommandError
from bot.playground.view_state import state_values
from bot.playground.workspace import LocalSlackError
from bot.slack.web import make_client
from tests.playground.forms import CHECKS, HIGH, SHIP, TEAMS, form_blocks, form_view

SECRET, TOKEN, CHANNEL, USER = "view-state-secret", "xoxb-view-state", "C0GENERAL", "U1"


def test_untouched_inputs_report_their_initial_values_in_slacks_format() -> None:
    state = state_values(form_blocks(), {})
    assert state["decision"] == {"value": {"type": "static_select", "selected_option": SHIP.to_dict()}}
    assert state["risk"] == {"value": {"type": "number_input", "value": None}}
    assert state["ratio"] == {"value": {"type": "number_input", "value": "0.5"}}
    assert state["title"] == {"value": {"type": "plain_text_input", "value": "v1.2"}}
    assert state["severity"] == {"value": {"type": "radio_buttons", "selected_option": None}}
    assert state["checks"] == {"value": {"type": "checkboxes", "selected_options": [CHECKS[0].to_dict()]}}
    assert state["teams"] == {"value": {"type": "multi_static_select", "selected_options": []}}
    assert state["day"] == {"value": {"type": "datepicker", "selected_date": "2026-12-01"}}
    assert state["at"] == {"value": {"type": "timepicker", "selected_time": "09:30"}}
    assert state["window"] == {"value": {"type": "datetimepicker", "selected_date_time": 1_790_000_000}}
    assert state["owner"] == {"value": {"type": "email_text_input", "value": None}}


def test_choices_in_short_form_become_slacks_entries_with_the_offered_options() -> None:
    given: dict[str, Any] = {
        "decision": "hold",
        "risk": 3,
        "reason": "",
        "severity": "high",
        "checks": [],
        "teams": ["web", "ops"],
        "day": "2026-12-24",
        "at": "17:05",
        "window": 1_800_000_000,
        "link": "https://example.com/x",
    }
    state = state_values(form_blocks(), given)
    assert state["decision"]["value"]["selected_option"]["value"] == "hold"
    assert state["risk"]["value"] == {"type": "number_input", "value": "3"}
    assert state["reason"]["value"] == {"type": "plain_text_input", "value": None}  # Slack sends null, not ""
    assert state["severity"]["value"]["selected_option"] == HIGH.to_dict()
    assert state["checks"]["value"]["selected_options"] == []
    assert state["teams"]["value"]["selected_options"] == [TEAMS[0].to_dict(), TEAMS[2].to_dict()]
    assert state["day"]["value"]["selected_date"] == "2026-12-24"
    assert state["at"]["value"]["selected_time"] == "17:05"
    assert state["window"]["value"]["selected_date_time"] == 1_800_000_000
    assert state["link"]["value"]["value"] == "https://example.com/x"
    # Slack's own entries (what the page sends) pass through, checked against the element.
    slack_entry = {"value": {"type": "static_select", "selected_option": {"value": "ship"}}}
    assert (
        state_values(form_blocks(), {"decision": slack_entry})["decision"]["value"]["selected_option"] == SHIP.to_dict()
    )


@pytest.mark.parametrize(
    "given",
    [
        {"decision": "maybe"},
        {"teams": ["web", "qa"]},
        {"day": "24/12/2026"},
        {"at": "5pm"},
        {"window": "soon"},
        {"decision": {"value": {"type": "radio_buttons", "selected_option": {"value": "ship"}}}},
    ],
)
def test_a_choice_the_element_does_not_offer_cannot_be_made(given: dict[str, Any]) -> None:
    with pytest.raises(LocalSlackError):
        state_values(form_blocks(), given)


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = LocalSlack(signing_secret=SECRET, bot_token=TOKEN, users={USER: "ana"}, commands=["/sluice"])
    await local.start()
    yield local
    await local.close()


@pytest.fixture
def client(slack: LocalSlack) -> AsyncWebClient:
    return make_client(TOKEN, slack.api_url)


async def test_a_modal_shows_on_the_client_whose_gesture_opened_it(slack: LocalSlack, client: AsyncWebClient) -> None:
    for tab in ("tab-a", "tab-b"):
        trigger = slack.slash_command_payload(USER, CHANNEL, "/sluice", "", client=tab)["trigger_id"]
        await client.views_open(trigger_id=trigger, view={**form_view(), "private_metadata": tab})
    shown = {tab: slack.snapshot(CHANNEL, USER, client=tab)["views"] for tab in ("tab-a", "tab-b", "tab-c")}
    assert [v["view"]["private_metadata"] for v in shown["tab-a"]] == ["tab-a"]
    assert [v["view"]["private_metadata"] for v in shown["tab-b"]] == ["tab-b"]
    assert shown["tab-c"] == []  # a reloaded page is a new client: nothing carried over
    # A new modal on tab-a replaces tab-a's, and leaves tab-b's alone.
    trigger = slack.slash_command_payload(USER, CHANNEL, "/sluice", "", client="tab-a")["trigger_id"]
    await client.views_open(trigger_id=trigger, view={**form_view(), "private_metadata": "again"})
    assert [v["view"]["private_metadata"] for v in slack.snapshot(CHANNEL, USER, client="tab-a")["views"]] == ["again"]
    assert len(slack.snapshot(CHANNEL, USER, client="tab-b")["views"]) == 1


async def test_an_unknown_command_gets_slackbots_note_and_never_reaches_the_app(slack: LocalSlack) -> None:
    with pytest.raises(UnknownCommandError):
        await slack.slash_command(USER, CHANNEL, "/deploy", "now")
    [note] = slack.ephemerals(USER)
    assert note.user == "USLACKBOT" and "`/deploy` is not a valid command" in note.text and "/sluice" in note.text


async def test_field_errors_must_name_inputs_of_the_view(slack: LocalSlack, client: AsyncWebClient) -> None:
    answers: list[dict[str, Any]] = [
        {"response_action": "errors", "errors": {"not-an-input": "nope"}},
        {"response_action": "errors", "errors": {"risk": "Between 1 and 5."}},
    ]

    async def bot(request: web.Request) -> web.Response:
        return web.json_response(answers.pop(0))

    app = web.Application()
    app.router.add_post("/slack/events", bot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    slack.events_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slack/events"  # type: ignore[union-attr]
    try:
        trigger = slack.slash_command_payload(USER, CHANNEL, "/sluice", "")["trigger_id"]
        view_id = (await client.views_open(trigger_id=trigger, view=form_view()))["view"]["id"]
        with pytest.raises(LocalSlackError, match="not inputs of the view"):
            await slack.submit(USER, view_id, {"risk": "9"})
        await slack.submit(USER, view_id, {"risk": "9"})
        top = slack.top_view(USER)
        assert top is not None and top.id == view_id and top.errors == {"risk": "Between 1 and 5."}
    finally:
        await runner.cleanup()


async def test_a_press_in_a_modal_carries_what_its_inputs_hold(slack: LocalSlack, client: AsyncWebClient) -> None:
    more = {"type": "button", "action_id": "more", "text": {"type": "plain_text", "text": "More"}, "value": "m"}
    view = form_view()
    view["blocks"].append({"type": "actions", "block_id": "tools", "elements": [more]})
    trigger = slack.slash_command_payload(USER, CHANNEL, "/sluice", "", client="tab-a")["trigger_id"]
    view_id = (await client.views_open(trigger_id=trigger, view=view))["view"]["id"]
    payload = slack.block_actions_payload(USER, "more", view_id=view_id, values={"risk": "2", "decision": "hold"})
    state = payload["view"]["state"]["values"]
    assert state["risk"]["value"] == {"type": "number_input", "value": "2"}
    assert state["decision"]["value"]["selected_option"]["value"] == "hold"
    assert state["day"]["value"]["selected_date"] == "2026-12-01"  # untouched: its initial value
    assert payload["container"] == {"type": "view", "view_id": view_id} and payload["actions"][0]["value"] == "m"
