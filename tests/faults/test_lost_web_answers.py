"""A pause whose chat.postMessage reached Slack but whose answer was lost (the connection cut after
the request went out) is not posted a second time behind anyone's back, and is not lost: it stays
pending, and `/sluice pending` lists it and posts it again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.faults.conftest import serve_env, until
from tests.processes import RedisProxy, Serve
from tests.slack.harness import APPROVER, CHANNEL, button

pytestmark = pytest.mark.e2e  # starts a Sluice process


@pytest.fixture
async def slack_proxy(slack: LocalSlack) -> AsyncIterator[RedisProxy]:
    """A TCP proxy in front of the local Slack's Web API that cuts on cue (any TCP protocol goes)."""
    port = int(slack.api_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    running = await RedisProxy(port).start()
    yield running
    await running.close()


async def test_a_pause_posted_whose_answer_was_lost_is_posted_once_and_still_decided(
    slack: LocalSlack, slack_proxy: RedisProxy, redis_url: str, serves: Callable[..., Awaitable[Serve]]
) -> None:
    origin = slack.api_url.split("://", 1)[1].split("/", 1)[0]
    api_url = slack.api_url.replace(origin, f"127.0.0.1:{slack_proxy.port}")
    server = await serves(serve_env(slack, redis_url, SLACK_API_URL=api_url))
    slack.events_url = server.url + "/slack/events"
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]

    slack_proxy.on(b"chat.postMessage", "hold")  # the post reaches Slack; its answer is held
    run = await client.runs.create(thread_id, "agent", input={"some_text": "draft"})

    def posted() -> list[Message]:
        return [m for m in slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks)]

    async def reached_slack() -> bool:
        return bool(posted())

    await until(reached_slack)
    slack_proxy.cut()  # the answer is lost with its connection
    slack_proxy.release()
    await client.runs.join(thread_id, run["run_id"])
    assert len(posted()) == 1, "a post whose answer was lost is not sent again"
    assert "chat.postMessage to" in server.log()  # it is reported failed

    # Not lost: it stays pending, and `/sluice pending` posts it again (its first message's buttons are
    # not known here: Slack's answer naming it was lost), a message whose Approve resumes the run.
    await slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")

    async def reposted() -> bool:
        return len(posted()) == 2 and bool(slack.ephemerals(APPROVER))

    await until(reposted)
    assert "1 waiting for your decision here" in slack.ephemerals(APPROVER)[-1].text
    message = posted()[-1]
    assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200

    async def resumed() -> bool:
        return bool((await client.threads.get(thread_id))["status"] == "idle")

    await until(resumed)
    assert (await client.threads.get_state(thread_id))["values"]["some_text"] == "draft"
