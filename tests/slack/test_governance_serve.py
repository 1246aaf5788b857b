"""Deadlines, escalation and N-of-M approval end to end: `python -m bot serve` processes on one
Redis, a local Slack that signs its requests, runs started with the real langgraph_sdk client,
deadlines of a few seconds. The audit list after each flow holds exactly its decisions, in order."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from langgraph_sdk import get_client

from bot.playground.slack_user import LocalSlack
from bot.playground.workspace import Message
from tests.api.conftest import REPO, running_server, server_process
from tests.slack.harness import APPROVER, CHANNEL, GROUPIE, OUTSIDER, SECRET, TOKEN, USERS, action_ids, button
from tests.slack.serve_flows import pause_message, thread_replies, until

pytestmark = pytest.mark.e2e  # starts Sluice processes

ONCALL = "C0ONCALL"


@pytest.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    local = LocalSlack(signing_secret=SECRET, bot_token=TOKEN, channels={CHANNEL: "general", ONCALL: "oncall"},
                       users=USERS, usergroups={"S0REVIEW": [GROUPIE]})
    await local.start()
    yield local
    await local.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Any]:
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


def _env(slack: LocalSlack, redis_url: str, approvers: str = f"{APPROVER},S0REVIEW") -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLUICE_SLACK_CHANNEL": CHANNEL,
        "SLUICE_APPROVERS": approvers,
        "REDIS_URL": redis_url,
        "SLUICE_GRAPHS": str(REPO / "tests" / "slack" / "governance.json"),
    }


async def _paused(client: Any, slack: LocalSlack, assistant: str, **run: Any) -> tuple[str, Message]:
    thread_id = (await client.threads.create())["thread_id"]
    paused = await client.runs.wait(thread_id, assistant, input={"text": "prod"}, **run)
    assert "__interrupt__" in paused, paused
    message = await until(lambda: pause_message(slack, thread_id), "the pause is posted")
    return thread_id, message


async def _audit(url: str, thread_id: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/threads/{thread_id}/audit") as response:
        assert response.status == 200
        return list(await response.json())


async def _idle(client: Any, thread_id: str) -> bool:
    return bool((await client.threads.get(thread_id))["status"] == "idle")


def _resumes(runs: list[dict[str, Any]]) -> list[Any]:
    return [r["kwargs"]["command"]["resume"] for r in runs if (r["kwargs"].get("command") or {}).get("resume")]


async def test_reminders_then_a_timeout_with_two_processes_polling_act_once(
    slack: LocalSlack, redis_url: str, redis: Any
) -> None:
    env = _env(slack, redis_url)
    with running_server(**env) as first, running_server(**env) as second:
        slack.events_url = first + "/slack/events"
        client = get_client(url=first)
        started = time.time()
        thread_id, message = await _paused(client, slack, "timed")
        await until(lambda: _idle(client, thread_id), "the deadline resumes the run")
        ended = time.time()
        reason = "Timed out: no decision was made within 3 s, so this was not approved."
        values = (await client.threads.get_state(thread_id))["values"]
        assert values["answer"] == {"decisions": [{"type": "reject", "message": reason}]}
        assert ended - started < 3 + 2 + 1.5  # fired within 2 s of its due time (1.5 s: the run itself)
        reminders = [m for m in thread_replies(slack, message) if "Reminder" in m.text]
        assert len(reminders) == 2, [m.text for m in thread_replies(slack, message)]  # at 1.2 s and 2.4 s, each once
        assert f"<@{APPROVER}>" in reminders[0].text and "<!subteam^S0REVIEW>" in reminders[0].text
        shown = slack.message(CHANNEL, message.ts)
        await until(lambda: "finished" in json.dumps(slack.message(CHANNEL, message.ts).blocks), "the headline")
        assert action_ids(shown) == [] and "Timed out" in json.dumps(shown.blocks) and "by <@" not in json.dumps(shown.blocks)
        assert len(_resumes(await client.runs.list(thread_id))) == 1
        audit = await _audit(second, thread_id)
        assert [(e["decision"], e["actor"]) for e in audit] == [("reject", "timer")]
        assert audit[0]["after"] == reason and audit[0]["assistant_id"] == "timed"
        assert await redis.zcard("sluice:timers") == 0


async def test_a_restart_between_scheduling_and_firing_still_fires(slack: LocalSlack, redis_url: str, redis: Any) -> None:
    env = _env(slack, redis_url)
    with server_process(**env) as (first, process):
        client = get_client(url=first)
        thread_id, _ = await _paused(client, slack, "slow")
        assert await redis.zcard("sluice:timers") == 1  # the deadline, scheduled in Redis
        process.terminate()
        process.wait(timeout=15)
    with running_server(**env) as again:
        client = get_client(url=again)
        await until(lambda: _idle(client, thread_id), "the restarted server fires the deadline")
        answer = (await client.threads.get_state(thread_id))["values"]["answer"]
        assert answer["decisions"][0]["type"] == "reject" and "within 6 s" in answer["decisions"][0]["message"]
        assert [(e["decision"], e["actor"]) for e in await _audit(again, thread_id)] == [("reject", "timer")]


async def test_a_decision_just_before_the_deadline_wins(slack: LocalSlack, redis_url: str, redis: Any) -> None:
    with running_server(**_env(slack, redis_url)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "slow")
        due = float(next(score for _, score in await redis.zrange("sluice:timers", 0, -1, withscores=True))) / 1000

        async def nearly_due() -> bool:
            return time.time() >= due - 0.3

        await until(nearly_due, "0.3 s before the deadline")
        await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await until(lambda: _idle(client, thread_id), "the approved run finishes")

        async def past_due() -> bool:
            return time.time() >= due + 2.5

        await until(past_due, "the deadline's time has passed")
        assert _resumes(await client.runs.list(thread_id)) == [{"decisions": [{"type": "approve"}]}]
        assert [(e["decision"], e["actor"]) for e in await _audit(url, thread_id)] == [("approve", APPROVER)]
        assert "Timed out" not in json.dumps(slack.message(CHANNEL, message.ts).blocks)


async def test_escalation_then_a_decision_there(slack: LocalSlack, redis_url: str, redis: Any) -> None:
    with running_server(**_env(slack, redis_url, approvers=APPROVER)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "escalating")

        def escalated() -> Message | None:
            found = [m for m in slack.channel_messages(ONCALL) if m.thread_ts is None and thread_id in json.dumps(m.blocks)]
            return found[0] if found else None

        there = await until(escalated, "the pause is re-posted in the on-call channel")
        await until(lambda: f"Escalated to <#{ONCALL}>" in json.dumps(slack.message(CHANNEL, message.ts).blocks),
                     "the original says where it went")
        await until(lambda: any(f"<@{GROUPIE}>" in m.text for m in slack.thread(ONCALL, there.ts)), "Cy is called")
        await slack.click(GROUPIE, ONCALL, there.ts, button(there, "Approve"))
        await until(lambda: _idle(client, thread_id), "the run goes on")
        assert _resumes(await client.runs.list(thread_id)) == [{"decisions": [{"type": "approve"}]}]
        for channel, ts in ((CHANNEL, message.ts), (ONCALL, there.ts)):
            await until(lambda c=channel, t=ts: action_ids(slack.message(c, t)) == [], "no live buttons remain")
        audit = await _audit(url, thread_id)
        assert [(e["decision"], e["actor"]) for e in audit] == [("escalate", "timer"), ("approve", GROUPIE)]


async def test_two_of_n_with_a_repeat_click_and_the_requester_refused(slack: LocalSlack, redis_url: str, redis: Any) -> None:
    approvers = f"{APPROVER},{GROUPIE},{OUTSIDER}"
    with running_server(**_env(slack, redis_url, approvers=approvers)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "two_keys", metadata={"requested_by": OUTSIDER})
        approve = button(message, "Approve")
        await slack.click(OUTSIDER, CHANNEL, message.ts, approve)
        await until(lambda: any("your own request" in m.text for m in slack.ephemerals(OUTSIDER)), "self-approval refused")
        await slack.click(APPROVER, CHANNEL, message.ts, approve)
        await until(lambda: "1 of 2 approvals" in json.dumps(slack.message(CHANNEL, message.ts).blocks), "one of two")
        await slack.click(APPROVER, CHANNEL, message.ts, approve)
        await until(lambda: any("already approved" in m.text for m in slack.ephemerals(APPROVER)), "repeat refused")
        assert (await client.threads.get(thread_id))["status"] == "interrupted"
        await slack.click(GROUPIE, CHANNEL, message.ts, approve)
        await until(lambda: _idle(client, thread_id), "two approvals resume it")
        assert _resumes(await client.runs.list(thread_id)) == [{"decisions": [{"type": "approve"}]}]
        audit = await _audit(url, thread_id)
        assert [(e["decision"], e["actor"], e["detail"]) for e in audit] == [
            ("approve", APPROVER, "approval 1 of 2"), ("approve", GROUPIE, "approval 2 of 2")]


async def test_an_expired_pause_is_resumed_over_the_api_and_both_are_audited(
    slack: LocalSlack, redis_url: str, redis: Any
) -> None:
    with running_server(**_env(slack, redis_url)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "expiring",
                                           config={"configurable": {"sluice": {"deadline_seconds": 1}}})
        await until(lambda: "Expired" in json.dumps(slack.message(CHANNEL, message.ts).blocks), "the message expires")
        assert action_ids(slack.message(CHANNEL, message.ts)) == []
        assert (await client.threads.get(thread_id))["status"] == "interrupted"  # the graph is still paused
        interrupt_id = (await client.threads.get_state(thread_id))["interrupts"][0]["id"]
        done = await client.runs.wait(thread_id, "expiring", command={"resume": "from the API"})
        assert done["answer"] == "from the API"
        audit = await _audit(url, thread_id)
        assert [(e["decision"], e["actor"], e["interrupt_id"]) for e in audit] == [
            ("expire", "timer", interrupt_id), ("resume", "api", interrupt_id)]
        async with aiohttp.ClientSession() as http:
            bad = {"assistant_id": "expiring", "input": {"text": "x"}, "config": {"configurable": {"sluice": {"deadline": 1}}}}
            async with http.post(f"{url}/threads/{thread_id}/runs", json=bad) as response:
                assert response.status == 422 and 'unknown key \\"deadline\\"' in await response.text()


async def _nothing_pending(slack: LocalSlack) -> None:
    """`/sluice pending` in the channel lists no pause."""
    told = len(slack.ephemerals(APPROVER))
    await slack.slash_command(APPROVER, CHANNEL, "/sluice", "pending")
    answer = await until(lambda: slack.ephemerals(APPROVER)[told:], "the pending list")
    assert "Nothing is waiting" in answer[0].text, answer[0].text


async def _thread_keys(redis: Any, thread_id: str) -> list[str]:
    return sorted(k.decode() for k in await redis.keys(f"sluice:{{{thread_id}}}*"))


async def test_deleting_or_pruning_a_thread_deletes_its_audit_pauses_and_tallies(
    slack: LocalSlack, redis_url: str, redis: Any
) -> None:
    """Nothing of a deleted thread stays on Redis: not its audit stream (who decided what), not its
    Slack pauses with their decisions and N-of-M tallies; a thread made again with its id starts clean."""
    approvers = f"{APPROVER},{GROUPIE}"
    with running_server(**_env(slack, redis_url, approvers=approvers)) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        # One thread decided to the end (audit, pause, decisions), one left at 1 of 2 approvals (a tally).
        done_id, done_message = await _paused(client, slack, "two_keys")
        half_id, half_message = await _paused(client, slack, "two_keys")
        for user in (APPROVER, GROUPIE):
            await slack.click(user, CHANNEL, done_message.ts, button(done_message, "Approve"))
        await until(lambda: _idle(client, done_id), "two approvals resume it")
        await slack.click(APPROVER, CHANNEL, half_message.ts, button(half_message, "Approve"))
        await until(lambda: "1 of 2 approvals" in json.dumps(slack.message(CHANNEL, half_message.ts).blocks), "one of two")
        assert len(await _audit(url, done_id)) == 2 and len(await _audit(url, half_id)) == 1
        for thread_id in (done_id, half_id):  # what a delete must take with it
            stored = await _thread_keys(redis, thread_id)
            assert any(k.endswith(":audit") for k in stored) and any(":slack:pause:" in k for k in stored), stored
        assert any(":slack:approvals:" in k for k in await _thread_keys(redis, half_id))

        await client.threads.delete(done_id)
        await client.threads.prune([half_id])
        await _nothing_pending(slack)  # the half-approved pause went with its thread
        for thread_id in (done_id, half_id):
            assert await _thread_keys(redis, thread_id) == []
            async with aiohttp.ClientSession() as http, http.get(f"{url}/threads/{thread_id}/audit") as response:
                assert response.status == 404
        await client.threads.create(thread_id=done_id)
        assert await _audit(url, done_id) == []


async def test_deleting_a_thread_deletes_its_audit_and_pauses_in_memory(slack: LocalSlack) -> None:
    env = {k: v for k, v in _env(slack, "", approvers=f"{APPROVER},{GROUPIE}").items() if k != "REDIS_URL"}
    with running_server(**env) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "two_keys")
        await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await until(lambda: _audit(url, thread_id), "the approval is audited")
        await client.threads.delete(thread_id)
        await _nothing_pending(slack)  # its pause went with it
        await client.threads.create(thread_id=thread_id)
        assert await _audit(url, thread_id) == []


async def test_a_deleted_threads_timers_are_dropped_when_due_without_reminding_anyone(
    slack: LocalSlack, redis_url: str, redis: Any
) -> None:
    with server_process(**_env(slack, redis_url)) as (url, proc):
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "timed")  # reminders at 1.2 s and 2.4 s, deadline 3 s
        assert await redis.zcard("sluice:timers") > 0
        await client.threads.delete(thread_id)

        async def dropped() -> bool:
            return await redis.zcard("sluice:timers") == 0

        await until(dropped, "the timers came due and were dropped")
        assert thread_replies(slack, message) == []  # no reminder, no timeout reply for a deleted thread
    assert proc.stdout is not None
    assert f"the deadline of thread {thread_id} could not resume it" not in proc.stdout.read().decode()


async def test_with_a_thread_ttl_the_audit_stream_expires_like_the_checkpoints(
    slack: LocalSlack, redis_url: str, redis: Any
) -> None:
    env = {**_env(slack, redis_url, approvers=f"{APPROVER},{GROUPIE}"), "SLUICE_THREAD_TTL": "600"}
    with running_server(**env) as url:
        slack.events_url = url + "/slack/events"
        client = get_client(url=url)
        thread_id, message = await _paused(client, slack, "two_keys")
        await slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await until(lambda: _audit(url, thread_id), "the approval is audited")
        assert 0 < await redis.ttl(f"sluice:{{{thread_id}}}:audit") <= 600
