"""A channel may be named instead of given by id: Slack posts to `#general`, answers with the id, and
every click and chat.update then uses that id, so the pause must be kept under the id."""

from __future__ import annotations

import json

import pytest

from tests.slack.harness import APPROVER, CHANNEL, Env, action_ids, button


@pytest.mark.parametrize("named", ["#general", "general"])
async def test_a_pause_posted_to_a_channel_name_is_decided_by_a_click(env: Env, named: str) -> None:
    thread = await env.start("text_revision", {"some_text": "original text"}, channel=named)
    message = env.pause_message(thread, CHANNEL)  # the local Slack, like Slack, keeps it under the id
    delivery = await env.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    assert delivery.status == 200
    await env.settle()
    state = await env.state(thread, "text_revision")
    assert state.values == {"some_text": "original text"} and state.next == ()
    updated = env.slack.message(CHANNEL, message.ts)
    assert action_ids(updated) == [] and "Approved" in json.dumps(updated.blocks)


async def test_a_pause_posted_to_a_channel_name_is_listed_as_pending_in_that_channel(env: Env) -> None:
    thread = await env.start("text_revision", {"some_text": "t"}, channel="#general")
    message = env.pause_message(thread, CHANNEL)
    await env.slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")  # Slack sends the channel's id
    await env.settle()
    listed = env.slack.ephemerals(APPROVER)[-1].text
    assert listed.startswith("1 waiting") and message.ts.replace(".", "") in listed, listed
