"""A group's decision (one typed interrupt of several, resumed alone by its id while the others
stay open) is applied exactly once, like a whole pause's: the process that recorded it dies before
queuing its resume, or queuing it fails. Two real `serve` processes share one Redis through a proxy
that acts on cue."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from tests.faults.conftest import serve_env, until
from tests.faults.resuming import SUBMIT, idle, queuing_dropped_then_told, resumes
from tests.processes import RedisProxy, Serve
from tests.slack.harness import APPROVER, CHANNEL, action_ids, button
from tests.slack.modals import filled, inputs

pytestmark = pytest.mark.e2e  # starts Sluice processes


async def _reviews(slack: LocalSlack, thread_id: str) -> dict[str, Any]:
    """The two reviewers' messages of a `typed_parallel` pause, by question, once both have buttons."""

    def found() -> dict[str, Any]:
        mine = [m for m in slack.channel_messages(CHANNEL) if thread_id in json.dumps(m.blocks) and action_ids(m)]
        return {q: m for q in ("a?", "b?") for m in mine if q in json.dumps(m.blocks)}

    async def both() -> bool:
        return len(found()) == 2

    await until(both)
    return found()


async def _approve(slack: LocalSlack, message: Any) -> Any:
    """Answers a reviewer's typed question (its form, one JSON field) with {"type": "approve"}."""
    before = slack.top_view(APPROVER)
    await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Answer"))

    async def opened() -> bool:
        view = slack.top_view(APPROVER)
        return view is not None and (before is None or view.id != before.id)

    await until(opened)
    view = slack.top_view(APPROVER)
    assert view is not None
    assert list(inputs(view.view)) == ["Answer"]  # a union of shapes: answered as JSON
    return await slack.submit(APPROVER, view.id, filled(view.view, Answer='{"type": "approve"}'))


async def _paused(slack: LocalSlack, server: Serve, clicked: Serve) -> tuple[str, dict[str, Any]]:
    """A `typed_parallel` thread paused in Slack, after a first one was decided group by group (so
    Redis has every script cached and a cue meets the command itself)."""
    client = get_client(url=server.url)
    slack.events_url = clicked.url + "/slack/events"
    warm_up = (await client.threads.create())["thread_id"]
    await client.runs.wait(warm_up, "typed_parallel", input={"log": []})
    for message in (await _reviews(slack, warm_up)).values():
        await _approve(slack, message)
    await until(lambda: idle(server, warm_up))
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "typed_parallel", input={"log": []})
    return thread_id, await _reviews(slack, thread_id)


async def _log(server: Serve, thread_id: str) -> list[str]:
    return list((await get_client(url=server.url).threads.get_state(thread_id))["values"].get("log", []))


DECIDE = b'{"type": "approve"}'  # the form's answer, recorded as the slot's decision


@pytest.mark.parametrize("moment", [DECIDE, SUBMIT], ids=["after-recording", "after-queuing-the-resume"])
async def test_the_process_dies_after_recording_a_group_and_another_applies_it_once(
    slack: LocalSlack, proxy: RedisProxy, serves: Any, moment: bytes
) -> None:
    env = serve_env(slack, proxy.url)
    clicked, survivor = await serves(env, "clicked"), await serves(env, "survivor")
    thread_id, reviews = await _paused(slack, survivor, clicked)
    state = await get_client(url=survivor.url).threads.get_state(thread_id)
    ids = {i["value"]: i["id"] for i in state["interrupts"]}

    proxy.on(moment, "hold")  # the command reaches Redis; then its process hears nothing more
    a = reviews["a?"]
    assert (await _approve(slack, a)).status == 200
    await asyncio.wait_for(proxy.cued.wait(), 10)
    clicked.kill()  # between recording the group's decision and starting its resume
    proxy.release()

    async def applied() -> bool:
        return await _log(survivor, thread_id) == ["a=approve"]  # b's interrupt still open

    await until(applied, 40)
    assert await resumes(survivor, thread_id) == [{ids["a?"]: {"type": "approve"}}]  # alone, by its id, once
    assert action_ids(slack.message(CHANNEL, a.ts)) == []  # the survivor updated a's message
    assert APPROVER in json.dumps(slack.message(CHANNEL, a.ts).blocks)
    b = slack.message(CHANNEL, reviews["b?"].ts)
    assert action_ids(b) != []  # the other group stays open ...
    if moment == DECIDE:
        assert "was recorded but not applied; applying it here" in survivor.log()
    else:  # queued, never started: its lease lapsed and the survivor's runs recovery took it
        assert "lost its process; continuing it here" in survivor.log()

    slack.events_url = survivor.url + "/slack/events"  # ... and is decided as usual
    assert (await _approve(slack, b)).status == 200

    async def finished() -> bool:
        return sorted(await _log(survivor, thread_id)) == ["a=approve", "b=approve"] and await idle(survivor, thread_id)

    await until(finished)
    assert len(await resumes(survivor, thread_id)) == 2


async def test_a_group_resume_that_cannot_be_queued_is_given_back_and_the_clicker_told(
    slack: LocalSlack, proxy: RedisProxy, serves: Any
) -> None:
    server = await serves(serve_env(slack, proxy.url))
    thread_id, reviews = await _paused(slack, server, server)

    a = reviews["a?"]
    await queuing_dropped_then_told(slack, proxy, server, thread_id, lambda: _approve(slack, a))
    shown = slack.message(CHANNEL, a.ts)
    assert action_ids(shown) != []  # the group is open again
    assert (await _approve(slack, shown)).status == 200

    async def applied() -> bool:
        return await _log(server, thread_id) == ["a=approve"]

    await until(applied)
    assert len(await resumes(server, thread_id)) == 1
