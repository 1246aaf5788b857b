"""The product path end to end: `python -m bot serve` processes on one Redis, a local Slack that
signs its requests, and the real langgraph_sdk client starting the runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.api.conftest import running_server
from tests.slack.harness import APPROVER, CHANNEL, OUTSIDER, SECRET, TOKEN, USERS, action_ids, button
from tests.slack.serve_flows import serve_env

pytestmark = pytest.mark.e2e  # starts Sluice processes


@pytest.fixture(params=["redis_url", "redis_cluster_url"], ids=["redis", "cluster"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


async def _message_for(slack: LocalSlack, thread_id: str, *, buttons: bool = True) -> Message:
    for _ in range(200):
        found = [m for m in slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks)]
        if found and (action_ids(found[-1]) or not buttons):
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message for thread {thread_id}: {[m.text for m in slack.channel_messages(CHANNEL)]}")


async def _until(predicate: Any) -> None:
    for _ in range(200):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_api_run_pauses_in_slack_and_a_click_on_another_process_resumes_it(
    slack: LocalSlack, store_url: str
) -> None:
    env = serve_env(slack, store_url)
    with running_server(**env) as first, running_server(**env) as second:
        client = get_client(url=first)
        thread_id = (await client.threads.create())["thread_id"]
        paused = await client.runs.wait(thread_id, "agent", input={"some_text": "original text"})
        assert paused["__interrupt__"][0]["value"] == {"text_to_revise": "original text"}

        slack.events_url = second + "/slack/events"  # Slack may deliver the click to any process
        message = await _message_for(slack, thread_id)
        refused = await slack.click(OUTSIDER, CHANNEL, message.ts, button(message, "Approve"))
        assert refused.status == 200
        # two approvals at once (a double click): exactly one resume
        clicks = await asyncio.gather(
            slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve")),
            slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve")),
        )
        assert [c.status for c in clicks] == [200, 200]

        async def finished() -> bool:
            return bool((await client.threads.get(thread_id))["status"] == "idle")

        await _until(finished)
        assert (await client.threads.get_state(thread_id))["values"] == {"some_text": "original text"}
        runs = await client.runs.list(thread_id)
        resumes = [r for r in runs if (r["kwargs"].get("command") or {}).get("resume") is not None]
        assert len(resumes) == 1
        updated = slack.message(CHANNEL, message.ts)
        assert action_ids(updated) == [] and APPROVER in json.dumps(updated.blocks), updated.blocks
        assert slack.ephemerals(OUTSIDER), "the outsider was told they may not decide"


async def test_socket_mode_needs_no_public_url(redis_url: str) -> None:
    app_token = "xapp-1-socket-test"
    slack = LocalSlack(
        signing_secret=SECRET, bot_token=TOKEN, app_token=app_token, channels={CHANNEL: "general"}, users=USERS
    )
    await slack.start()
    try:
        env = {**serve_env(slack, redis_url), "SLACK_APP_TOKEN": app_token}
        with running_server(**env) as url:  # the bot dials the local Slack while this loop polls
            for _ in range(200):
                if slack.socket_connected:
                    break
                await asyncio.sleep(0.05)
            assert slack.socket_connected and slack.events_url is None  # nothing reaches the bot over HTTP
            client = get_client(url=url)
            thread_id = (await client.threads.create())["thread_id"]
            await client.runs.wait(thread_id, "agent", input={"some_text": "over the socket"})
            message = await _message_for(slack, thread_id)
            delivery = await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
            assert delivery.status == 200

            async def finished() -> bool:
                return bool((await client.threads.get(thread_id))["status"] == "idle")

            await _until(finished)
            assert (await client.threads.get_state(thread_id))["values"] == {"some_text": "over the socket"}
    finally:
        await slack.close()


async def test_a_hundred_clicks_at_once_all_resume(slack: LocalSlack, redis_url: str) -> None:
    """More commands in flight than redis-py's default pool holds: none may fail."""
    with running_server(**serve_env(slack, redis_url)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        threads = [(await client.threads.create())["thread_id"] for _ in range(100)]
        await asyncio.gather(*(client.runs.wait(t, "agent", input={"some_text": f"draft {t}"}) for t in threads))
        messages = [await _message_for(slack, t) for t in threads]
        clicks = await asyncio.gather(
            *(slack.click(APPROVER, CHANNEL, m.ts, button(m, "Approve")) for m in messages)
        )
        assert {c.status for c in clicks} == {200}

        async def all_done() -> bool:
            found = await client.threads.search(status="idle", limit=200)
            return len({t["thread_id"] for t in found} & set(threads)) == 100

        await _until(all_done)
        assert slack.ephemerals(APPROVER) == []  # no "could not be resumed"
