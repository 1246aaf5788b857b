"""What the Slack tests that start `python -m bot serve` share: the outcome buttons, the outcome
graphs' environment, waiting for a condition, finding a thread's pause and its replies, and a
signed click delivered to a chosen process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.api.conftest import REPO
from tests.slack.harness import APPROVER, CHANNEL, SECRET, TOKEN

RETRY, DETAILS = "sluice_outcome.retry", "sluice_outcome.details"


def serve_env(slack: LocalSlack, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `serve` process talking to `slack`, on `redis_url`, with APPROVER."""
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLUICE_SLACK_CHANNEL": CHANNEL,
        "SLUICE_APPROVERS": APPROVER,
        "REDIS_URL": redis_url,
        **extra,
    }


def outcomes_env(slack: LocalSlack, redis_url: str, outage: Path) -> dict[str, str]:
    """`serve_env` for the outcome graphs; their `send` node fails while the file `outage` exists."""
    graphs = str(REPO / "tests" / "slack" / "outcomes.json")
    return serve_env(slack, redis_url, SLUICE_GRAPHS=graphs, SLUICE_TEST_OUTAGE=str(outage))


async def until(predicate: Callable[[], Awaitable[Any] | Any], what: str) -> Any:
    for _ in range(300):
        found = predicate()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {what}")


def pause_message(slack: LocalSlack, thread_id: str) -> Message | None:
    found = [m for m in slack.channel_messages(CHANNEL) if m.thread_ts is None and thread_id in json.dumps(m.blocks)]
    return found[0] if found else None


def thread_replies(slack: LocalSlack, message: Message) -> list[Message]:
    return [m for m in slack.thread(CHANNEL, message.ts) if m.ts != message.ts]


def headline_of(slack: LocalSlack, message: Message) -> str:
    return str(slack.message(CHANNEL, message.ts).blocks[0]["text"]["text"])


async def deliver_click(slack: LocalSlack, url: str, user: str, message: Message, action_id: str) -> int:
    """A signed click delivered to the `serve` process at `url` (Slack may pick any process)."""
    payload = slack.block_actions_payload(user, action_id, channel=CHANNEL, ts=message.ts)
    body, headers = slack.interaction_request(payload)
    async with aiohttp.ClientSession() as http, http.post(url + "/slack/events", data=body, headers=headers) as r:
        return r.status


async def paused_run(
    client: Any, slack: LocalSlack, assistant: str, text: str, key: str = "text"
) -> tuple[str, Message]:
    """A new thread run to its pause (its input `{key: text}`), and the pause's message once posted."""
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, assistant, input={key: text})
    assert "__interrupt__" in paused, paused
    message = await until(lambda: pause_message(slack, thread_id), "the pause is posted")
    return thread_id, message
