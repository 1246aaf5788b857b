"""A decision recorded in Redis is applied exactly once, whatever happens between recording it and
starting its resume: the process dies (SIGKILL), Redis loses the answer, or Redis is unreachable
when the resume is queued. Two real `serve` processes share one Redis through a proxy that acts
on cue: when the process sends a chosen command."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.faults.conftest import pause_message, serve_env, until
from tests.faults.resuming import SUBMIT, idle, queuing_dropped_then_told, resumes
from tests.processes import RedisProxy, Serve
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button

pytestmark = pytest.mark.e2e  # starts Sluice processes

DECIDE = b'"decision": "approve", "value": null, "user": "' + APPROVER.encode() + b'"'


async def _paused_thread(slack: LocalSlack, server: Serve, clicked: Serve | None = None) -> tuple[str, Any]:
    """A thread paused in Slack, after a first decision went through normally (so Redis has every
    script cached and a cue meets the command itself, not redis-py's first NOSCRIPT attempt)."""
    client = get_client(url=server.url)
    slack.events_url = (clicked or server).url + "/slack/events"
    warm_up = (await client.threads.create())["thread_id"]
    await client.runs.wait(warm_up, "agent", input={"some_text": "warm-up"})
    first = await pause_message(slack, warm_up)
    await slack.click(APPROVER, CHANNEL, first.ts, button(first, "Approve"))
    await until(lambda: idle(server, warm_up))
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "agent", input={"some_text": "draft"})
    return thread_id, await pause_message(slack, thread_id)


@pytest.mark.parametrize("moment", [DECIDE, SUBMIT], ids=["after-recording", "after-queuing-the-resume"])
async def test_the_process_dies_after_recording_and_another_applies_it_once(
    slack: LocalSlack, proxy: RedisProxy, serves: Any, moment: bytes
) -> None:
    env = serve_env(slack, proxy.url)
    clicked, survivor = await serves(env, "clicked"), await serves(env, "survivor")
    thread_id, message = await _paused_thread(slack, survivor, clicked)

    proxy.on(moment, "hold")  # the command reaches Redis; then its process hears nothing more
    assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200
    await asyncio.wait_for(proxy.cued.wait(), 10)
    clicked.kill()  # between recording the decision and starting its resume
    proxy.release()

    await until(lambda: idle(survivor, thread_id), 40)
    assert len(await resumes(survivor, thread_id)) == 1
    state = await get_client(url=survivor.url).threads.get_state(thread_id)
    assert state["values"] == {"some_text": "draft"} and state["next"] == []
    assert action_ids(slack.message(CHANNEL, message.ts)) == []  # the survivor updated the message
    assert APPROVER in json.dumps(slack.message(CHANNEL, message.ts).blocks)
    if moment == DECIDE:
        assert "was recorded but not applied; applying it here" in survivor.log()
    else:  # queued, never started: its lease lapsed and the survivor's runs recovery took it
        assert "lost its process; continuing it here" in survivor.log()


async def test_redis_loses_the_answer_to_the_recording_and_the_retry_still_resumes_once(
    slack: LocalSlack, proxy: RedisProxy, serves: Any
) -> None:
    server = await serves(serve_env(slack, proxy.url))
    thread_id, message = await _paused_thread(slack, server)

    proxy.on(DECIDE, "cut")  # recorded in Redis, but the connection drops before the answer
    assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200
    await asyncio.wait_for(proxy.cued.wait(), 10)
    await until(lambda: idle(server, thread_id))
    assert len(await resumes(server, thread_id)) == 1
    assert action_ids(slack.message(CHANNEL, message.ts)) == []
    assert slack.ephemerals(APPROVER) == []  # not "already decided": it was this very click


async def test_a_resume_that_cannot_be_queued_is_given_back_and_the_clicker_told(
    slack: LocalSlack, proxy: RedisProxy, serves: Any
) -> None:
    server = await serves(serve_env(slack, proxy.url))
    thread_id, message = await _paused_thread(slack, server)

    await queuing_dropped_then_told(
        slack, proxy, server, thread_id, lambda: slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
    )
    shown = slack.message(CHANNEL, message.ts)
    assert "Approve" in json.dumps(shown.blocks)  # the pause is open again
    assert (await slack.click(APPROVER, CHANNEL, shown.ts, button(shown, "Approve"))).status == 200
    await until(lambda: idle(server, thread_id))
    assert len(await resumes(server, thread_id)) == 1
