"""Runs the outcome replies used to miss, end to end through `python -m bot serve` and signed Slack
requests: a decided run cancelled over the API, a run started with `/sluice` (or from the
playground's sidebar) that fails before any pause."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from bot.playground.examples import Example
from bot.playground.launcher import Launcher
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


async def test_a_decided_run_cancelled_over_the_api_is_told_in_the_thread_and_the_headline(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    held = tmp_path / "held"
    env = {**outcomes_env(slack, redis_url, tmp_path / "no-outage"), "SLUICE_TEST_HOLD": str(held)}
    with running_server(**env) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await paused_run(client, slack, "held", "the Q3 report")
        assert (await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))).status == 200
        await until(held.exists, "the decided run runs its next node")
        running = [r for r in await client.runs.list(thread_id) if r["status"] == "running"]
        assert len(running) == 1, running
        await client.runs.cancel(thread_id, running[0]["run_id"])

        replies = await until(lambda: [m for m in thread_replies(slack, message) if "cancelled" in m.text],
                               "the thread is told the run was cancelled")
        shown = json.dumps(replies[0].blocks)
        assert "cancelled over the API" in shown and "stays at its last checkpoint" in shown
        headline = await until(lambda: "cancelled" in headline_of(slack, message) and headline_of(slack, message),
                                "the headline says it was cancelled")
        assert "cancelled over the API" in headline and "waiting for you" not in headline
        assert "goes on" not in json.dumps(slack.message(CHANNEL, message.ts).blocks)
        assert action_ids(slack.message(CHANNEL, message.ts)) == []
        assert len(thread_replies(slack, message)) == 1
        assert (await client.runs.get(thread_id, running[0]["run_id"]))["status"] == "interrupted"


def _failure_in(slack: LocalSlack, thread_ts: str | None) -> Message | None:
    found = [m for m in slack.channel_messages(CHANNEL) + [r for m in slack.channel_messages(CHANNEL)
                                                           for r in slack.thread(CHANNEL, m.ts)]
             if m.thread_ts == thread_ts and m.text.startswith("sender failed")]
    return found[0] if found else None


async def test_a_slash_command_run_that_fails_gets_the_failure_reply_and_one_retry_across_processes(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    outage = tmp_path / "outage"
    outage.write_text("try later")
    env = outcomes_env(slack, redis_url, outage)
    with running_server(**env) as first, server_process(**env) as (second, _):
        slack.events_url = first + "/slack/events"
        client = get_client(url=first)
        assert (await slack.slash_command(APPROVER, CHANNEL, "/sluice", "sender the Q3 report")).status == 200
        root = await until(lambda: next((m for m in slack.channel_messages(CHANNEL) if m.thread_ts is None), None),
                            "the command's message")
        failure = await until(lambda: _failure_in(slack, root.ts), "the failure reply in the command's thread")
        shown = json.dumps(failure.blocks)
        assert "`send`" in shown and "ConnectionError" in shown and "try later" in shown
        assert action_ids(failure) == [RETRY, DETAILS]
        thread_id = next(t["thread_id"] for t in await client.threads.search() if t["status"] == "error")

        assert (await slack.click(OUTSIDER, CHANNEL, failure.ts, RETRY)).status == 200
        await until(lambda: slack.ephemerals(OUTSIDER), "the outsider is told")
        assert "not one of the approvers" in slack.ephemerals(OUTSIDER)[-1].text
        assert len(await client.runs.list(thread_id)) == 1

        assert (await slack.click(APPROVER, CHANNEL, failure.ts, DETAILS)).status == 200
        view = await until(lambda: slack.top_view(APPROVER), "the details modal opens")
        assert "Traceback" in json.dumps(view.view) and "outcome_graphs.py" in json.dumps(view.view)

        outage.unlink()
        statuses = await asyncio.gather(
            deliver_click(slack, first, APPROVER, failure, RETRY),
            deliver_click(slack, second, APPROVER, failure, RETRY),
        )
        assert statuses == [200, 200]
        finished = await until(
            lambda: [m for m in slack.thread(CHANNEL, root.ts) if m.text == "sender finished"], "the finished reply"
        )
        assert "sent: the Q3 report" in json.dumps(finished[0].blocks)
        await until(lambda: any("already retried" in m.text for m in slack.ephemerals(APPROVER)),
                     "the second Retry is told it was already done")
        assert len(await client.runs.list(thread_id)) == 2
        assert (await client.threads.get_state(thread_id))["values"]["sent"] == "sent: the Q3 report"
        assert action_ids(slack.message(CHANNEL, failure.ts)) == [DETAILS]
        assert [m for m in slack.thread(CHANNEL, root.ts) if m.text.startswith("sender failed")] == [failure]


async def test_a_sidebar_run_that_fails_before_any_pause_shows_the_failure_in_the_channel(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    outage = tmp_path / "outage"
    outage.write_text("try later")
    with running_server(**outcomes_env(slack, redis_url, outage)) as url:
        slack.events_url = url + "/slack/events"
        launcher = Launcher(url, CHANNEL)  # what the page's sidebar click runs
        try:
            thread_id = await launcher.start(Example("send", "sender", "fails while the outage lasts", {"text": "x"}))
        finally:
            await launcher.close()
        failure = await until(lambda: _failure_in(slack, None), "the failure in the channel")
        assert thread_id in json.dumps(failure.blocks)  # its buttons name the thread
        assert action_ids(failure) == [RETRY, DETAILS] and "ConnectionError" in json.dumps(failure.blocks)
        outage.unlink()
        assert (await slack.click(APPROVER, CHANNEL, failure.ts, RETRY)).status == 200
        await until(lambda: any(m.text == "sender finished" for m in slack.channel_messages(CHANNEL)),
                     "the retried run's end is told in the channel too")


async def test_a_failure_shown_in_slack_carries_no_secrets_from_its_message(
    slack: LocalSlack, redis_url: str, tmp_path: Path
) -> None:
    outage = tmp_path / "outage"
    outage.write_text("login sk-live-0123456789 at postgres://app:hunter22@db:5432/app as xoxb-123-abc")
    with running_server(**outcomes_env(slack, redis_url, outage), MAIL_API_KEY="sk-live-0123456789") as url:
        slack.events_url = url + "/slack/events"
        assert (await slack.slash_command(APPROVER, CHANNEL, "/sluice", "sender report")).status == 200
        root = await until(lambda: next((m for m in slack.channel_messages(CHANNEL) if m.thread_ts is None), None),
                            "the command's message")
        failure = await until(lambda: _failure_in(slack, root.ts), "the failure reply")
        assert (await slack.click(APPROVER, CHANNEL, failure.ts, DETAILS)).status == 200
        view = await until(lambda: slack.top_view(APPROVER), "the details modal opens")
    for shown in (failure.text, json.dumps(failure.blocks), json.dumps(view.view)):
        assert "sk-live" not in shown and "hunter22" not in shown and "xoxb-123" not in shown, shown
        assert "login [redacted] at postgres://app:[redacted]@db:5432/app as [redacted]" in shown, shown
