"""What people see after they decide, end to end: `python -m bot serve` processes on one Redis,
a local Slack that signs its requests, runs started with the real langgraph_sdk client."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.api.conftest import running_server, server_process
from tests.slack.harness import APPROVER, CHANNEL, OUTSIDER, action_ids, button
from tests.slack.serve_flows import (
    DETAILS,
    RETRY,
    deliver_click,
    headline_of,
    outcomes_env,
    paused_run,
    thread_replies,
    until,
)

pytestmark = pytest.mark.e2e  # starts Sluice processes


async def test_a_failure_after_approve_is_told_with_retry_and_an_approver_retry_finishes_once(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    outage = tmp_path / "outage"
    outage.write_text("try later & <again>")
    env = outcomes_env(slack, redis_url, outage)
    with running_server(**env) as first, server_process(**env) as (second, second_process):
        client = get_client(url=first)
        thread_id, message = await paused_run(client, slack, "flaky", "the Q3 report")
        slack.events_url = second + "/slack/events"
        assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200

        reply = await until(lambda: [m for m in thread_replies(slack, message) if "failed" in m.text], "a failure reply")
        failure = reply[-1]
        shown = json.dumps(failure.blocks)
        assert "`send`" in shown and "ConnectionError" in shown
        assert "&lt;smtp.example.com&gt;" in shown and "try later &amp; &lt;again&gt;" in shown  # escaped
        assert action_ids(failure) == [RETRY, DETAILS]

        async def in_error() -> bool:  # the reply is posted as the run ends, just before its thread is released
            return bool((await client.threads.get(thread_id))["status"] == "error")

        await until(in_error, "the thread is in error")
        headline = await until(lambda: "failed" in headline_of(slack, message) and headline_of(slack, message),
                                "the pause's headline says it failed")
        assert "waiting for you" not in headline and "`send`" in headline
        runs_before = len(await client.runs.list(thread_id))
        failed_id = next(r["run_id"] for r in await client.runs.list(thread_id) if r["status"] == "error")

        # An outsider's Retry changes nothing.
        assert (await slack.click(OUTSIDER, CHANNEL, failure.ts, RETRY)).status == 200
        await until(lambda: slack.ephemerals(OUTSIDER), "the outsider is told")
        assert "not one of the approvers" in slack.ephemerals(OUTSIDER)[-1].text
        assert len(await client.runs.list(thread_id)) == runs_before
        assert action_ids(slack.message(CHANNEL, failure.ts)) == [RETRY, DETAILS]

        # Details: the traceback, in a modal.
        assert (await slack.click(APPROVER, CHANNEL, failure.ts, DETAILS)).status == 200
        view = await until(lambda: slack.top_view(APPROVER), "the details modal opens")
        assert "Traceback" in json.dumps(view.view) and "outcome_graphs.py" in json.dumps(view.view)

        # The outage is over; Retry pressed twice at once, on both processes: one run finishes.
        outage.unlink()
        statuses = await asyncio.gather(
            deliver_click(slack, first, APPROVER, failure, RETRY),
            deliver_click(slack, second, APPROVER, failure, RETRY),
        )
        assert statuses == [200, 200]

        async def finished() -> bool:
            return bool((await client.threads.get(thread_id))["status"] == "idle")

        await until(finished, "the retried run finishes")
        assert (await client.threads.get_state(thread_id))["values"]["sent"] == "sent: the Q3 report"
        await until(lambda: any("finished" in m.text for m in thread_replies(slack, message)), "a finished reply")
        await until(lambda: "finished" in headline_of(slack, message), "the headline says it finished")
        retries = [r for r in await client.runs.list(thread_id) if not r["kwargs"].get("command")
                   and r["kwargs"].get("input") is None]
        assert len(retries) == 1, retries
        assert len(await client.runs.list(thread_id)) == runs_before + 1
        await until(lambda: any("already retried" in m.text for m in slack.ephemerals(APPROVER)),
                     "the second Retry is told it was already done")
        retried = slack.message(CHANNEL, failure.ts)
        assert action_ids(retried) == [DETAILS] and f"Retried by <@{APPROVER}>" in json.dumps(retried.blocks)
        assert [m for m in thread_replies(slack, message) if "failed" in m.text] == [failure]  # no second failure
        # The audit trail: the approval, then the one Retry that counted (issue 12).
        async with aiohttp.ClientSession() as http, http.get(f"{first}/threads/{thread_id}/audit") as response:
            audit = await response.json()
        assert [(e["decision"], e["actor"]) for e in audit] == [("approve", APPROVER), ("retry", APPROVER)]
        assert audit[0]["interrupt_id"] == audit[1]["interrupt_id"] != "-"
    # The log of the process that ran the node says what failed, where, with the traceback.
    log = second_process.stdout.read().decode() if second_process.stdout else ""
    line = next((e for e in log.splitlines() if " ERROR sluice.runs: " in e and thread_id in e), "")
    assert f"thread {thread_id} run {failed_id}: node 'send' raised ConnectionError: mail server <smtp.example.com>" \
        in line, log[-3000:]
    assert "Traceback (most recent call last)" in log and "outcome_graphs.py" in log


async def test_a_finished_run_is_told_and_notify_on_finish_false_silences_it(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    with running_server(**outcomes_env(slack, redis_url, tmp_path / "no-outage")) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        _, told = await paused_run(client, slack, "flaky", "told")
        _, quiet = await paused_run(client, slack, "quiet", "quiet")
        for message in (told, quiet):
            await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        for message in (told, quiet):
            await until(lambda m=message: "finished" in headline_of(slack, m), "the headline says it finished")
        assert [m.text for m in thread_replies(slack, told)] == ["flaky finished"]
        assert thread_replies(slack, quiet) == []  # the headline is updated after the reply would have been posted


async def test_a_run_that_pauses_again_links_the_next_pause_from_the_thread(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    with running_server(**outcomes_env(slack, redis_url, tmp_path / "no-outage")) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, first = await paused_run(client, slack, "twice", "draft")
        await slack.click(APPROVER, CHANNEL, first.ts, button(first, "Approve"))

        def second_pause() -> Message | None:
            found = [m for m in slack.channel_messages(CHANNEL)
                     if m.thread_ts is None and m.ts != first.ts and "confirm: draft" in json.dumps(m.blocks)]
            return found[0] if found else None

        second = await until(second_pause, "the next pause is posted")
        link = f"https://local.slack/archives/{CHANNEL}/p{second.ts.replace('.', '')}"
        await until(lambda: any(link in json.dumps(m.blocks) for m in thread_replies(slack, first)), "the thread links it")
        await until(lambda: "another decision" in headline_of(slack, first), "the headline says it paused again")
        assert action_ids(second) == [button(second, "Approve"), button(second, "Edit")]

        async def interrupted() -> bool:
            return bool((await client.threads.get(thread_id))["status"] == "interrupted")

        await until(interrupted, "the thread waits again")
