"""Redis drops every connection (a restart, a failover): the next request of each kind succeeds,
because the service's client retries connection errors with backoff."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.faults.conftest import pause_message, serve_env, until
from tests.processes import RedisProxy
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button

pytestmark = pytest.mark.e2e  # starts Sluice processes


async def test_first_wait_and_first_click_after_redis_drops_every_connection(
    slack: LocalSlack, proxy: RedisProxy, serves: Any
) -> None:
    server = await serves(serve_env(slack, proxy.url))
    slack.events_url = server.url + "/slack/events"
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    message = await pause_message(slack, thread_id)

    proxy.cut()  # every pooled connection is now dead; the service does not know yet
    other = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(other, "agent", input={"some_text": "second"})
    assert paused["__interrupt__"][0]["value"] == {"text_to_revise": "second"}

    proxy.cut()
    click = await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    assert click.status == 200

    async def resumed() -> bool:
        return bool((await client.threads.get(thread_id))["status"] == "idle")

    await until(resumed)
    assert (await client.threads.get_state(thread_id))["values"] == {"some_text": "draft"}
    assert action_ids(slack.message(CHANNEL, message.ts)) == []
    assert slack.ephemerals(APPROVER) == []
    assert "Task exception was never retrieved" not in server.log()
    assert json.dumps(paused)  # the second thread paused normally


async def test_storage_lost_after_wait_sent_its_headers_ends_the_body_with_the_error(
    slack: LocalSlack, proxy: RedisProxy, serves: Any
) -> None:
    server = await serves(serve_env(slack, proxy.url))
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    async with aiohttp.ClientSession() as session:
        body = {"assistant_id": "very_slow", "input": {"log": []}}
        async with session.post(f"{server.url}/threads/{thread_id}/runs/wait", json=body) as response:
            assert response.status == 200  # headers are out
            proxy.refuse()
            proxy.cut()  # Redis is gone while the run executes
            raw = await response.read()  # a clean chunked body: no second HTTP response inside
    proxy.accept()
    assert b"HTTP/1.1" not in raw
    answer = json.loads(raw.strip())
    # the run's own failure (the engine's checkpoint write: CheckpointerError), or storing its end's
    assert set(answer) == {"__error__"} and answer["__error__"]["error"] in (
        "CheckpointerError", "ConnectionError", "TimeoutError", "StorageUnavailable"
    )
    assert (await client.threads.get(thread_id))["thread_id"] == thread_id  # and the server still serves
