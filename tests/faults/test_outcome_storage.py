"""A run a decision started that fails outside the graph (Redis drops while it stores the node's
writes) is told in the pause's thread once storage answers again, and its Retry finishes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.api.conftest import REPO
from tests.faults.conftest import pause_message, serve_env, until
from tests.processes import RedisProxy, Serve
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button

pytestmark = pytest.mark.e2e

RETRY, DETAILS = "sluice_outcome.retry", "sluice_outcome.details"


async def test_a_decided_run_that_storage_fails_is_told_and_retried(
    slack: LocalSlack, proxy: RedisProxy, serves: Callable[..., Awaitable[Serve]], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    gate.write_text("closed")
    env = serve_env(slack, proxy.url, SLUICE_GRAPHS=str(REPO / "tests" / "slack" / "outcomes.json"),
                    SLUICE_TEST_GATE=str(gate))
    server = await serves(env)
    slack.events_url = server.url + "/slack/events"
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "gated", input={"text": "report"})
    message = await pause_message(slack, thread_id)
    assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200

    reached = Path(f"{gate}.reached")
    await until(lambda: asyncio.to_thread(reached.exists))
    proxy.on(b"gate-opened", "drop")  # the node's writes never reach Redis; then Redis refuses everyone
    gate.unlink()
    await asyncio.wait_for(proxy.cued.wait(), 10)

    async def gave_up() -> bool:
        return "failed outside the graph" in server.log()

    await until(gave_up)  # the run failed (its client's retries spent); Redis comes back now
    proxy.accept()

    def replies() -> list[Message]:
        return [m for m in slack.thread(CHANNEL, message.ts) if m.ts != message.ts]

    async def told() -> bool:
        return any("could not run" in m.text for m in replies())

    await until(told)
    failure = next(m for m in replies() if "could not run" in m.text)
    assert "ConnectionError" in failure.text and action_ids(failure) == [RETRY, DETAILS]

    async def headline_says_so() -> bool:
        return "could not be carried out" in json.dumps(slack.message(CHANNEL, message.ts).blocks[0])

    await until(headline_says_so)
    assert "goes on" not in json.dumps(slack.message(CHANNEL, message.ts).blocks)

    async def in_error() -> bool:
        return bool((await client.threads.get(thread_id))["status"] == "error")

    await until(in_error)
    assert (await slack.click(APPROVER, CHANNEL, failure.ts, RETRY)).status == 200

    async def finished() -> bool:
        return any(m.text.endswith("finished") for m in replies())

    await until(finished)
    assert (await client.threads.get_state(thread_id))["values"]["sent"] == "gate-opened: report"
