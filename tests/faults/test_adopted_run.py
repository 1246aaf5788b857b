"""A resume whose process is SIGKILLed mid-run is adopted by the other process, which finishes it and
tells Slack: the pause's message says how it ended, and the node's side effect happened once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.faults.conftest import pause_message, serve_env, until
from tests.slack.harness import APPROVER, CHANNEL, action_ids

pytestmark = pytest.mark.e2e  # starts Sluice processes


async def test_the_adopting_process_updates_the_slack_message(
    slack: LocalSlack, redis_url: str, serves: Any, tmp_path: Path
) -> None:
    env = serve_env(slack, redis_url, SLUICE_RUN_LEASE="2")
    clicked, survivor = await serves(env, "clicked"), await serves(env, "survivor")
    client = get_client(url=survivor.url)
    side_effect = tmp_path / "acted.txt"
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "approve_then_act", input={"path": str(side_effect), "log": []})
    message = await pause_message(slack, thread_id)
    slack.events_url = clicked.url + "/slack/events"
    await slack.say(APPROVER, CHANNEL, "go ahead", thread_ts=message.ts)  # a reply answers the pause

    async def running() -> bool:  # the resume's run executes `act` (two seconds) on the clicked process
        runs = await client.runs.list(thread_id)
        return any(r["status"] == "running" and "resume" in (r["kwargs"].get("command") or {}) for r in runs)

    await until(running)
    clicked.kill()

    async def finished() -> bool:
        return bool((await client.threads.get(thread_id))["status"] == "idle")

    await until(finished, 40)
    assert (await client.threads.get_state(thread_id))["values"]["log"] == ["answer:go ahead", "acted"]
    assert side_effect.read_text() == "acted\n"  # once
    assert "lost its process; continuing it here" in survivor.log()

    async def told() -> bool:
        shown = json.dumps(slack.message(CHANNEL, message.ts).blocks)
        return "finished" in shown.lower()

    await until(told)
    assert action_ids(slack.message(CHANNEL, message.ts)) == []
