"""Pauses whose thread goes: nothing in Slack may go on asking for a decision nobody can make.

A thread deleted over the API (`threads.delete`, `threads.prune`) takes its pauses with it; a
stateless run (`POST /runs/wait`, on_completion "delete" by default) deletes its thread as it ends,
as the LangGraph server does, so its pause can never be answered; and a pause whose records are
gone unannounced (Redis lost them, a memory server restarted) closes on its first click.
"""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.runs import RunRequest
from tests.api.conftest import running_server
from tests.conftest import thread_keys
from tests.slack.harness import APPROVER, CHANNEL, Env, action_ids, button, button_value
from tests.slack.serve_flows import pause_message, paused_run, serve_env, until


async def test_a_stateless_run_that_pauses_posts_nothing(env: Env) -> None:
    request = RunRequest("text_revision", {"some_text": "draft"}, config={"configurable": {"slack_channel": CHANNEL}})
    run = await env.runs.submit(None, request)
    ended = await env.runs.join(run.thread_id, run.run_id)
    await env.settle()
    assert ended.result is not None and ended.result["__interrupt__"], ended.result  # the caller still sees the pause
    assert env.slack.channel_messages(CHANNEL) == []  # no buttons for a thread that is already gone


@pytest.mark.e2e  # starts a Sluice process
@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_deleting_a_paused_thread_closes_its_slack_message(slack: LocalSlack, redis_url: str, store: str) -> None:
    env = serve_env(slack, redis_url)
    if store == "memory":
        env.pop("REDIS_URL")
    with running_server(**env) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await paused_run(client, slack, "agent", "draft", key="some_text")
        approve, value = button(message, "Approve"), button_value(message, "Approve")

        await client.threads.delete(thread_id)

        closed = await until(lambda: not action_ids(slack.message(CHANNEL, message.ts)), "the buttons are gone")
        assert closed
        shown = slack.message(CHANNEL, message.ts)
        assert "no longer exists" in json.dumps(shown.blocks) and "waiting" not in shown.text, (shown.text, shown.blocks)
        assert "waiting" not in shown.blocks[0]["text"]["text"], shown.blocks[0]  # its first line says so too
        # a click from a client that still shows the old buttons changes nothing and is told so
        delivery = await slack.click(APPROVER, CHANNEL, message.ts, approve, value=value)
        assert delivery.status == 200
        await until(lambda: slack.ephemerals(APPROVER), "the clicker is told")
        assert "Nothing was changed" in slack.ephemerals(APPROVER)[-1].text


@pytest.mark.e2e  # starts a Sluice process
async def test_a_click_on_a_pause_whose_records_are_lost_closes_its_message(slack: LocalSlack, redis_url: str) -> None:
    with running_server(**serve_env(slack, redis_url)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await paused_run(client, slack, "agent", "draft", key="some_text")
        redis = aioredis.from_url(redis_url)
        try:  # everything of the thread is lost, as when Redis restarts without its data
            lost = await thread_keys(redis, thread_id)
            assert lost and await redis.delete(*lost) == len(lost)
        finally:
            await redis.aclose()

        delivery = await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        assert delivery.status == 200
        await until(lambda: slack.ephemerals(APPROVER), "the clicker is told")
        assert "Nothing was changed" in slack.ephemerals(APPROVER)[-1].text
        closed = await until(lambda: not action_ids(slack.message(CHANNEL, message.ts)), "the buttons are gone")
        assert closed
        shown = slack.message(CHANNEL, message.ts)
        assert "waiting for you" not in shown.blocks[0]["text"]["text"] and "waiting" not in shown.text, shown.blocks
        assert "draft" in json.dumps(shown.blocks) and "unknown here" in json.dumps(shown.blocks)  # what it asked stays


@pytest.mark.e2e  # starts a Sluice process
async def test_a_pause_whose_thread_expired_is_no_longer_listed_and_closes(slack: LocalSlack, redis_url: str) -> None:
    """SLUICE_THREAD_TTL expires a thread's records; its Slack pause outlives them (its own keys)."""
    with running_server(**serve_env(slack, redis_url, SLUICE_THREAD_TTL="600")) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await paused_run(client, slack, "agent", "draft", key="some_text")
        redis = aioredis.from_url(redis_url)
        try:  # what the TTL takes: everything of the thread but its Slack pause
            expired = [k for k in await thread_keys(redis, thread_id) if b":slack:" not in k]
            assert expired and await redis.delete(*expired) == len(expired)
        finally:
            await redis.aclose()

        await slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")
        await until(lambda: slack.ephemerals(APPROVER), "the answer")
        assert "Nothing" in slack.ephemerals(APPROVER)[-1].text, slack.ephemerals(APPROVER)[-1].text
        await until(lambda: not action_ids(slack.message(CHANNEL, message.ts)), "the buttons are gone")
        assert "no longer exists" in slack.message(CHANNEL, message.ts).blocks[0]["text"]["text"]


@pytest.mark.e2e  # starts a Sluice process
async def test_a_deadline_on_a_pause_whose_thread_expired_says_so(slack: LocalSlack, redis_url: str) -> None:
    """The deadline finds the thread gone: its message says so, not that the deadline approved and the
    graph goes on, and nothing of the thread is written again (no audit entry for a thread that is gone)."""
    with running_server(**serve_env(slack, redis_url, SLUICE_THREAD_TTL="600")) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id = (await client.threads.create())["thread_id"]
        sluice = {"deadline_seconds": 1, "on_timeout": "approve"}
        await client.runs.wait(thread_id, "agent", input={"some_text": "draft"}, config={"configurable": {"sluice": sluice}})
        message = await until(lambda: pause_message(slack, thread_id), "the pause is posted")
        redis = aioredis.from_url(redis_url)
        try:  # what the TTL takes: everything of the thread but its Slack pause
            expired = [k for k in await thread_keys(redis, thread_id) if b":slack:" not in k]
            assert expired and await redis.delete(*expired) == len(expired)
            await until(lambda: not action_ids(slack.message(CHANNEL, message.ts)), "the deadline passes")
            shown = json.dumps(slack.message(CHANNEL, message.ts).blocks)
            assert "no longer exists" in shown and "goes on" not in shown and "Approved" not in shown, shown
            left = [k for k in await thread_keys(redis, thread_id) if b":slack:" not in k]
            assert left == []
        finally:
            await redis.aclose()
