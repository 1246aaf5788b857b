"""Slack's retries and replayed requests start one run, whichever process each copy reaches, and a
click while Redis is unreachable is answered (privately) instead of dropped."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.faults.conftest import pause_message, serve_env, until
from tests.processes import RedisProxy, Serve
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button

pytestmark = pytest.mark.e2e  # starts Sluice processes


async def _deliver_to(slack: LocalSlack, server: Serve, body: bytes, headers: dict[str, str]) -> int:
    slack.events_url = server.url + "/slack/events"
    return (await slack.deliver(body, headers)).status


async def _threads(server: Serve) -> list[dict[str, Any]]:
    return list(await get_client(url=server.url).threads.search(limit=100))


async def test_a_retried_mention_on_the_other_process_starts_one_run(
    slack: LocalSlack, redis_url: str, serves: Any
) -> None:
    env = serve_env(slack, redis_url)
    first, second = await serves(env, "first"), await serves(env, "second")
    slack.events_url = first.url + "/slack/events"
    said, _ = await slack.say(APPROVER, CHANNEL, "agent please revise this")  # the message; its mention next
    text = f"<@{slack.bot_user_id}> {said.text}"
    event = {"type": "app_mention", "user": APPROVER, "channel": CHANNEL, "ts": said.ts, "text": text}
    payload = slack.event_payload(event)
    body = json.dumps(payload).encode()
    assert await _deliver_to(slack, first, body, {"Content-Type": "application/json", **slack.sign(body)}) == 200
    # Slack did not hear the ack in time: it retries the same event (new timestamp) elsewhere
    retry = {"Content-Type": "application/json", "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout",
             **slack.sign(body, int(slack.sign(body)["X-Slack-Request-Timestamp"]) + 1)}
    assert await _deliver_to(slack, second, body, retry) == 200

    async def started() -> bool:
        return len(await _threads(first)) >= 1

    await until(started)
    await pause_message(slack, (await _threads(first))[0]["thread_id"])
    assert len(await _threads(second)) == 1


async def test_a_replayed_slash_command_starts_one_run(slack: LocalSlack, redis_url: str, serves: Any) -> None:
    env = serve_env(slack, redis_url)
    first, second = await serves(env, "first"), await serves(env, "second")
    form = slack.slash_command_payload(APPROVER, CHANNEL, "/sluice", "agent a text to revise")
    body = urllib.parse.urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **slack.sign(body)}
    assert await _deliver_to(slack, first, body, headers) == 200
    assert await _deliver_to(slack, second, body, headers) == 200  # the very same signed bytes, replayed
    assert await _deliver_to(slack, first, body, headers) == 200

    async def started() -> bool:
        return len(await _threads(first)) >= 1

    await until(started)
    await pause_message(slack, (await _threads(first))[0]["thread_id"])
    assert len(await _threads(second)) == 1
    assert "dropped a repeated Slack command" in first.log() + second.log()


async def test_a_click_while_redis_is_unreachable_is_answered_and_can_be_repeated(
    slack: LocalSlack, proxy: RedisProxy, serves: Any
) -> None:
    server = await serves(serve_env(slack, proxy.url))
    slack.events_url = server.url + "/slack/events"
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    message = await pause_message(slack, thread_id)

    proxy.refuse()
    proxy.cut()
    assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200

    async def told() -> bool:
        return any("Click again" in m.text for m in slack.ephemerals(APPROVER))

    await until(told)
    proxy.accept()
    assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200

    async def resumed() -> bool:
        return bool((await client.threads.get(thread_id))["status"] == "idle")

    await until(resumed)
    assert action_ids(slack.message(CHANNEL, message.ts)) == []
    assert "Task exception was never retrieved" not in server.log()
