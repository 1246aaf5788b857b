"""The timer logic of deadlines, reminders and N-of-M approval, with freezegun's clock (no sleeps):
a local Slack, the bot's real parts, memory or a real Redis; time moves only when the test says."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from freezegun import freeze_time

from bot.assistant_settings import AssistantSettings, run_settings_problem
from bot.registry import Registry, RegistryError
from bot.slack.lifecycle import policy
from bot.slack.lifecycle.timers import MemoryTimers, RedisTimers, Timer
from bot.slack.prompts import TextPrompt, ToolAction, ToolPrompt
from tests.slack.governance_graphs import text_graph, tool_graph
from tests.slack.harness import APPROVER, CHANNEL, REPO, Env, action_ids, button, button_value, make_env

GRAPHS = REPO / "tests" / "slack" / "governance.json"
START = "2030-01-01 12:00:00"


@pytest.fixture(params=["memory", "redis"])
async def gov(request: pytest.FixtureRequest, redis_client: Any) -> AsyncIterator[Env]:
    await redis_client.flushdb()
    environment, close = await make_env(
        redis_client if request.param == "redis" else None, approvers=f"{APPROVER},S0REVIEW", graphs_file=GRAPHS
    )
    yield environment
    await close()


def _pause_of(env: Env, thread_id: str) -> Any:
    async def get() -> Any:
        return await env.bot.deps.store.get(thread_id, await env.bot.deps.store.current(thread_id) or "")

    return get()


# --- the policy ---------------------------------------------------------------------------------


def test_a_runs_own_settings_win_key_by_key() -> None:
    assistant = AssistantSettings(deadline_seconds=3600, required_approvals=2, on_timeout="approve")
    merged = policy.effective(assistant, {"deadline_seconds": 5, "on_timeout": {"resume": {"ok": False}}})
    assert merged.deadline_seconds == 5 and merged.required_approvals == 2
    assert policy.on_timeout(merged) == {"resume": {"ok": False}}
    assert policy.on_timeout(AssistantSettings(deadline_seconds=1)) == "reject"  # the default once a deadline is set


def test_a_runs_bad_settings_are_refused_naming_the_key() -> None:
    assert run_settings_problem({"configurable": {"sluice": {"deadline_secs": 5}}}) is not None
    assert 'unknown key "deadline_secs"' in (run_settings_problem({"configurable": {"sluice": {"deadline_secs": 5}}}) or "")
    assert "on_timeout" in (run_settings_problem({"configurable": {"sluice": {"on_timeout": "later"}}}) or "")
    assert run_settings_problem({"configurable": {"sluice": {"on_timeout": "expire"}}}) is None


def test_a_timeouts_decision_depends_on_the_pause_shape() -> None:
    tool = ToolPrompt("hitl", (ToolAction("deploy", {"x": 1}, "", ("approve", "edit", "reject")),))
    rejected = policy.timeout_decision(tool, 0, "reject", 3725)
    assert rejected is not None and rejected.user == policy.TIMER and rejected.decision == "reject"
    assert rejected.value == "Timed out: no decision was made within 1 h 2 min, so this was not approved."
    approved = policy.timeout_decision(tool, 0, "approve", 10)
    assert approved is not None and approved.decision == "approve"
    text = TextPrompt("text_to_revise", "draft")
    assert policy.timeout_decision(text, 0, "approve", 10) is not None
    assert policy.timeout_decision(text, 0, "reject", 10) is None  # a text has no reject: it expires


def test_start_up_refuses_reject_for_a_text_revision_it_can_tell() -> None:
    with pytest.raises(RegistryError, match=r'sluice.review.on_timeout": "reject" means nothing'):
        Registry.from_graphs({"review": text_graph}, {"review": {"deadline_seconds": 5, "on_timeout": "reject"}})
    Registry.from_graphs({"review": text_graph}, {"review": {"deadline_seconds": 5, "on_timeout": "expire"}})
    Registry.from_graphs({"tool": tool_graph}, {"tool": {"deadline_seconds": 5, "on_timeout": "reject"}})


# --- the timers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_a_timer_is_claimed_once_when_due_and_again_only_after_its_lease(kind: str, redis_client: Any) -> None:
    await redis_client.flushdb()
    timers = MemoryTimers() if kind == "memory" else RedisTimers(redis_client)
    other = timers if kind == "memory" else RedisTimers(redis_client)  # a second process on the same Redis
    timer = Timer("deadline", "t1", "c1")
    await timers.schedule(timer, 1000.0)
    assert await timers.claim(999.9) == []
    first, second = await asyncio.gather(timers.claim(1000.0), other.claim(1000.0))
    assert [first, second].count([timer]) == 1 and [first, second].count([]) == 1
    assert await timers.claim(1010.0) == []  # leased to its claimer
    assert await timers.claim(1031.0) == [timer]  # that claimer died: it falls due again
    await timers.cancel("t1", "c1")
    assert await timers.claim(5000.0) == []


# --- reminders and the deadline -------------------------------------------------------------------


async def test_reminders_then_the_deadline_rejects_as_a_timeout(gov: Env) -> None:
    with freeze_time(START, real_asyncio=True) as clock:
        thread = await gov.start("timed", {"text": "web"})
        message = gov.pause_message(thread)
        assert "Decide by" in json.dumps(message.blocks)
        assert await gov.bot.deadlines.tick() == 0
        clock.tick(1.2)
        assert await gov.bot.deadlines.tick() == 1
        clock.tick(1.2)
        assert await gov.bot.deadlines.tick() == 1
        reminders = [m for m in gov.slack.thread(CHANNEL, message.ts) if m.ts != message.ts]
        assert len(reminders) == 2
        assert f"<@{APPROVER}>" in reminders[0].text and "<!subteam^S0REVIEW>" in reminders[0].text
        clock.tick(0.5)  # 2.9 s: no third reminder (it would fall after the deadline), no timeout yet
        assert await gov.bot.deadlines.tick() == 0
        clock.tick(0.1)
        assert await gov.bot.deadlines.tick() == 1
        await gov.settle()
        state = await gov.state(thread, "timed")
        reason = "Timed out: no decision was made within 3 s, so this was not approved."
        assert state.values["answer"] == {"decisions": [{"type": "reject", "message": reason}]}
        after = gov.slack.message(CHANNEL, message.ts)
        assert action_ids(after) == [] and "Timed out" in json.dumps(after.blocks)
        assert "by <@" not in json.dumps(after.blocks)  # never reads as a person's choice
        headline = after.blocks[0]["text"]["text"]
        assert "timed out; the run finished" in headline and "decided" not in headline + after.text, headline
        audit = await gov.bot.deps.audit.entries(thread)
        assert [(e.decision, e.actor) for e in audit] == [("reject", "timer")]
        clock.tick(60)
        assert await gov.bot.deadlines.tick() == 0  # nothing left to fire


async def test_a_decision_before_a_claimed_deadline_wins_without_a_second_resume(gov: Env) -> None:
    with freeze_time(START, real_asyncio=True) as clock:
        thread = await gov.start("slow", {"text": "db"})
        message = gov.pause_message(thread)
        pause = await _pause_of(gov, thread)
        clock.tick(5.9)
        await gov.slack.click(APPROVER, CHANNEL, message.ts, button(message, "Approve"))
        await gov.settle()
        # As if another process had claimed the deadline just before the click cancelled it.
        await gov.bot.deps.timers.schedule(Timer("deadline", thread, pause.checkpoint_id), pause.deadline_at)
        clock.tick(0.2)
        assert await gov.bot.deadlines.tick() == 1
        await gov.settle()
        assert [value for _, value in await gov.resumes()] == [{"decisions": [{"type": "approve"}]}]
        audit = await gov.bot.deps.audit.entries(thread)
        assert [(e.decision, e.actor) for e in audit] == [("approve", APPROVER)]


async def test_expire_leaves_the_graph_paused_and_says_so(gov: Env) -> None:
    with freeze_time(START, real_asyncio=True) as clock:
        thread = await gov.start("expiring", {"text": "draft"})
        message = gov.pause_message(thread)
        approve, value = button(message, "Approve"), button_value(message, "Approve")
        clock.tick(1.5)
        assert await gov.bot.deadlines.tick() == 1
        await gov.settle()
        assert (await gov.state(thread, "expiring")).next == ("review",)
        after = gov.slack.message(CHANNEL, message.ts)
        assert action_ids(after) == [] and "Expired" in json.dumps(after.blocks)
        assert "waiting" not in after.text and "expired" in after.text, after.text
        assert await gov.resumes() == []
        await gov.slack.click(APPROVER, CHANNEL, message.ts, approve, value=value)  # a stale copy of the message
        await gov.settle()
        assert "expired" in gov.slack.ephemerals(APPROVER)[-1].text and await gov.resumes() == []


async def test_approve_on_timeout_resumes_a_text_as_proposed(gov: Env) -> None:
    with freeze_time(START, real_asyncio=True) as clock:
        thread = await gov.start("auto_ok", {"text": "as written"})
        clock.tick(2)
        assert await gov.bot.deadlines.tick() == 1
        await gov.settle()
        assert (await gov.state(thread, "auto_ok")).values["answer"] == "as written"


def test_an_agent_inbox_timeout_says_it_timed_out() -> None:
    from bot.slack.prompts import resume_value

    inbox = ToolPrompt("inbox", (ToolAction("send", {"to": "x"}, "", ("approve", "reject")),))
    made = policy.timeout_decision(inbox, 0, "reject", 30)
    assert made is not None
    assert resume_value(inbox, [made]) == [{"type": "ignore", "args": policy.timeout_message(30)}]
