"""A state update over the API (`POST /threads/{id}/state`, the SDK's `threads.update_state`) on a
thread paused in Slack: the Slack message follows the thread's real state.

As on LangGraph (langgraph 1.2, checked with the same graph): after `update_state` without `as_node`
the interrupted node is still `next` but its task has no interrupts any more (the old interrupt ids
answer nothing); a run with input None re-runs the node, which asks again with the new state. With
`as_node` set to the node that asked, its answer is the update and nothing is left to run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.api.conftest import running_server
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button
from tests.slack.serve_flows import serve_env

pytestmark = pytest.mark.e2e  # starts a Sluice process


async def _until(predicate: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(300):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def _messages(slack: LocalSlack, thread_id: str) -> list[Message]:
    return [m for m in slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks)]


async def test_an_update_that_leaves_the_node_waiting_makes_slack_ask_again(slack: LocalSlack, redis_url: str) -> None:
    with running_server(**serve_env(slack, redis_url)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})

        async def posted(n: int) -> bool:
            return len(_messages(slack, thread_id)) >= n

        await _until(lambda: posted(1))
        first = _messages(slack, thread_id)[0]
        assert "Approve" in json.dumps(first.blocks)

        await client.threads.update_state(thread_id, {"some_text": "fixed over the API"})
        state = await client.threads.get_state(thread_id)
        assert state["next"] == ["human_node"] and state["tasks"][0]["interrupts"] == []  # as on LangGraph

        await _until(lambda: posted(2))
        old = slack.message(CHANNEL, first.ts)
        assert action_ids(old) == [] and "updated over the API" in json.dumps(old.blocks), old.blocks
        assert "waiting" not in old.blocks[0]["text"]["text"], old.blocks[0]  # its first line no longer says so
        waiting = _messages(slack, thread_id)[-1]
        assert "human_node" in json.dumps(waiting.blocks)
        await slack.click(APPROVER, CHANNEL, waiting.ts, button(waiting, "Continue"))

        async def asked_again() -> bool:  # the node re-ran with the new state and asks about it
            found = _messages(slack, thread_id)
            return len(found) >= 3 and "fixed over the API" in json.dumps(found[-1].blocks) and bool(
                action_ids(found[-1]))

        await _until(asked_again)
        question = _messages(slack, thread_id)[-1]
        await slack.click(APPROVER, CHANNEL, question.ts, button(question, "Approve"))

        async def finished() -> bool:
            return bool((await client.threads.get(thread_id))["status"] == "idle")

        await _until(finished)
        assert (await client.threads.get_state(thread_id))["values"] == {"some_text": "fixed over the API"}
        assert slack.ephemerals(APPROVER) == []


async def test_an_update_as_the_asking_node_ends_the_pause_in_slack(slack: LocalSlack, redis_url: str) -> None:
    with running_server(**serve_env(slack, redis_url)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})

        async def posted() -> bool:
            return bool(_messages(slack, thread_id))

        await _until(posted)
        message = _messages(slack, thread_id)[0]
        await client.threads.update_state(thread_id, {"some_text": "answered by update"}, as_node="human_node")
        assert (await client.threads.get_state(thread_id))["next"] == []

        async def moved_on() -> bool:
            return action_ids(slack.message(CHANNEL, message.ts)) == []

        await _until(moved_on)
        text = json.dumps(slack.message(CHANNEL, message.ts).blocks)
        assert "updated over the API as `human_node`" in text and "nothing waits" in text
        assert len(_messages(slack, thread_id)) == 1  # nothing new to decide
